//! Credentials in docker's `config.json` (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`): `{"auths": {"<registry>": {"auth": base64("user:pass")}}}`.
//! Docker Hub's key is `https://index.docker.io/v1/`; other fields of the
//! file are kept as they are.
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde_json::{Map, Value};
use std::path::PathBuf;

pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// Where docker keeps its client config.
pub fn config_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return PathBuf::from(dir).join("config.json");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker/config.json")
}

/// The key a registry host is stored under.
pub fn auth_key(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_AUTH_KEY.to_string(),
        other => other.to_string(),
    }
}

fn strip_scheme(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn read_config() -> Result<Map<String, Value>> {
    let p = config_path();
    match std::fs::read(&p) {
        Ok(data) if data.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(data) => match serde_json::from_slice(&data)
            .with_context(|| format!("parsing {}", p.display()))?
        {
            Value::Object(m) => Ok(m),
            _ => bail!("{}: not a JSON object", p.display()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

fn write_config(cfg: &Map<String, Value>) -> Result<()> {
    let p = config_path();
    let dir = p.parent().context("config path has no parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = serde_json::to_vec_pretty(cfg)?;
    sysutil::fs::write_atomic(&p, &data, sysutil::fs::Atomic::mode(0o600))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", p.display()))
}

/// The stored `(user, password)` for `registry`, if any.
pub fn lookup(registry: &str) -> Result<Option<(String, String)>> {
    let cfg = read_config()?;
    let Some(Value::Object(auths)) = cfg.get("auths") else {
        return Ok(None);
    };
    let want = auth_key(registry);
    let want_host = strip_scheme(&want);
    for (key, entry) in auths {
        let matches = key == &want || strip_scheme(key) == want_host;
        if !matches {
            continue;
        }
        if let Some(Value::String(enc)) = entry.get("auth") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(enc.trim())
                .with_context(|| {
                    format!(
                        "decoding credentials for {key} in {}",
                        config_path().display()
                    )
                })?;
            let s = String::from_utf8(raw).context("credentials are not UTF-8")?;
            if let Some((u, p)) = s.split_once(':') {
                return Ok(Some((u.to_string(), p.to_string())));
            }
        }
    }
    Ok(None)
}

/// Stores credentials for `registry`.
pub fn store(registry: &str, user: &str, password: &str) -> Result<()> {
    let mut cfg = read_config()?;
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        bail!("\"auths\" in {} is not an object", config_path().display())
    };
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    auths.insert(auth_key(registry), serde_json::json!({ "auth": enc }));
    write_config(&cfg)
}

/// Removes credentials for `registry`; returns whether there were any.
pub fn remove(registry: &str) -> Result<bool> {
    let mut cfg = read_config()?;
    let Some(Value::Object(auths)) = cfg.get_mut("auths") else {
        return Ok(false);
    };
    let want = auth_key(registry);
    let host = strip_scheme(&want).to_string();
    let before = auths.len();
    auths.retain(|k, _| k != &want && strip_scheme(k) != host);
    let removed = auths.len() != before;
    if removed {
        write_config(&cfg)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_is_stored_under_the_v1_index_url() {
        assert_eq!(auth_key("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(auth_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(
            strip_scheme("https://index.docker.io/v1/"),
            "index.docker.io"
        );
    }
}
