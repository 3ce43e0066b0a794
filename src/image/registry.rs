//! Registry endpoints and clients: HTTPS by default, plain HTTP for insecure
//! registries and loopback, mirrors for Docker Hub names, extra CA certs from
//! `certs.d`, and credentials from docker's config file.
use crate::image::{auth, reference};
use anyhow::{Context, Result};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
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

/// A client for one endpoint.
pub fn client_for(ep: &Endpoint, opts: &RegistryOptions) -> Client {
    init_tls();
    let protocol = if ep.plain_http {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        accept_invalid_certificates: !ep.tls_verify,
        extra_root_certificates: load_certs(&opts.certs_dirs),
        platform_resolver: None,
        connect_timeout: Some(Duration::from_secs(15)),
        read_timeout: Some(Duration::from_secs(60)),
        user_agent: concat!("rdock/", env!("CARGO_PKG_VERSION")),
        ..Default::default()
    })
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
