//! Credentials in docker's `config.json` (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`): `{"auths": {"<registry>": {"auth": base64("user:pass")}}}`.
//! Docker Hub's key is `https://index.docker.io/v1/`; other fields of the
//! file are kept as they are.
//!
//! Credential helpers as docker uses them: `credHelpers` (`{"<registry>":
//! "NAME"}`) picks a helper per registry, else `credsStore` one for all;
//! `docker-credential-NAME get|store|erase` (found in PATH) is then asked
//! instead of the file (JSON on stdin and stdout), and the file keeps only
//! an empty `auths` entry for the registry, as docker writes it.
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

/// The helper for registry key `key`: `credHelpers` first, then `credsStore`.
fn helper_for(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    let host = strip_scheme(key);
    if let Some(Value::Object(h)) = cfg.get("credHelpers") {
        for (k, v) in h {
            if k == key || strip_scheme(k) == host {
                if let Some(name) = v.as_str().filter(|n| !n.is_empty()) {
                    return Some(name.to_string());
                }
            }
        }
    }
    cfg.get("credsStore")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(String::from)
}

/// Runs `docker-credential-NAME VERB` with `input` on stdin; returns its
/// stdout, or its message (stdout, as helpers print it, or stderr) on failure.
fn run_helper(
    name: &str,
    verb: &str,
    input: &[u8],
) -> Result<std::result::Result<Vec<u8>, String>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let prog = format!("docker-credential-{name}");
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let exe = sysutil::path::candidates(&prog, &path)
        .find(|p| p.is_file())
        .with_context(|| format!("credential helper {prog} not found in PATH"))?;
    let mut child = Command::new(&exe)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", exe.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is answered by its status.
        let _ = stdin.write_all(input);
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("running {} {verb}", exe.display()))?;
    if out.status.success() {
        return Ok(Ok(out.stdout));
    }
    let mut msg = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if msg.is_empty() {
        msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    }
    Ok(Err(msg))
}

/// `get` through a helper: None when it has nothing for `key`.
fn helper_get(name: &str, key: &str) -> Result<Option<(String, String)>> {
    match run_helper(name, "get", key.as_bytes())? {
        Ok(out) => {
            let v: Value = serde_json::from_slice(&out)
                .with_context(|| format!("parsing the answer of docker-credential-{name} get"))?;
            let user = v["Username"].as_str().unwrap_or_default().to_string();
            let secret = v["Secret"].as_str().unwrap_or_default().to_string();
            if user == "<token>" {
                log::warn!("docker-credential-{name} holds an identity token for {key}: not supported, going anonymous");
                return Ok(None);
            }
            Ok((!user.is_empty() || !secret.is_empty()).then_some((user, secret)))
        }
        Err(msg) if msg.contains("credentials not found") => Ok(None),
        Err(msg) => bail!("error getting credentials - err: docker-credential-{name} get: {msg}"),
    }
}

/// The stored `(user, password)` for `registry`, if any.
pub fn lookup(registry: &str) -> Result<Option<(String, String)>> {
    let cfg = read_config()?;
    if let Some(helper) = helper_for(&cfg, &auth_key(registry)) {
        return helper_get(&helper, &auth_key(registry));
    }
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

/// Stores credentials for `registry` (through its helper if it has one).
pub fn store(registry: &str, user: &str, password: &str) -> Result<()> {
    let mut cfg = read_config()?;
    let key = auth_key(registry);
    let entry = match helper_for(&cfg, &key) {
        Some(helper) => {
            let input = serde_json::json!({"ServerURL": key, "Username": user, "Secret": password});
            if let Err(msg) = run_helper(&helper, "store", &serde_json::to_vec(&input)?)? {
                bail!("error storing credentials - err: docker-credential-{helper} store: {msg}");
            }
            serde_json::json!({})
        }
        None => {
            let enc =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            serde_json::json!({ "auth": enc })
        }
    };
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        bail!("\"auths\" in {} is not an object", config_path().display())
    };
    auths.insert(key, entry);
    write_config(&cfg)
}

/// Removes credentials for `registry` (from its helper too); returns
/// whether the file listed it (docker's "Not logged in" otherwise).
pub fn remove(registry: &str) -> Result<bool> {
    let mut cfg = read_config()?;
    let want = auth_key(registry);
    let helper = helper_for(&cfg, &want);
    let Some(Value::Object(auths)) = cfg.get_mut("auths") else {
        return Ok(false);
    };
    let host = strip_scheme(&want).to_string();
    let before = auths.len();
    auths.retain(|k, _| k != &want && strip_scheme(k) != host);
    let removed = auths.len() != before;
    if removed {
        if let Some(helper) = helper {
            match run_helper(&helper, "erase", want.as_bytes())? {
                Ok(_) => {}
                Err(msg) if msg.contains("credentials not found") => {}
                Err(msg) => {
                    bail!(
                        "error erasing credentials - err: docker-credential-{helper} erase: {msg}"
                    )
                }
            }
        }
        write_config(&cfg)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cred_helpers_override_the_store_per_registry() {
        let cfg: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "credsStore": "desktop",
            "credHelpers": {"127.0.0.1:5000": "pass", "https://gcr.io": "gcloud"}
        }))
        .unwrap();
        assert_eq!(helper_for(&cfg, "127.0.0.1:5000").as_deref(), Some("pass"));
        assert_eq!(helper_for(&cfg, "gcr.io").as_deref(), Some("gcloud"));
        assert_eq!(
            helper_for(&cfg, DOCKER_HUB_AUTH_KEY).as_deref(),
            Some("desktop")
        );
        assert_eq!(helper_for(&Map::new(), "x"), None);
    }

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
