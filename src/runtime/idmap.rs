//! uid/gid mappings (`linux.uidMappings`, a mount's `uidMappings`): checked
//! before anything exists, then written by runr (root in the parent user
//! namespace) to /proc/<pid>/{uid,gid}_map in one write each, as the kernel
//! wants.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxIdMapping, Spec};

/// The kernel's limit on lines in one uid_map or gid_map (since Linux 4.15).
pub const MAX_RANGES: usize = 340;

/// A map file is taken in one write of less than a page.
const MAX_MAP_BYTES: usize = 4095;

/// `what` names the list in errors, e.g. "linux.uidMappings".
pub fn validate(what: &str, maps: &[LinuxIdMapping]) -> Result<()> {
    if maps.len() > MAX_RANGES {
        bail!(
            "{what}: {} ranges, the kernel allows at most {MAX_RANGES}",
            maps.len()
        );
    }
    let mut ranges = Vec::with_capacity(maps.len());
    for (i, m) in maps.iter().enumerate() {
        let (c, h, n) = (m.container_id() as u64, m.host_id() as u64, m.size() as u64);
        if n == 0 {
            bail!("{what}[{i}]: size is 0 (containerID {c}, hostID {h})");
        }
        // ids are 32-bit and 4294967295 is never a valid id.
        if c + n > u32::MAX as u64 || h + n > u32::MAX as u64 {
            bail!("{what}[{i}]: range of {n} from containerID {c} / hostID {h} passes the 32-bit id limit");
        }
        ranges.push((i, c, h, n));
    }
    for (a, x) in ranges.iter().enumerate() {
        for y in &ranges[a + 1..] {
            if overlap(x.1, x.3, y.1, y.3) {
                bail!(
                    "{what}[{}] and {what}[{}] overlap: containerIDs {}-{} and {}-{}",
                    x.0,
                    y.0,
                    x.1,
                    x.1 + x.3 - 1,
                    y.1,
                    y.1 + y.3 - 1
                );
            }
            if overlap(x.2, x.3, y.2, y.3) {
                bail!(
                    "{what}[{}] and {what}[{}] overlap: hostIDs {}-{} and {}-{}",
                    x.0,
                    y.0,
                    x.2,
                    x.2 + x.3 - 1,
                    y.2,
                    y.2 + y.3 - 1
                );
            }
        }
    }
    if format(maps).len() > MAX_MAP_BYTES {
        bail!("{what}: the map text is longer than the kernel takes in one write ({MAX_MAP_BYTES} bytes)");
    }
    Ok(())
}

fn overlap(a: u64, an: u64, b: u64, bn: u64) -> bool {
    a < b + bn && b < a + an
}

/// The text of a uid_map/gid_map: "containerID hostID size" per line.
pub fn format(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

pub fn uid_mappings(spec: &Spec) -> &[LinuxIdMapping] {
    spec.linux()
        .as_ref()
        .and_then(|l| l.uid_mappings().as_deref())
        .unwrap_or_default()
}

pub fn gid_mappings(spec: &Spec) -> &[LinuxIdMapping] {
    spec.linux()
        .as_ref()
        .and_then(|l| l.gid_mappings().as_deref())
        .unwrap_or_default()
}

/// Every mapping list of the config: the container's and each mount's.
pub fn validate_spec(spec: &Spec) -> Result<()> {
    validate("linux.uidMappings", uid_mappings(spec))?;
    validate("linux.gidMappings", gid_mappings(spec))?;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let uid = m.uid_mappings().as_deref().unwrap_or_default();
        let gid = m.gid_mappings().as_deref().unwrap_or_default();
        validate(&format!("mounts[{i}].uidMappings"), uid)?;
        validate(&format!("mounts[{i}].gidMappings"), gid)?;
        if uid.is_empty() != gid.is_empty() {
            bail!(
                "mounts[{i}] ({}): uidMappings and gidMappings must be given together",
                m.destination().display()
            );
        }
    }
    Ok(())
}

/// Writes the maps of process `pid`'s (new) user namespace, gid first.
pub fn write(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<()> {
    for (name, maps) in [("gid_map", gid), ("uid_map", uid)] {
        if maps.is_empty() {
            continue;
        }
        let text = format(maps);
        let path = format!("/proc/{pid}/{name}");
        // One write(2): the kernel refuses a map that comes in pieces.
        let n = nix::unistd::write(
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .with_context(|| format!("opening {path}"))?,
            text.as_bytes(),
        )
        .with_context(|| format!("writing {name} {text:?}"))?;
        if n != text.len() {
            bail!("writing {name}: short write ({n} of {} bytes)", text.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxIdMappingBuilder;

    fn m(c: u32, h: u32, n: u32) -> LinuxIdMapping {
        LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()
    }

    #[test]
    fn several_disjoint_ranges_pass_and_format_one_line_each() {
        let maps = [m(0, 100000, 1000), m(1000, 1000, 1), m(1001, 101001, 64535)];
        validate("u", &maps).unwrap();
        assert_eq!(
            format(&maps),
            "0 100000 1000\n1000 1000 1\n1001 101001 64535\n"
        );
    }

    #[test]
    fn overlapping_container_or_host_ranges_are_named() {
        let e = validate("u", &[m(0, 100000, 10), m(5, 200000, 10)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("u[0] and u[1] overlap: containerIDs"),
            "{e}"
        );
        let e = validate("u", &[m(0, 100000, 10), m(50, 100009, 1)]).unwrap_err();
        assert!(e.to_string().contains("overlap: hostIDs"), "{e}");
        // Adjacent is not overlapping.
        validate("u", &[m(0, 100, 10), m(10, 110, 10)]).unwrap();
    }

    #[test]
    fn zero_size_too_many_and_past_32_bits_are_refused() {
        let e = validate("u", &[m(0, 0, 0)]).unwrap_err();
        assert!(e.to_string().contains("size is 0"), "{e}");
        let many: Vec<_> = (0..341).map(|i| m(i, i, 1)).collect();
        let e = validate("u", &many).unwrap_err();
        assert!(e.to_string().contains("at most 340"), "{e}");
        let e = validate("u", &[m(u32::MAX - 1, 0, 2)]).unwrap_err();
        assert!(e.to_string().contains("32-bit"), "{e}");
    }
}
