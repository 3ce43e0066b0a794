//! One thin file per verb; each turns its parsed arguments into calls on
//! the image store (and later the container side).
use crate::image::registry::RegistryOptions;
use crate::image::store::Store;
use crate::rdock::cli::{Cli, Command, ImageCommand};
use anyhow::Result;
use std::path::PathBuf;

pub mod images;
pub mod inspect;
pub mod load;
pub mod login;
pub mod prune;
pub mod pull;
pub mod rmi;
pub mod save;
pub mod tag;

/// What every command may need, from the global flags.
pub struct Context {
    pub root: PathBuf,
    pub mirrors: Vec<String>,
    pub insecure: Vec<String>,
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
        crate::image::registry::init_tls();
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
        .unwrap_or_else(|| PathBuf::from(crate::image::store::DEFAULT_ROOT));
    let ctx = Context {
        root,
        mirrors: cli.registry_mirror,
        insecure: cli.insecure_registry,
    };
    match cli.command {
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(&ctx, a),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(&ctx, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(&ctx, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(&ctx, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(&ctx, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(&ctx, a),
        Command::Image(ImageCommand::Inspect(a)) => inspect::run(&ctx, a),
        Command::Image(ImageCommand::Prune(a)) => prune::run(&ctx, a),
        Command::Login(a) => login::login(&ctx, a),
        Command::Logout(a) => login::logout(&ctx, a),
    }
}
