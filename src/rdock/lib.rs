//! The `rdock` frontend: CLI grammar in [`cli`], one thin file per verb in
//! [`commands`]; the work is done by [`crate::image`] (and, later, the
//! container side).
pub mod cli;
pub mod commands;
pub mod container;
pub mod events;
pub mod format;
pub mod network;
pub mod progress;
pub mod template;
pub mod units;

/// Entry point of the `rdock` binary: parses, runs, prints the error once.
pub fn main() -> ! {
    use clap::Parser;
    // Die quietly on a closed pipe (`rdock ps | head`), as CLI tools do.
    // SAFETY: restoring the default disposition installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let args = cli::separate_command(std::env::args_os().collect());
    let cli = cli::Cli::try_parse_from(args).unwrap_or_else(|e| {
        let _ = e.print();
        std::process::exit(cli::usage_exit_code(&e))
    });
    let level = if cli.debug {
        "debug"
    } else {
        cli.log_level.as_str()
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format_timestamp(None)
        .init();
    let code = match commands::run(cli) {
        Ok(code) => code,
        // A bad --format is the user's, not the daemon's: docker prints it bare.
        Err(e) => match e.downcast_ref::<template::TemplateError>() {
            Some(t) => {
                eprintln!("{t}");
                t.code
            }
            None => {
                eprintln!("Error response from daemon: {e:#}");
                1
            }
        },
    };
    std::process::exit(code)
}
