//! Registry endpoints and clients: HTTPS by default, plain HTTP for insecure
//! registries and loopback, mirrors for Docker Hub names, extra CA certs from
//! `certs.d`, and credentials from docker's config file.
use crate::{auth, limits, reference};
use anyhow::{Context, Result};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings that come from flags, the environment and the config file
/// (`/etc/rdock/daemon.json` or `$RDOCK_CONFIG`, with docker's
/// `registry-mirrors` and `insecure-registries` keys).
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Mirror URLs for docker.io (`http://127.0.0.1:5000`, `https://mirror.example`).
    pub mirrors: Vec<String>,
    /// `host[:port]` of registries spoken to over plain HTTP.
    pub insecure: Vec<String>,
    /// Directories with `<host>/ca.crt` files (docker's `certs.d`).
    pub certs_dirs: Vec<PathBuf>,
}

impl RegistryOptions {
    /// Merges flags with `RDOCK_REGISTRY_MIRROR`/`RDOCK_INSECURE_REGISTRY`
    /// (comma separated) and the config file.
    pub fn gather(mut mirrors: Vec<String>, mut insecure: Vec<String>) -> Result<RegistryOptions> {
        for (var, list) in [
            ("RDOCK_REGISTRY_MIRROR", &mut mirrors),
            ("RDOCK_INSECURE_REGISTRY", &mut insecure),
        ] {
            if let Ok(v) = std::env::var(var) {
                list.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from),
                );
            }
        }
        let cfg_path = std::env::var_os("RDOCK_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/rdock/daemon.json"));
        if let Ok(data) = std::fs::read(&cfg_path) {
            let v: serde_json::Value = serde_json::from_slice(&data)
                .with_context(|| format!("parsing {}", cfg_path.display()))?;
            for (key, list) in [
                ("registry-mirrors", &mut mirrors),
                ("insecure-registries", &mut insecure),
            ] {
                if let Some(arr) = v.get(key).and_then(|a| a.as_array()) {
                    list.extend(arr.iter().filter_map(|s| s.as_str()).map(String::from));
                }
            }
        }
        let mut certs_dirs = Vec::new();
        if let Some(d) = std::env::var_os("RDOCK_CERTS_D") {
            certs_dirs.push(PathBuf::from(d));
        }
        certs_dirs.push(PathBuf::from("/etc/rdock/certs.d"));
        certs_dirs.push(PathBuf::from("/etc/docker/certs.d"));
        Ok(RegistryOptions {
            mirrors,
            insecure,
            certs_dirs,
        })
    }

    fn listed_insecure(&self, host: &str) -> bool {
        self.insecure.iter().any(|h| strip_url(h) == host)
    }
}

/// Where a pull goes: the registry itself or a mirror standing in for it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `host[:port]`.
    pub host: String,
    pub mirror: bool,
    pub plain_http: bool,
    /// Check the server's certificate (off for registries listed as insecure).
    pub tls_verify: bool,
    /// An HTTPS attempt followed by a plain HTTP one for the same host: a
    /// transport failure moves on to the next endpoint.
    pub http_fallback_next: bool,
    /// The reference rewritten for this endpoint.
    pub reference: Reference,
}

/// Endpoints for one host: HTTPS; for insecure and loopback hosts, HTTPS
/// then plain HTTP, as docker does (listed insecure hosts skip the
/// certificate check).
fn host_endpoints(
    host: &str,
    mirror: bool,
    scheme: Option<&str>,
    reference: Reference,
    opts: &RegistryOptions,
) -> Vec<Endpoint> {
    let listed = opts.listed_insecure(host);
    let base = Endpoint {
        host: host.to_string(),
        mirror,
        plain_http: false,
        tls_verify: !listed,
        http_fallback_next: false,
        reference,
    };
    match scheme {
        Some("http") => vec![Endpoint {
            plain_http: true,
            ..base
        }],
        Some(_) => vec![base],
        None if listed || is_loopback(host) => {
            vec![
                Endpoint {
                    http_fallback_next: true,
                    ..base.clone()
                },
                Endpoint {
                    plain_http: true,
                    ..base
                },
            ]
        }
        None => vec![base],
    }
}

fn strip_url(u: &str) -> &str {
    let s = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap_or(u);
    s.trim_end_matches('/')
}

fn is_loopback(host: &str) -> bool {
    let h = host
        .rsplit_once(':')
        .map(|(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
        .unwrap_or(host);
    h == "localhost" || h.starts_with("127.") || h == "[::1]"
}

/// The endpoints to try for `r`, in order: mirrors first for docker.io names.
pub fn endpoints(r: &Reference, opts: &RegistryOptions) -> Vec<Endpoint> {
    let mut out = Vec::new();
    if r.registry() == reference::DOCKER_HUB {
        for m in &opts.mirrors {
            let host = strip_url(m);
            let scheme = m.split_once("://").map(|(s, _)| s);
            out.extend(host_endpoints(host, true, scheme, rehost(r, host), opts));
        }
    }
    out.extend(host_endpoints(
        r.resolve_registry(),
        false,
        None,
        r.clone(),
        opts,
    ));
    out
}

fn rehost(r: &Reference, host: &str) -> Reference {
    match (r.tag(), r.digest()) {
        (_, Some(d)) => {
            Reference::with_digest(host.to_string(), r.repository().to_string(), d.to_string())
        }
        (Some(t), None) => {
            Reference::with_tag(host.to_string(), r.repository().to_string(), t.to_string())
        }
        (None, None) => Reference::with_tag(
            host.to_string(),
            r.repository().to_string(),
            "latest".to_string(),
        ),
    }
}

fn load_certs(dirs: &[PathBuf]) -> Vec<Certificate> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for host in rd.flatten() {
            let Ok(files) = std::fs::read_dir(host.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                let is_ca = p.extension().is_some_and(|e| e == "crt") && !is_client_cert(&p);
                if is_ca {
                    if let Ok(data) = std::fs::read(&p) {
                        out.push(Certificate {
                            encoding: CertificateEncoding::Pem,
                            data,
                        });
                    }
                }
            }
        }
    }
    out
}

fn is_client_cert(p: &Path) -> bool {
    // docker's certs.d holds client.cert/client.key too; CAs end in .crt.
    p.file_name().is_some_and(|n| n == "client.cert")
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("rdock/", env!("CARGO_PKG_VERSION"));

/// A client for one endpoint.
pub fn client_for(ep: &Endpoint, opts: &RegistryOptions) -> Client {
    Client::new(client_config(ep, opts))
}

/// A client for pushes to one endpoint: each blob goes as one streamed PUT
/// (oci_client's chunked upload would need the whole blob in memory).
pub fn push_client_for(ep: &Endpoint, opts: &RegistryOptions) -> Client {
    Client::new(ClientConfig {
        use_monolithic_push: true,
        ..client_config(ep, opts)
    })
}

/// The endpoint's protocol, TLS settings, timeouts and user agent.
fn client_config(ep: &Endpoint, opts: &RegistryOptions) -> ClientConfig {
    init_tls();
    let protocol = if ep.plain_http {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    ClientConfig {
        protocol,
        accept_invalid_certificates: !ep.tls_verify,
        extra_root_certificates: load_certs(&opts.certs_dirs),
        platform_resolver: None,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        user_agent: USER_AGENT,
        ..Default::default()
    }
}

/// The plain HTTP client for what oci_client would read whole into memory
/// (manifests): the same TLS settings and timeouts as [`client_for`].
pub fn http_for(ep: &Endpoint, opts: &RegistryOptions) -> Result<reqwest::Client> {
    init_tls();
    let mut b = reqwest::Client::builder()
        .danger_accept_invalid_certs(!ep.tls_verify)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .user_agent(USER_AGENT);
    for c in load_certs(&opts.certs_dirs) {
        match reqwest::Certificate::from_pem(&c.data) {
            Ok(cert) => b = b.add_root_certificate(cert),
            Err(e) => log::warn!("skipping a CA certificate: {e}"),
        }
    }
    b.build().context("building the HTTP client")
}

/// Fetches a manifest or index like `Client::pull_manifest_raw`, but reads
/// at most [`limits::MAX_MANIFEST_BYTES`]: an endless or huge answer is
/// refused as it streams, not after it filled memory. Returns the bytes and
/// their digest (checked against `Docker-Content-Digest` when sent).
pub async fn fetch_manifest(
    client: &Client,
    http: &reqwest::Client,
    ep: &Endpoint,
    image: &Reference,
    auth: &RegistryAuth,
    accept: &[&str],
) -> oci_client::errors::Result<(Vec<u8>, String)> {
    use oci_client::errors::OciDistributionError as E;
    // Authenticates (and caches the token for the blob requests that follow).
    let token = client.auth(image, auth, RegistryOperation::Pull).await?;
    let scheme = if ep.plain_http { "http" } else { "https" };
    let url = format!(
        "{scheme}://{}/v2/{}/manifests/{}",
        image.resolve_registry(),
        image.repository(),
        image.digest().or(image.tag()).unwrap_or("latest")
    );
    let mut req = http.get(&url).header("Accept", accept.join(", "));
    req = match (&token, auth) {
        (Some(t), _) => req.bearer_auth(t),
        (None, RegistryAuth::Basic(u, p)) => req.basic_auth(u, Some(p)),
        (None, RegistryAuth::Bearer(t)) => req.bearer_auth(t),
        (None, _) => req,
    };
    let mut resp = req.send().await?;
    limits::touch();
    let status = resp.status();
    let header_digest = resp
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let cap = if status.is_success() {
        limits::MAX_MANIFEST_BYTES
    } else {
        limits::MAX_ERROR_BODY as u64
    };
    if resp.content_length().is_some_and(|n| n > cap) && status.is_success() {
        return Err(too_large(&url));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        limits::touch();
        if body.len() as u64 + chunk.len() as u64 > cap {
            if !status.is_success() {
                // An error's message: what fits is enough.
                body.extend_from_slice(&chunk[..(cap as usize).saturating_sub(body.len())]);
                break;
            }
            return Err(too_large(&url));
        }
        body.extend_from_slice(&chunk);
    }
    match status.as_u16() {
        200 => {}
        401 => return Err(E::UnauthorizedError { url }),
        code if (400..500).contains(&code) => {
            return Err(match serde_json::from_slice(&body) {
                Ok(envelope) => E::RegistryError { envelope, url },
                Err(_) => E::ServerError {
                    code,
                    url,
                    message: String::from_utf8_lossy(&body).into_owned(),
                },
            })
        }
        code => {
            return Err(E::ServerError {
                code,
                url,
                message: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }
    let digest = crate::digest::sha256_of(&body);
    if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:")) {
        if h != digest {
            return Err(E::SpecViolationError(format!(
                "the manifest at {url} has digest {digest}, not the {h} its Docker-Content-Digest header says"
            )));
        }
    }
    Ok((body, digest))
}

fn too_large(url: &str) -> oci_client::errors::OciDistributionError {
    oci_client::errors::OciDistributionError::SpecViolationError(format!(
        "the manifest at {url} is larger than {}, the most a registry may serve",
        limits::human(limits::MAX_MANIFEST_BYTES)
    ))
}

/// Credentials for an endpoint from docker's config file (anonymous if none).
pub fn auth_for(ep: &Endpoint) -> Result<RegistryAuth> {
    let key = if ep.mirror {
        ep.host.clone()
    } else {
        ep.reference.registry().to_string()
    };
    Ok(match auth::lookup(&key)? {
        Some((u, p)) => RegistryAuth::Basic(u, p),
        None => RegistryAuth::Anonymous,
    })
}

/// Installs rustls' crypto provider once per process.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
