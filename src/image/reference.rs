//! Image references as docker reads them: `busybox` is
//! `docker.io/library/busybox:latest`; tags, `@sha256:` digests, registries
//! with ports and `localhost/...` names.
use oci_client::Reference;

pub const DOCKER_HUB: &str = "docker.io";

/// Parses a reference the docker way (names normalised, `latest` by default).
pub fn parse(s: &str) -> Result<Reference, String> {
    if s.chars().any(|c| c.is_ascii_uppercase()) && !s.contains(':') && !s.contains('@') {
        return Err(format!(
            "invalid reference format: repository name ({s}) must be lowercase"
        ));
    }
    if let Some(r) = parse_hub_name(s) {
        return Ok(r);
    }
    s.parse::<Reference>()
        .map_err(|e| format!("invalid reference format {s:?}: {e}"))
}

/// Plain Docker Hub names (`busybox`, `user/app:1.2`) without the reference
/// regex, whose first use costs ~60 ms: every `rdock run` resolves a name.
/// Anything else (registries, digests, odd spellings) returns None.
fn parse_hub_name(s: &str) -> Option<Reference> {
    let slash = s.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match s[slash..].find(':') {
        Some(i) => (&s[..slash + i], &s[slash + i + 1..]),
        None => (s, "latest"),
    };
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !tag.starts_with(['.', '-']);
    let parts: Vec<&str> = name.split('/').collect();
    if !tag_ok || name.len() > 200 || parts.len() > 2 || !parts.iter().all(|p| hub_component(p)) {
        return None;
    }
    if parts.len() == 2 && (parts[0].contains('.') || parts[0] == "localhost") {
        return None;
    }
    let repo = if parts.len() == 1 {
        format!("library/{name}")
    } else {
        name.to_string()
    };
    Some(Reference::with_tag(
        DOCKER_HUB.to_string(),
        repo,
        tag.to_string(),
    ))
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`, as the grammar says.
fn hub_component(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut sep = String::new();
    for &c in b {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if !(sep.is_empty()
                || sep == "."
                || sep == "_"
                || sep == "__"
                || sep.bytes().all(|x| x == b'-'))
            {
                return false;
            }
            sep.clear();
        } else if b"._-".contains(&c) {
            sep.push(c as char);
        } else {
            return false;
        }
    }
    true
}

/// The fully qualified repository, `docker.io/library/busybox`.
pub fn full_repository(r: &Reference) -> String {
    format!("{}/{}", r.registry(), r.repository())
}

/// The fully qualified `repository:tag`, if the reference has a tag.
pub fn full_tagged(r: &Reference) -> Option<String> {
    r.tag().map(|t| format!("{}:{t}", full_repository(r)))
}

/// The short repository docker shows: `busybox` for `docker.io/library/busybox`,
/// `user/app` for `docker.io/user/app`, everything else as is.
pub fn familiar_repository(full_repo: &str) -> String {
    match full_repo.strip_prefix("docker.io/") {
        Some(rest) => rest.strip_prefix("library/").unwrap_or(rest).to_string(),
        None => full_repo.to_string(),
    }
}

/// Splits `docker.io/library/busybox:latest` into repository and tag.
pub fn split_tagged(full: &str) -> (&str, &str) {
    // The tag follows the last ':' after the last '/', so a registry port is not a tag.
    let slash = full.rfind('/').unwrap_or(0);
    match full[slash..].rfind(':') {
        Some(i) => (&full[..slash + i], &full[slash + i + 1..]),
        None => (full, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_names_parse_as_the_regex_does() {
        for n in [
            "busybox",
            "busybox:1.36",
            "user/app",
            "user/app:v1.2-rc_3",
            "a__b",
            "a--b.c",
            "test.com:tag",
            "library/busybox",
            "my_user/my-app:latest",
        ] {
            let fast = parse_hub_name(n).unwrap_or_else(|| panic!("{n} not fast"));
            assert_eq!(fast, n.parse::<Reference>().unwrap(), "{n}");
        }
        for n in [
            "Busybox",
            "a..b",
            "-a",
            "a/b/c",
            "localhost/a",
            "reg.io/a",
            "a@sha256:00",
            "a:-x",
            "a_",
        ] {
            assert!(parse_hub_name(n).is_none(), "{n}");
        }
    }

    #[test]
    fn short_names_mean_docker_hub_library_latest() {
        let r = parse("busybox").unwrap();
        assert_eq!(full_tagged(&r).unwrap(), "docker.io/library/busybox:latest");
        assert_eq!(familiar_repository(&full_repository(&r)), "busybox");
    }

    #[test]
    fn registry_with_port_is_not_a_tag() {
        let r = parse("localhost:5000/x").unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(full_tagged(&r).unwrap(), "localhost:5000/x:latest");
        assert_eq!(split_tagged("localhost:5000/x"), ("localhost:5000/x", ""));
        assert_eq!(
            split_tagged("localhost:5000/x:1"),
            ("localhost:5000/x", "1")
        );
    }

    #[test]
    fn digest_references_keep_their_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("127.0.0.1:5000/app@{d}")).unwrap();
        assert_eq!(r.digest(), Some(d.as_str()));
    }
}
