//! rdock's command line grammar: one struct per verb, no behaviour here.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "rdock",
    version,
    about = "A small docker-like frontend for the runr runtime"
)]
pub struct Cli {
    /// Root of rdock's store (images, layers, containers); also RDOCK_ROOT
    /// [default: /var/lib/rdock].
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Mirror for Docker Hub names (repeatable); also RDOCK_REGISTRY_MIRROR.
    #[arg(long = "registry-mirror", global = true, value_name = "URL")]
    pub registry_mirror: Vec<String>,
    /// Registry spoken to over plain HTTP (repeatable); also RDOCK_INSECURE_REGISTRY.
    #[arg(long = "insecure-registry", global = true, value_name = "HOST:PORT")]
    pub insecure_registry: Vec<String>,
    /// Log level (error, warn, info, debug, trace).
    #[arg(long = "log-level", short = 'l', global = true, default_value = "warn")]
    pub log_level: String,
    /// Debug logging.
    #[arg(long, short = 'D', global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download an image from a registry.
    Pull(PullArgs),
    /// List images.
    Images(ImagesArgs),
    /// Remove one or more images.
    Rmi(RmiArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag(TagArgs),
    /// Save one or more images to a tar archive.
    Save(SaveArgs),
    /// Load an image from a tar archive.
    Load(LoadArgs),
    /// Log in to a registry.
    Login(LoginArgs),
    /// Log out from a registry.
    Logout(LogoutArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(ImageCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images.
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Remove one or more images.
    #[command(alias = "remove")]
    Rm(RmiArgs),
    /// Display detailed information on one or more images.
    Inspect(InspectArgs),
    /// Remove unused images.
    Prune(PruneArgs),
    /// Download an image from a registry.
    Pull(PullArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag(TagArgs),
    /// Save one or more images to a tar archive.
    Save(SaveArgs),
    /// Load an image from a tar archive.
    Load(LoadArgs),
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// NAME[:TAG|@DIGEST]
    pub image: String,
    /// Suppress verbose output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Platform (os/arch[/variant]), linux/amd64 by default.
    #[arg(long)]
    pub platform: Option<String>,
    /// Layers downloaded at once.
    #[arg(long, default_value_t = 3, hide = true)]
    pub max_concurrent_downloads: usize,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// REPOSITORY[:TAG] to list.
    pub reference: Option<String>,
    /// Show all images (there are no intermediate images here).
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Force removal of the image.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Write to a file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Archive format: docker (docker-archive) or oci (oci-archive).
    #[arg(long, default_value = "docker")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from a tar archive file instead of stdin.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Registry (Docker Hub when left out).
    pub server: Option<String>,
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry (Docker Hub when left out).
    pub server: Option<String>,
}
