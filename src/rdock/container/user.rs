//! docker's `--user`: name, uid, name:group or uid:gid, looked up in the
//! image's own /etc/passwd and /etc/group.
use anyhow::{bail, Result};
use std::path::Path;

#[derive(Debug, PartialEq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

fn read_table(rootfs: &Path, file: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(rootfs.join("etc").join(file))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(':').map(String::from).collect())
        .collect()
}

/// Resolves `spec` ("" = root) against the files in `rootfs`, with
/// `--group-add` (names or numbers). The groups are docker's: the primary
/// gid first, then (when no group was named) every group of the user's
/// name in /etc/group, then the added ones.
pub fn resolve(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<User> {
    let passwd = read_table(rootfs, "passwd");
    let group = read_table(rootfs, "group");
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entry = passwd
        .iter()
        .find(|p| p.len() >= 4 && (p[0] == u || (u.parse::<u32>().is_ok() && p[2] == u)));
    let (uid, name, mut gid) = match (u.parse::<u32>(), entry) {
        (Ok(n), e) => (
            n,
            e.map(|e| e[0].clone()),
            e.and_then(|e| e[3].parse().ok()).unwrap_or(0),
        ),
        (Err(_), Some(e)) => (e[2].parse()?, Some(e[0].clone()), e[3].parse().unwrap_or(0)),
        (Err(_), None) => bail!("unable to find user {u}: no matching entries in passwd file"),
    };
    let group_id = |g: &str| -> Result<u32> {
        match g.parse::<u32>() {
            Ok(n) => Ok(n),
            Err(_) => match group.iter().find(|e| e.len() >= 3 && e[0] == g) {
                Some(e) => Ok(e[2].parse()?),
                None => bail!("Unable to find group {g}: no matching entries in group file"),
            },
        }
    };
    if let Some(g) = g {
        gid = group_id(g)?;
    }
    let mut additional_gids = vec![gid];
    let mut add = |n: u32| {
        if !additional_gids.contains(&n) {
            additional_gids.push(n);
        }
    };
    if let (Some(name), None) = (&name, g) {
        for e in &group {
            if e.len() >= 4 && e[3].split(',').any(|m| m == name) {
                if let Ok(n) = e[2].parse::<u32>() {
                    add(n);
                }
            }
        }
    }
    for g in group_add {
        add(group_id(g)?);
    }
    Ok(User {
        uid,
        gid,
        additional_gids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/var/www:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwww:x:34:\nstaff:x:50:www\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn names_and_numbers_resolve_through_passwd_and_group() {
        let r = rootfs();
        let p = r.path();
        assert_eq!(resolve(p, "", &[]).unwrap().uid, 0);
        let www = resolve(p, "www", &[]).unwrap();
        assert_eq!(
            (www.uid, www.gid, www.additional_gids),
            (33, 34, vec![34, 50])
        );
        let n = resolve(p, "33", &[]).unwrap();
        assert_eq!((n.uid, n.gid, n.additional_gids), (33, 34, vec![34, 50]));
        let ug = resolve(p, "1000:staff", &[]).unwrap();
        assert_eq!((ug.uid, ug.gid, ug.additional_gids), (1000, 50, vec![50]));
        assert_eq!(resolve(p, "5:6", &[]).unwrap().gid, 6);
        assert!(resolve(p, "nobody", &[]).is_err());
        let added = resolve(p, "www:www", &["staff".into(), "7".into()]).unwrap();
        assert_eq!(added.additional_gids, vec![34, 50, 7]);
        let e = resolve(p, "", &["nosuch".into()]).unwrap_err().to_string();
        assert_eq!(
            e,
            "Unable to find group nosuch: no matching entries in group file"
        );
    }
}
