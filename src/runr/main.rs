//! runr: parse the command line, set up logging, run the command, and report
//! a failure once, the way runc does (stderr, plus the --log file).

mod commands;
mod logging;

use clap::Parser;
use runr::cli::{self, Cli, Command};
use runtime::spec::OCI_VERSION;

fn main() {
    runtime::process::set_non_dumpable();
    let cli = Cli::parse();
    logging::init(cli.log.as_deref(), cli.log_format, cli.debug);
    // Commands that only print behave like other Unix tools when their reader
    // goes away (`runr list | head`); the others keep SIGPIPE ignored, as they
    // write to hooks' stdin and must survive a hook that does not read it.
    let prints_only = !matches!(
        cli.command,
        Some(
            Command::Create(_)
                | Command::Run(_)
                | Command::Exec(_)
                | Command::Start(_)
                | Command::Delete(_)
        )
    );
    if prints_only {
        // SAFETY: restoring the default disposition of SIGPIPE is always sound.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    if cli.version {
        println!("runr version {}", env!("CARGO_PKG_VERSION"));
        println!(
            "commit: {}",
            option_env!("RUNR_COMMIT").unwrap_or("unknown")
        );
        println!("spec: {OCI_VERSION}");
        return;
    }
    let enters_container = matches!(
        cli.command,
        Some(Command::Create(_) | Command::Run(_) | Command::Exec(_))
    );
    if enters_container {
        if let Err(e) = runtime::exe_guard::ensure_unwritable_exe() {
            log::error!("{e:#}");
            std::process::exit(1);
        }
    }
    let Some(cmd) = &cli.command else {
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        std::process::exit(0);
    };
    match commands::dispatch(&cli, cmd) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let (code, msg) = commands::failure(cmd, &e);
            log::error!("{msg}");
            if cli.log.is_some() {
                eprintln!("{msg}");
            }
            std::process::exit(code);
        }
    }
}
