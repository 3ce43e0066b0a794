//! Names that become paths under the root: container names and volume
//! names, checked against docker's grammar (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`)
//! with docker's messages, so `..`, `/` and spaces never reach a path.
use anyhow::{bail, Result};

/// The characters docker allows, as its messages quote them.
pub const NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// docker's restricted name pattern: two characters or more, the first
/// alphanumeric, the rest alphanumeric or `_.-`.
pub fn is_valid(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `--name`: one leading `/` is allowed (docker's full names start with it).
pub fn check_container_name(name: &str) -> Result<()> {
    if !is_valid(name.strip_prefix('/').unwrap_or(name)) {
        bail!("Invalid container name ({name}), only {NAME_CHARS} are allowed");
    }
    Ok(())
}

/// A local volume's name, as docker's local driver checks it on create
/// (`-v NAME:/dst` with a relative host path lands here too).
pub fn check_volume_name(name: &str) -> Result<()> {
    if name.len() == 1 {
        bail!(
            "create {name}: volume name is too short, names should be at least two alphanumeric characters"
        );
    }
    if !is_valid(name) {
        bail!(
            "create {name}: {name:?} includes invalid characters for a local volume name, only \
             {NAME_CHARS:?} are allowed. If you intended to pass a host directory, use absolute path"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_grammar_for_names() {
        for good in ["ab", "web-1", "a.b_c", "0x", "/web"] {
            assert!(check_container_name(good).is_ok(), "{good}");
        }
        for bad in [
            "x y", "a/b", "..", "../x", "-ab", "_ab", ".ab", "a", "", "é1", "a:b",
        ] {
            let e = check_container_name(bad).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "Invalid container name ({bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )
            );
        }
    }

    #[test]
    fn volume_names_refuse_paths_with_dockers_message() {
        assert!(check_volume_name("data_1").is_ok());
        assert_eq!(
            check_volume_name("../../x").unwrap_err().to_string(),
            "create ../../x: \"../../x\" includes invalid characters for a local volume name, \
             only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
             directory, use absolute path"
        );
        assert!(check_volume_name("rel/dir").is_err());
        assert!(check_volume_name("/web").is_err());
        assert!(check_volume_name("x")
            .unwrap_err()
            .to_string()
            .contains("volume name is too short"));
    }
}
