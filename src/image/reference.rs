//! Image references as docker reads them: `busybox` is
//! `docker.io/library/busybox:latest`; tags, `@sha256:` digests, registries
//! with ports and `localhost/...` names.
use oci_client::Reference;

pub const DOCKER_HUB: &str = "docker.io";

/// Parses a reference the docker way (names normalised, `latest` by default).
/// The grammar of distribution's reference package, checked by hand: the
/// regex of oci-spec's parser costs ~50 ms to compile, on every `run`.
pub fn parse(s: &str) -> Result<Reference, String> {
    let bad = |why: &str| format!("invalid reference format {s:?}: {why}");
    if s.is_empty() {
        return Err(bad("empty reference"));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    // A tag follows the last ':' after the last '/' (a registry port is not a tag).
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if !valid_tag(t) {
            return Err(bad("invalid tag"));
        }
    }
    if let Some(d) = digest {
        check_digest(d).map_err(|e| bad(&e))?;
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, path))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, path)
        }
        _ => (DOCKER_HUB, name),
    };
    if !valid_domain(domain) {
        return Err(bad("invalid registry"));
    }
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "invalid reference format: repository name ({path}) must be lowercase"
        ));
    }
    if !path.split('/').all(valid_path_component) {
        return Err(bad("invalid repository name"));
    }
    let domain = match domain {
        "index.docker.io" => DOCKER_HUB,
        d => d,
    };
    let repository = if domain == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    if domain.len() + 1 + repository.len() > 255 {
        return Err(bad("repository name must not be more than 255 characters"));
    }
    let (domain, tag, digest) = (domain.to_string(), tag.map(str::to_string), digest);
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => Reference::with_tag_and_digest(domain, repository, t, d.into()),
        (None, Some(d)) => Reference::with_digest(domain, repository, d.into()),
        (t, None) => Reference::with_tag(domain, repository, t.unwrap_or_else(|| "latest".into())),
    })
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    t.len() <= 128
        && t.chars().next().is_some_and(word)
        && t.chars().all(|c| word(c) || c == '.' || c == '-')
}

/// `algorithm:hex`; the known algorithms must have their exact length.
fn check_digest(d: &str) -> Result<(), String> {
    let (alg, hex) = d.split_once(':').ok_or("invalid digest")?;
    let alg_ok = alg.split(['+', '.', '-', '_']).all(|c| {
        c.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && c.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !alg_ok || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("invalid digest".into());
    }
    let want = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(format!("unsupported digest algorithm {alg}")),
    };
    if hex.len() != want {
        return Err("invalid digest length".into());
    }
    Ok(())
}

/// `host[:port]`: dot-separated components of `[A-Za-z0-9-]` not starting or
/// ending with '-', or a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(v6) = d.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, rest)) if addr.parse::<std::net::Ipv6Addr>().is_ok() => {
                match rest.strip_prefix(':') {
                    Some(p) => ("ok", Some(p)),
                    None if rest.is_empty() => ("ok", None),
                    None => return false,
                }
            }
            _ => return false,
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    let component = |c: &str| {
        !c.is_empty()
            && !c.starts_with('-')
            && !c.ends_with('-')
            && c.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    host.split('.').all(component)
        && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok || i == start {
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
    fn grammar_matches_docker() {
        for good in [
            "busybox",
            "library/busybox:1.36",
            "index.docker.io/busybox",
            "my-registry.example.com:5000/a/b_c/d__e/f-g---h:v1.0-rc_1",
            "[::1]:5000/x",
            "localhost/x",
            "a.b/c.d",
        ] {
            assert!(parse(good).is_ok(), "{good} should parse");
        }
        for bad in [
            "",
            ":tag",
            "UPPER",
            "busybox:",
            "busybox:-x",
            "a//b",
            "a/-b",
            "a/b_",
            "a/b...c",
            "a/b___c",
            "-host.com/x",
            "host.com:port/x",
            "busybox@sha256:abc",
            "busybox@md5:0123456789abcdef0123456789abcdef",
            "x y",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
        assert_eq!(
            parse("index.docker.io/busybox").unwrap().repository(),
            "library/busybox"
        );
        assert_eq!(parse("user/app").unwrap().repository(), "user/app");
        let d = format!("sha256:{}", "b".repeat(64));
        let r = parse(&format!("busybox:1@{d}")).unwrap();
        assert_eq!((r.tag(), r.digest()), (Some("1"), Some(d.as_str())));
    }

    #[test]
    fn digest_references_keep_their_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("127.0.0.1:5000/app@{d}")).unwrap();
        assert_eq!(r.digest(), Some(d.as_str()));
    }
}
