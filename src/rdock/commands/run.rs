//! `rdock run [OPTIONS] IMAGE [COMMAND] [ARG...]`
use super::Context;
use crate::image::pull::{resolve_or_pull, PullOptions};
use crate::rdock::cli::RunArgs;
use crate::rdock::container::{self, spec, CreateRequest, Stdio3};
use anyhow::{bail, Context as _, Result};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;

/// `-v SRC:DST[:ro|rw]`
pub fn parse_volume(v: &str) -> Result<spec::Volume> {
    let parts: Vec<&str> = v.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => bail!("invalid volume specification: '{v}'"),
    };
    if !destination.starts_with('/') || source.is_empty() {
        bail!("invalid volume specification: '{v}'");
    }
    let readonly = match mode {
        "" | "rw" => false,
        "ro" => true,
        m => bail!("invalid mode: {m}"),
    };
    Ok(spec::Volume {
        source: source.to_string(),
        destination: destination.to_string(),
        readonly,
    })
}

/// `busybox` → `busybox:latest`, as docker names what it looks for.
fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

pub fn run(ctx: &Context, a: RunArgs) -> Result<i32> {
    let network = match crate::rdock::network::plan(&ctx.root, a.network.as_deref(), &a.publish) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rdock: Error response from daemon: {e:#}.");
            return Ok(125);
        }
    };
    let volumes = a
        .volume
        .iter()
        .map(|v| parse_volume(v))
        .collect::<Result<Vec<_>>>()?;
    let runtime = container::runtime::locate(ctx.runtime.as_deref())?;
    let store = Arc::new(ctx.store()?);
    let opts = PullOptions {
        registry: ctx.registry_options()?,
        platform: None,
        quiet: false,
        parallel: 3,
    };
    let image = if store.resolve(&a.image).is_err() {
        eprintln!(
            "Unable to find image '{}' locally",
            with_default_tag(&a.image)
        );
        // docker prints run's pull progress on stderr: stdout is the container's.
        let saved = nix::unistd::dup(1).context("saving stdout")?;
        // SAFETY: dup returned a fresh fd that nothing else owns.
        let saved = unsafe { std::os::fd::OwnedFd::from_raw_fd(saved) };
        nix::unistd::dup2(2, 1).context("pointing stdout at stderr")?;
        let pulled = resolve_or_pull(store, &a.image, &opts);
        nix::unistd::dup2(saved.as_raw_fd(), 1).context("restoring stdout")?;
        pulled?
    } else {
        resolve_or_pull(store, &a.image, &opts)?
    };
    let req = CreateRequest {
        image_name: a.image.clone(),
        name: a.name.clone(),
        run: spec::RunOptions {
            cmd: a.command.clone(),
            entrypoint: a.entrypoint.clone(),
            env: a.env.clone(),
            workdir: a.workdir.clone(),
            user: a.user.clone(),
            // Detached containers log through pipes: no terminal there.
            tty: a.tty && !a.detach,
            hostname: a.hostname.clone().unwrap_or_default(),
            volumes,
            own_network: network.own_namespace(),
            netns: None,
        },
        runtime,
        auto_remove: a.rm,
        interactive: a.interactive,
        network,
    };
    let r = container::create(&ctx.root, &image, req)?;
    if a.detach {
        container::start_detached(&ctx.root, &r.id)?;
        println!("{}", r.id);
        return Ok(0);
    }
    // The runtime gets the terminal's signals itself; rdock outlives it.
    // SAFETY: setting SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    match container::supervise(
        &ctx.root,
        &r.id,
        Stdio3::Inherit {
            stdin: a.interactive || a.tty,
        },
    ) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("rdock: Error response from daemon: {e:#}.");
            Ok(125)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn volumes_parse_like_docker() {
        let v = super::parse_volume("/h:/c:ro").unwrap();
        assert!(v.readonly);
        assert_eq!((v.source.as_str(), v.destination.as_str()), ("/h", "/c"));
        assert!(!super::parse_volume("data:/c").unwrap().readonly);
        assert!(super::parse_volume("/h").is_err());
        assert!(super::parse_volume("/h:c").is_err());
    }
}
