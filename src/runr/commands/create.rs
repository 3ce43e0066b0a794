use anyhow::Result;

use super::absolute;
use crate::cli::{Cli, CreateOpts};
use runtime::launch::{self, CreateRequest, Created};

pub fn run(cli: &Cli, o: &CreateOpts) -> Result<()> {
    create(cli, o, None).map(|_| ())
}

/// `console_pair`: for a foreground `run`, the socket the container sends its
/// pty master to when no --console-socket was given.
pub fn create(
    cli: &Cli,
    o: &CreateOpts,
    console_pair: Option<std::os::unix::net::UnixStream>,
) -> Result<Created> {
    let bundle = absolute(o.bundle.as_deref().unwrap_or(std::path::Path::new(".")))?;
    let pid_file = o.pid_file.as_deref().map(absolute).transpose()?;
    let console = o.console_socket.as_deref().map(absolute).transpose()?;
    launch::create(CreateRequest {
        root: &cli.root,
        id: &o.id,
        bundle: &bundle,
        console_socket: console.as_deref(),
        pid_file: pid_file.as_deref(),
        no_pivot: o.no_pivot,
        preserve_fds: o.preserve_fds,
        systemd_cgroup: cli.systemd_cgroup,
        rootless: runtime::rootless::detect(cli.rootless.as_deref())?,
        console_pair,
    })
}
