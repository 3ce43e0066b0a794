//! One thin file per verb; each turns its parsed arguments into calls on
//! the image store (and later the container side).
use crate::cli::{Cli, Command, ContainerCommand, ImageCommand, SystemCommand};
use crate::container;
use anyhow::Result;
use image::registry::RegistryOptions;
use image::store::Store;
use std::path::PathBuf;

pub mod attach;
pub mod commit;
pub mod completion;
pub mod container_inspect;
pub mod cp;
pub mod create;
pub mod df;
pub mod diff;
pub mod events;
pub mod exec;
pub mod exec_tty;
pub mod export;
pub mod filters;
pub mod history;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod lifecycle;
pub mod load;
pub mod login;
pub mod logs;
pub mod network;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod rmi;
pub mod run;
pub mod runio;
pub mod save;
pub mod stats;
pub mod tag;
pub mod top;
pub mod update;
pub mod volume;
pub mod wait;

/// What every command may need, from the global flags.
pub struct Context {
    pub root: PathBuf,
    pub mirrors: Vec<String>,
    pub insecure: Vec<String>,
    /// `--runtime` as given.
    pub runtime: Option<String>,
}

impl Context {
    pub fn store(&self) -> Result<Store> {
        Store::open(&self.root)
    }

    pub fn registry_options(&self) -> Result<RegistryOptions> {
        RegistryOptions::gather(self.mirrors.clone(), self.insecure.clone())
    }

    /// A tokio runtime for the commands that talk to registries.
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        image::registry::init_tls();
        Ok(tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()?)
    }
}

/// Runs the parsed command; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let root = cli
        .root
        .or_else(|| std::env::var_os("RDOCK_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(image::store::DEFAULT_ROOT));
    let ctx = Context {
        root,
        mirrors: cli.registry_mirror,
        insecure: cli.insecure_registry,
        runtime: cli.runtime,
    };
    let Some(command) = cli.command else {
        if cli.version {
            println!("{}", version_line());
            return Ok(0);
        }
        use clap::CommandFactory;
        Cli::command().print_help()?;
        return Ok(0);
    };
    if !matches!(
        command,
        Command::Login(_) | Command::Logout(_) | Command::Version(_) | Command::Completion(_)
    ) {
        if let Err(e) = image::store::prepare_root(&ctx.root) {
            if e.is::<image::store::NeedsRoot>() {
                eprintln!("{e}");
                return Ok(1);
            }
            return Err(e);
        }
    }
    match command {
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(&ctx, a),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => import::run(&ctx, a),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(&ctx, a),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(&ctx, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(&ctx, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(&ctx, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(&ctx, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(&ctx, a),
        Command::Image(ImageCommand::Inspect(a)) => inspect::run(&ctx, a),
        Command::Image(ImageCommand::Prune(a)) => prune::run(&ctx, a),
        Command::Login(a) => login::login(&ctx, a),
        Command::Logout(a) => login::logout(&ctx, a),
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => run::run(&ctx, a),
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => ps::run(&ctx, a),
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => rm::run(&ctx, a),
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => logs::run(&ctx, a),
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => exec::run(&ctx, a),
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => {
            lifecycle::stop(&ctx, a)
        }
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            lifecycle::start(&ctx, a)
        }
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => {
            lifecycle::kill(&ctx, a)
        }
        Command::Inspect(a) | Command::Container(ContainerCommand::Inspect(a)) => {
            container_inspect::run(&ctx, a)
        }
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            create::run(&ctx, a)
        }
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            restart::run(&ctx, a)
        }
        Command::Update(a) | Command::Container(ContainerCommand::Update(a)) => {
            update::run(&ctx, a)
        }
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => wait::run(&ctx, a),
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            attach::run(&ctx, a)
        }
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => top::run(&ctx, a),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => info::run(&ctx, a),
        Command::Container(ContainerCommand::Prune(a)) => prune::containers(&ctx, a),
        Command::System(SystemCommand::Prune(a)) => prune::system(&ctx, a),
        Command::Volume(c) => volume::run(&ctx, c),
        Command::Network(c) => network::run(&ctx, c),
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => port::run(&ctx, a),
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => pause::pause(&ctx, a),
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            pause::unpause(&ctx, a)
        }
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
            rename::run(&ctx, a)
        }
        Command::Diff(a) | Command::Container(ContainerCommand::Diff(a)) => {
            diff::run(&ctx, &a.container)
        }
        Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => {
            export::run(&ctx, a)
        }
        Command::History(a) | Command::Image(ImageCommand::History(a)) => history::run(&ctx, a),
        Command::Cp(a) | Command::Container(ContainerCommand::Cp(a)) => cp::run(&ctx, a),
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => events::run(&ctx, a),
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => stats::run(&ctx, a),
        Command::System(SystemCommand::Df(a)) => df::run(&ctx, a),
        Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => {
            commit::run(&ctx, a)
        }
        Command::Version(a) => info::version(&ctx, a),
        Command::Completion(a) => completion::run(a),
        Command::ContainerMonitor { id, wait_attach } => {
            container::monitor_main(&ctx.root, &id, wait_attach)
        }
        Command::ContainerHealth { id, pid } => {
            container::health::checker_main(&ctx.root, &id, pid)
        }
    }
}

/// Applies `f` to each named object as docker does: the name printed on
/// success, the error on stderr, exit 1 if any failed.
pub(super) fn each(names: &[String], mut f: impl FnMut(&str) -> Result<()>) -> i32 {
    let mut code = 0;
    for n in names {
        match f(n) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                code = 1;
            }
        }
    }
    code
}

/// `rdock version 0.1.0, build abc1234`, the shape of docker's `-v`.
pub fn version_line() -> String {
    format!(
        "rdock version {}, build {}",
        env!("CARGO_PKG_VERSION"),
        option_env!("RDOCK_BUILD").unwrap_or("dev")
    )
}
