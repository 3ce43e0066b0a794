//! `rdock run [OPTIONS] IMAGE [COMMAND] [ARG...]`
use super::Context;
use crate::image::pull::{resolve_or_pull, PullOptions};
use crate::rdock::cli::RunArgs;
use crate::rdock::container::{self, record::Record, spec, CreateRequest};
use anyhow::{bail, Context as _, Result};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;

/// `-v SRC:DST[:ro|rw]`
pub fn parse_volume(v: &str) -> Result<spec::Volume> {
    let parts: Vec<&str> = v.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        // `-v /path`: an anonymous volume (empty source; create names it).
        [d] if d.starts_with('/') => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => bail!("invalid volume specification: '{v}'"),
    };
    if !destination.starts_with('/') || (source.is_empty() && parts.len() > 1) {
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
    let r = create_container(ctx, &a, true)?;
    if a.detach {
        container::start_detached(&ctx.root, &r.id, false)?;
        println!("{}", r.id);
        return Ok(0);
    }
    // The monitor loop runs here: output logged and shown, signals forwarded.
    match container::supervise(&ctx.root, &r.id, true, None, None) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("rdock: Error response from daemon: {e:#}.");
            Ok(125)
        }
    }
}

/// Pulls the image if needed and creates the container (`run` and `create`);
/// `start_now` leaves its rootfs mounted for the start that follows.
pub fn create_container(ctx: &Context, a: &RunArgs, start_now: bool) -> Result<Record> {
    let own_network = match a.network.as_str() {
        "host" | "default" | "bridge" => false,
        "none" => true,
        n => bail!("network {n} not found"),
    };
    if a.network == "bridge" {
        log::warn!("bridge networking is not implemented; using the host network");
    }
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
            tty: a.tty,
            hostname: a.hostname.clone().unwrap_or_default(),
            volumes,
            own_network,
        },
        runtime,
        auto_remove: a.rm,
        interactive: a.interactive,
        keep_mounted: start_now,
    };
    container::create(&ctx.root, &image, req)
}

#[cfg(test)]
mod tests {
    #[test]
    fn volumes_parse_like_docker() {
        let v = super::parse_volume("/h:/c:ro").unwrap();
        assert!(v.readonly);
        assert_eq!((v.source.as_str(), v.destination.as_str()), ("/h", "/c"));
        assert!(!super::parse_volume("data:/c").unwrap().readonly);
        assert!(super::parse_volume("/h").unwrap().source.is_empty());
        assert!(super::parse_volume("h").is_err());
        assert!(super::parse_volume("/h:c").is_err());
    }
}
