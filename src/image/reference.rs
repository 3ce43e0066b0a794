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
    s.parse::<Reference>()
        .map_err(|e| format!("invalid reference format {s:?}: {e}"))
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
