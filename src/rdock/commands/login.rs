//! `rdock login [-u USER] [-p PASS | --password-stdin] [SERVER]` and
//! `rdock logout [SERVER]`, sharing docker's config file.
use super::Context;
use crate::cli::{LoginArgs, LogoutArgs};
use anyhow::{bail, Context as _, Result};
use image::registry::{self, Endpoint};
use image::{auth, reference};
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use std::io::{BufRead, IsTerminal, Write};

fn server_of(s: Option<&str>) -> String {
    match s {
        None => reference::DOCKER_HUB.to_string(),
        Some(s) => {
            let s = s
                .strip_prefix("https://")
                .or_else(|| s.strip_prefix("http://"))
                .unwrap_or(s);
            let host = s.split('/').next().unwrap_or(s);
            match host {
                "index.docker.io" | "registry-1.docker.io" => reference::DOCKER_HUB.to_string(),
                h => h.to_string(),
            }
        }
    }
}

fn prompt(label: &str, hidden: bool) -> Result<String> {
    print!("{label}");
    std::io::stdout().flush()?;
    let stdin = std::io::stdin();
    let saved = if hidden && stdin.is_terminal() {
        let t = nix::sys::termios::tcgetattr(&stdin).ok();
        if let Some(orig) = &t {
            let mut quiet = orig.clone();
            quiet
                .local_flags
                .remove(nix::sys::termios::LocalFlags::ECHO);
            let _ =
                nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &quiet);
        }
        t
    } else {
        None
    };
    let mut line = String::new();
    let res = stdin.lock().read_line(&mut line);
    if let Some(orig) = saved {
        let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &orig);
        println!();
    }
    res.context("reading from stdin")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub fn login(ctx: &Context, a: LoginArgs) -> Result<i32> {
    let server = server_of(a.server.as_deref());
    if a.password.is_some() && a.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    let user = match a.username {
        Some(u) => u,
        None if a.password_stdin => bail!("Must provide --username with --password-stdin"),
        None => prompt("Username: ", false)?,
    };
    let password = match (a.password, a.password_stdin) {
        (Some(p), _) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut s)
                .context("reading the password from stdin")?;
            s.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt("Password: ", true)?,
    };
    if user.is_empty() || password.is_empty() {
        bail!("username and password are required");
    }
    let opts = ctx.registry_options()?;
    // A manifest request for a name that surely does not exist: 404 means the
    // credentials were accepted, 401 that they were not.
    let probe: Reference = reference::parse(&format!("{server}/rdock-login-probe/x:latest"))
        .map_err(anyhow::Error::msg)?;
    let mut result = Err(anyhow::anyhow!("no endpoint for {server}"));
    for ep in registry::endpoints(&probe, &opts)
        .into_iter()
        .filter(|e| !e.mirror)
    {
        result = verify(ctx, &ep, &opts, &user, &password);
        match &result {
            Err(e) if ep.http_fallback_next && e.to_string().starts_with("transport: ") => continue,
            _ => break,
        }
    }
    result.with_context(|| format!("logging in to {server}"))?;
    auth::store(&server, &user, &password)?;
    println!("Login Succeeded");
    Ok(0)
}

fn verify(
    ctx: &Context,
    ep: &Endpoint,
    opts: &registry::RegistryOptions,
    user: &str,
    password: &str,
) -> Result<()> {
    let client = registry::client_for(ep, opts);
    let creds = RegistryAuth::Basic(user.to_string(), password.to_string());
    ctx.runtime()?.block_on(async {
        match client
            .pull_manifest_raw(&ep.reference, &creds, &[image::pull::OCI_MANIFEST])
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let msg = format!("{e}");
                let low = msg.to_lowercase();
                use oci_client::errors::OciDistributionError as E;
                let auth_failed =
                    matches!(e, E::UnauthorizedError { .. } | E::AuthenticationFailure(_));
                if auth_failed
                    || low.contains("unauthorized")
                    || low.contains("401")
                    || low.contains("authentication")
                    || low.contains("denied")
                {
                    bail!("unauthorized: incorrect username or password ({msg})")
                } else if low.contains("not found")
                    || low.contains("unknown")
                    || low.contains("404")
                {
                    Ok(())
                } else if matches!(e, oci_client::errors::OciDistributionError::RequestError(_)) {
                    bail!("transport: {msg}")
                } else {
                    bail!("{msg}")
                }
            }
        }
    })
}

pub fn logout(_ctx: &Context, a: LogoutArgs) -> Result<i32> {
    let server = server_of(a.server.as_deref());
    if auth::remove(&server)? {
        println!("Removing login credentials for {}", auth::auth_key(&server));
    } else {
        println!("Not logged in to {server}");
    }
    Ok(0)
}
