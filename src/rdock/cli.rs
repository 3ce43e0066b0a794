//! rdock's command line grammar: one struct per verb, no behaviour here.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "rdock",
    about = "A small docker-like frontend for the runr runtime"
)]
pub struct Cli {
    /// Print version information and quit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// OCI runtime: runr (default: next to rdock, else in PATH), runc, crun or a path.
    #[arg(long, global = true, value_name = "RUNTIME")]
    pub runtime: Option<String>,
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
    // Before the verb only, as docker's: `run -l` is `--label`.
    #[arg(long = "log-level", short = 'l', default_value = "warn")]
    pub log_level: String,
    /// Debug logging.
    #[arg(long, short = 'D', global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
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
    /// Upload an image to a registry.
    Push(PushArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(ImportArgs),
    /// Log in to a registry.
    Login(LoginArgs),
    /// Log out from a registry.
    Logout(LogoutArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Create and run a new container from an image.
    Run(RunArgs),
    /// List containers.
    Ps(PsArgs),
    /// Remove one or more containers.
    Rm(RmArgs),
    /// Fetch the logs of a container.
    Logs(LogsArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Start one or more stopped containers.
    Start(StartArgs),
    /// Create a new container (prints its ID; `start` runs it).
    Create(RunArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Update configuration of one or more containers (--restart).
    Update(UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(ContainersArgs),
    /// Attach to a running container's output (and input).
    Attach(AttachArgs),
    /// Display the running processes of a container.
    Top(TopArgs),
    /// Display system-wide information.
    Info(FormatArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage rdock.
    #[command(subcommand)]
    System(SystemCommand),
    /// Kill one or more running containers.
    Kill(KillArgs),
    /// Return low-level information on containers or images.
    Inspect(InspectArgs),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage networks.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// List port mappings or a specific mapping for the container.
    Port(PortArgs),
    /// Pause all processes within one or more containers.
    Pause(ContainersArgs),
    /// Unpause all processes within one or more containers.
    Unpause(ContainersArgs),
    /// Rename a container.
    Rename(RenameArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(DiffArgs),
    /// Export a container's filesystem as a tar archive.
    Export(ExportArgs),
    /// Show the history of an image.
    History(HistoryArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
    /// Get real time events from rdock's event log.
    Events(EventsArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// Create a new image from a container's changes.
    Commit(CommitArgs),
    /// Show the rdock version information.
    Version(FormatArgs),
    /// Generate the autocompletion script for the specified shell.
    Completion(CompletionArgs),
    /// Watches a detached container (rdock runs this itself).
    #[command(hide = true)]
    ContainerMonitor {
        id: String,
        /// Wait for a first attach client before starting (`start -a`).
        #[arg(long)]
        wait_attach: bool,
    },
    /// Runs a container's health checks (its monitor starts this).
    #[command(hide = true)]
    ContainerHealth {
        id: String,
        /// The container's init, whose exit ends the checks.
        pid: i32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Remove all stopped containers.
    Prune(ForceArgs),
    /// List containers.
    #[command(aliases = ["list", "ps"])]
    Ls(PsArgs),
    /// Display detailed information on one or more containers.
    Inspect(InspectArgs),
    /// Remove one or more containers.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Create and run a new container from an image.
    Run(RunArgs),
    /// Create a new container.
    Create(RunArgs),
    /// Start one or more stopped containers.
    Start(StartArgs),
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Update configuration of one or more containers (--restart).
    Update(UpdateArgs),
    /// Kill one or more running containers.
    Kill(KillArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(ContainersArgs),
    /// Fetch the logs of a container.
    Logs(LogsArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Attach to a running container's output (and input).
    Attach(AttachArgs),
    /// Display the running processes of a container.
    Top(TopArgs),
    /// List port mappings or a specific mapping for the container.
    Port(PortArgs),
    /// Pause all processes within one or more containers.
    Pause(ContainersArgs),
    /// Unpause all processes within one or more containers.
    Unpause(ContainersArgs),
    /// Rename a container.
    Rename(RenameArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(DiffArgs),
    /// Export a container's filesystem as a tar archive.
    Export(ExportArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// Create a new image from a container's changes.
    Commit(CommitArgs),
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Show all events created since timestamp.
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp.
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format the output using the given Go template.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    pub containers: Vec<String>,
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Pretty-print images using a Go template.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Show detailed information on space usage.
    #[arg(short, long)]
    pub verbose: bool,
    /// Pretty-print images using a Go template.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>").
    #[arg(short, long, default_value = "")]
    pub author: String,
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Commit message.
    #[arg(short, long, default_value = "")]
    pub message: String,
    /// Pause container during commit.
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub pause: bool,
    pub container: String,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

#[derive(Debug, Args)]
pub struct CpArgs {
    /// CONTAINER:SRC_PATH, a local path or - (a tar stream on stdin).
    pub src: String,
    /// CONTAINER:DEST_PATH, a local path or - (a tar stream on stdout).
    pub dest: String,
    /// Archive mode (copy all uid/gid information).
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long)]
    pub follow_link: bool,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    pub container: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub container: String,
    /// Write to a file, instead of STDOUT.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub image: String,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Remove stopped containers, dangling images (all unused with -a) and,
    /// with --volumes, unused anonymous volumes.
    Prune(SystemPruneArgs),
    /// Display system-wide information.
    Info(FormatArgs),
    /// Show rdock disk usage.
    Df(DfArgs),
    /// Get real time events from rdock's event log.
    Events(EventsArgs),
}

#[derive(Debug, Args)]
pub struct ForceArgs {
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images, not just dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Prune anonymous volumes.
    #[arg(long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[arg(required_unless_present = "all_restartable")]
    pub containers: Vec<String>,
    /// Start every container whose restart policy brings it back after a
    /// reboot (always; unless-stopped if not stopped by hand; on-failure if
    /// the reboot interrupted it): run this at boot.
    #[arg(long, conflicts_with_all = ["containers", "attach", "interactive"])]
    pub all_restartable: bool,
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short, long)]
    pub attach: bool,
    /// Attach the container's STDIN.
    #[arg(short, long)]
    pub interactive: bool,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    pub container: String,
    /// Do not attach STDIN.
    #[arg(long)]
    pub no_stdin: bool,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    pub container: String,
    /// Options for ps (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// List volumes.
    #[command(alias = "list")]
    Ls(QuietArgs),
    /// Create a volume.
    Create { name: String },
    /// Remove one or more volumes.
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Display detailed information on one or more volumes.
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused volumes (anonymous ones; all with -a).
    Prune {
        /// Remove all unused volumes, not just anonymous ones.
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation.
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// List networks.
    #[command(alias = "list")]
    Ls(QuietArgs),
    /// Create a network.
    Create(NetworkCreateArgs),
    /// Remove one or more networks.
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Display detailed information on one or more networks.
    Inspect {
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Connect a container to a network.
    Connect(NetworkConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(NetworkDisconnectArgs),
    /// Remove all unused networks.
    Prune(ForceArgs),
}

#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// Driver to manage the network (bridge only).
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format, IPv4 (default: the next free 10.87.N.0/24) or
    /// IPv6 (with --ipv6); repeatable.
    #[arg(long)]
    pub subnet: Vec<String>,
    /// Gateway of a subnet (default: its first address); repeatable.
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Enable IPv6 networking (needs an IPv6 --subnet).
    #[arg(long)]
    pub ipv6: bool,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NetworkConnectArgs {
    /// IPv4 address (e.g., 172.30.100.104).
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33).
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add network-scoped alias for the container.
    #[arg(long)]
    pub alias: Vec<String>,
    pub network: String,
    pub container: String,
}

#[derive(Debug, Args)]
pub struct NetworkDisconnectArgs {
    /// Force the container to disconnect from a network.
    #[arg(short, long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish or powershell (without one: the usage).
    #[arg(value_name = "SHELL")]
    pub shell: Option<String>,
}

#[derive(Debug, Args)]
pub struct QuietArgs {
    /// Only display names / IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Pretty-print using a Go template ('table', 'json' or a template).
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Format the output using the given Go template.
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the container ID.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables.
    #[arg(short, long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Bind mount a volume (HOST:CONTAINER[:ro] or NAME:CONTAINER[:ro]).
    #[arg(short, long = "volume", value_name = "SRC:DST[:ro]")]
    pub volume: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Network: bridge (the default with netavark, else host), host, none or
    /// a user network (one, as docker 20.10: `network connect` adds more).
    #[arg(long, alias = "net")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container.
    #[arg(long = "network-alias", alias = "net-alias", value_name = "ALIAS")]
    pub network_alias: Vec<String>,
    /// IPv4 address on a user network with a configured subnet.
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address on a user network with an IPv6 subnet.
    #[arg(long)]
    pub ip6: Option<String>,
    /// Publish a container's port to the host ([IP:][HOST_PORT:]PORT[/PROTO]).
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random host ports.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports (PORT[-END][/PROTO]).
    #[arg(long, value_name = "PORT")]
    pub expose: Vec<String>,
    #[command(flatten)]
    pub opts: Box<ContainerOpts>,
    #[command(flatten)]
    pub monitor: MonitorOpts,
    #[command(flatten)]
    pub health: HealthOpts,
    /// IMAGE
    pub image: String,
    /// COMMAND [ARG...]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// The flags of `run` and `create` that shape the container's config.json
/// (security, resources, root filesystem, init, image choice). Values stay
/// strings here: `container::hostconfig` checks them with docker's messages.
#[derive(Debug, Clone, Default, Args)]
pub struct ContainerOpts {
    /// Add Linux capabilities (NAME, CAP_NAME or ALL).
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities (NAME, CAP_NAME or ALL).
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    pub privileged: bool,
    /// Security options (seccomp=unconfined|PROFILE.json, no-new-privileges).
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Memory limit (with b, k, m or g).
    #[arg(short = 'm', long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs.
    #[arg(long, value_name = "DECIMAL")]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares", value_name = "INT")]
    pub cpu_shares: Option<String>,
    /// Tune container pids limit (-1 for unlimited).
    #[arg(long = "pids-limit", value_name = "INT", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Mount a tmpfs directory (PATH[:OPTIONS]).
    #[arg(long, value_name = "PATH")]
    pub tmpfs: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Run an init inside the container that forwards signals and reaps processes.
    #[arg(long)]
    pub init: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant]).
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Pull image before running (always, missing, never).
    #[arg(long, value_name = "POLICY", default_value = "missing")]
    pub pull: String,
    /// Signal to stop the container.
    #[arg(long = "stop-signal", value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Add additional groups to join.
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Attach a filesystem mount (type=bind|volume|tmpfs,target=PATH,...).
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip; ip may be host-gateway).
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Ulimit options (NAME=SOFT[:HARD]).
    #[arg(long = "ulimit", value_name = "ULIMIT")]
    pub ulimit: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER[:PERMS]]).
    #[arg(long = "device", value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Size of /dev/shm (with b, k, m or g).
    #[arg(long = "shm-size", value_name = "BYTES", allow_hyphen_values = true)]
    pub shm_size: Option<String>,
    /// IPC mode: none, private, shareable, host or container:NAME.
    #[arg(long = "ipc", value_name = "MODE")]
    pub ipc: Option<String>,
    /// PID namespace: host or container:NAME.
    #[arg(long = "pid", value_name = "MODE")]
    pub pid: Option<String>,
    /// UTS namespace: host.
    #[arg(long = "uts", value_name = "MODE")]
    pub uts: Option<String>,
    /// User namespace: host.
    #[arg(long = "userns", value_name = "MODE")]
    pub userns: Option<String>,
    /// Sysctl options (NAME=VALUE; namespaced ones only).
    #[arg(long = "sysctl", value_name = "NAME=VALUE")]
    pub sysctl: Vec<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long = "stop-timeout", value_name = "SECS", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,
    /// Attach to STDIN, STDOUT or STDERR.
    #[arg(short = 'a', long = "attach", value_name = "STREAM")]
    pub attach: Vec<String>,
    /// Write the container ID to the file.
    #[arg(long = "cidfile", value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Proxy received signals to the process (--sig-proxy=false to not).
    #[arg(
        long = "sig-proxy",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true"
    )]
    pub sig_proxy: String,
    /// Set meta data on a container (KEY[=VALUE]).
    #[arg(short = 'l', long = "label", value_name = "LABEL")]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels.
    #[arg(long = "label-file", value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// Override the key sequence for detaching a container (e.g. ctrl-x,y).
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
}

/// The health check flags of `run` and `create` (docker's; durations in
/// Go's syntax, checked by `container::health`).
#[derive(Debug, Clone, Default, Args)]
pub struct HealthOpts {
    /// Command to run to check health (through /bin/sh -c).
    #[arg(long = "health-cmd", value_name = "STRING")]
    pub cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s).
    #[arg(
        long = "health-interval",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub interval: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(
        long = "health-retries",
        value_name = "INT",
        allow_hyphen_values = true
    )]
    pub retries: Option<String>,
    /// Start period for the container to initialize before starting
    /// health-retries countdown (ms|s|m|h) (default 0s).
    #[arg(
        long = "health-start-period",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub start_period: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s).
    #[arg(
        long = "health-timeout",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub timeout: Option<String>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
}

/// The flags of `run` and `create` that the container's monitor carries
/// out: restart policy, log driver, health check.
#[derive(Debug, Clone, Default, Args)]
pub struct MonitorOpts {
    /// Restart policy to apply when a container exits (no, always,
    /// on-failure[:max-retries], unless-stopped).
    #[arg(long, value_name = "POLICY", default_value = "no")]
    pub restart: String,
    /// Logging driver for the container (json-file, local, none).
    #[arg(
        long = "log-driver",
        value_name = "DRIVER",
        default_value = "json-file"
    )]
    pub log_driver: String,
    /// Log driver options (max-size=SIZE, max-file=N).
    #[arg(long = "log-opt", value_name = "OPT")]
    pub log_opt: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter output (status, name, id, label, before, since, exited,
    /// ancestor, network, volume, health; repeatable).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Pretty-print containers using a Go template ('table', 'json' or a
    /// template).
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Show the latest created container (includes all states); no `-l`,
    /// which is rdock's global --log-level.
    #[arg(long)]
    pub latest: bool,
    /// Display total file sizes.
    #[arg(short, long)]
    pub size: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes associated with the container.
    #[arg(short, long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub container: String,
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs.
    #[arg(short = 'n', long)]
    pub tail: Option<String>,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since a timestamp (RFC 3339) or relative (e.g. 42m, 10s).
    #[arg(long)]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables.
    #[arg(short, long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Detached mode: run command in the background.
    #[arg(short, long)]
    pub detach: bool,
    pub container: String,
    /// COMMAND [ARG...]
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Seconds to wait before killing the container (default: the
    /// container's --stop-timeout, else 10; -1 waits for ever).
    #[arg(short, long, allow_hyphen_values = true)]
    pub time: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ContainersArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[arg(required = true)]
    pub containers: Vec<String>,
    /// Signal to send to the container.
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
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
    /// Show the history of an image.
    History(HistoryArgs),
    /// Upload an image to a registry.
    Push(PushArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image.
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Set commit message for imported image.
    #[arg(short, long, default_value = "")]
    pub message: String,
    /// FILE, URL or - (stdin).
    pub source: String,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// NAME[:TAG]
    pub name: String,
    /// Push all tagged images in the repository.
    #[arg(short, long)]
    pub all_tags: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// NAME[:TAG|@DIGEST]
    pub image: String,
    /// Download all tagged images in the repository.
    #[arg(short, long)]
    pub all_tags: bool,
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
    /// Filter output (dangling, reference, before, since, label; repeatable).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Pretty-print images using a Go template ('table', 'json' or a
    /// template).
    #[arg(long)]
    pub format: Option<String>,
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
    /// Format the output using the given Go template.
    #[arg(short, long)]
    pub format: Option<String>,
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

/// The verbs whose arguments after the first positional (the image, or the
/// container) belong to the container's command, as docker parses them:
/// `rdock run busybox ls -l` runs `ls -l`, `-l` is not rdock's flag.
const COMMAND_AFTER_FIRST_POSITIONAL: &[&str] = &["run", "create", "exec", "top"];

/// Puts a `--` after the image of `run`/`create` (the container of
/// `exec`/`top`), so that clap takes every later argument as the command's
/// even when it looks like one of rdock's flags. Which flags take a value
/// comes from the grammar itself; an unknown flag leaves the line as it is
/// (clap reports it).
pub fn separate_command(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let mut root = Cli::command();
    root.build();
    let text: Vec<Option<&str>> = args.iter().map(|a| a.to_str()).collect();
    // Skips the flags of `cmd` from `i`; returns the index of the first
    // positional, None at `--`, an unknown flag or the end.
    let first_positional = |cmd: &clap::Command, mut i: usize| -> Option<usize> {
        while i < text.len() {
            let t = text[i]?;
            if t == "--" {
                return None;
            }
            if let Some(long) = t.strip_prefix("--") {
                if !long.contains('=') {
                    let a = cmd.get_arguments().find(|a| {
                        a.get_long() == Some(long)
                            || a.get_all_aliases().is_some_and(|v| v.contains(&long))
                    })?;
                    // `--sig-proxy false` is not a value: it needs `=`, as in docker.
                    if a.get_action().takes_values() && !a.is_require_equals_set() {
                        i += 1;
                    }
                }
            } else if t.len() > 1 && t.starts_with('-') {
                for (n, c) in t[1..].char_indices() {
                    let a = cmd.get_arguments().find(|a| a.get_short() == Some(c))?;
                    if a.get_action().takes_values() {
                        // `-wDIR` carries its value; `-w DIR` takes the next one.
                        if n + c.len_utf8() == t.len() - 1 {
                            i += 1;
                        }
                        break;
                    }
                }
            } else {
                return Some(i);
            }
            i += 1;
        }
        None
    };
    let Some(verb_at) = first_positional(&root, 1) else {
        return args;
    };
    let Some(verb) = text[verb_at].filter(|v| COMMAND_AFTER_FIRST_POSITIONAL.contains(v)) else {
        return args;
    };
    let Some(sub) = root.find_subcommand(verb) else {
        return args;
    };
    match first_positional(sub, verb_at + 1) {
        Some(p) if p + 1 < args.len() => {
            let mut out = args;
            out.insert(p + 1, "--".into());
            out
        }
        _ => args,
    }
}

/// docker's exit code for a command line it cannot parse: 125 for a bad
/// flag or flag value, 1 for a wrong number of arguments or an unknown
/// verb, 0 for a group named without its verb (its usage is printed).
pub fn usage_exit_code(e: &clap::Error) -> i32 {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => 0,
        ErrorKind::MissingRequiredArgument | ErrorKind::InvalidSubcommand => 1,
        // clap calls both `--bogus` and a positional too many "unexpected".
        ErrorKind::UnknownArgument => match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(a)) if !a.starts_with('-') => 1,
            _ => 125,
        },
        _ => 125,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        let args = line.split(' ').map(std::ffi::OsString::from).collect();
        separate_command(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn arguments_after_the_image_are_the_command() {
        assert_eq!(
            split("rdock run --entrypoint /bin/ls busybox -d /tmp"),
            [
                "rdock",
                "run",
                "--entrypoint",
                "/bin/ls",
                "busybox",
                "--",
                "-d",
                "/tmp"
            ]
        );
        assert_eq!(
            split("rdock -l debug run -it -w /x -eA=1 --rm busybox ls -l"),
            [
                "rdock", "-l", "debug", "run", "-it", "-w", "/x", "-eA=1", "--rm", "busybox", "--",
                "ls", "-l"
            ]
        );
        assert_eq!(
            split("rdock exec -u 1 c /mnt/tool --root x"),
            [
                "rdock",
                "exec",
                "-u",
                "1",
                "c",
                "--",
                "/mnt/tool",
                "--root",
                "x"
            ]
        );
        assert_eq!(
            split("rdock --root /r create --network=none busybox -d"),
            [
                "rdock",
                "--root",
                "/r",
                "create",
                "--network=none",
                "busybox",
                "--",
                "-d"
            ]
        );
        // Nothing after the image, an explicit `--`, other verbs, unknown flags.
        assert_eq!(split("rdock run busybox"), ["rdock", "run", "busybox"]);
        assert_eq!(
            split("rdock run -- busybox -d"),
            ["rdock", "run", "--", "busybox", "-d"]
        );
        assert_eq!(split("rdock ps -a -q"), ["rdock", "ps", "-a", "-q"]);
        assert_eq!(
            split("rdock run --bogus busybox -d"),
            ["rdock", "run", "--bogus", "busybox", "-d"]
        );
    }

    #[test]
    fn the_separated_line_parses_as_the_command() {
        let cli = Cli::try_parse_from(separate_command(
            "rdock run --entrypoint /bin/ls busybox -d -l /tmp"
                .split(' ')
                .map(Into::into)
                .collect(),
        ))
        .unwrap();
        let Some(Command::Run(a)) = cli.command else {
            panic!("not run")
        };
        assert!(!a.detach);
        assert_eq!(cli.log_level, "warn");
        assert_eq!(
            (a.image.as_str(), a.command.as_slice()),
            (
                "busybox",
                &["-d".to_string(), "-l".into(), "/tmp".into()][..]
            )
        );
    }

    #[test]
    fn run_label_and_sig_proxy_flags() {
        let parse = |line: &str| {
            let cli =
                Cli::try_parse_from(separate_command(line.split(' ').map(Into::into).collect()))
                    .unwrap();
            let Some(Command::Run(a)) = cli.command else {
                panic!("not run")
            };
            (cli.log_level, a)
        };
        // `-l` after the verb is --label; before it, --log-level.
        let (level, a) = parse("rdock -l debug run -l a=1 --sig-proxy busybox ls -l");
        assert_eq!(level, "debug");
        assert_eq!(a.opts.label, ["a=1"]);
        assert_eq!(a.opts.sig_proxy, "true");
        assert_eq!((a.image.as_str(), a.command.len()), ("busybox", 2));
        let (_, a) = parse("rdock run --sig-proxy=false -a stdout busybox true");
        assert_eq!(a.opts.sig_proxy, "false");
        assert_eq!(a.opts.attach, ["stdout"]);
        // `--sig-proxy false`: false is the image, as with docker's bool flags.
        let (_, a) = parse("rdock run --sig-proxy false busybox");
        assert_eq!(
            (a.image.as_str(), a.command.as_slice()),
            ("false", &["busybox".to_string()][..])
        );
    }

    #[test]
    fn usage_errors_exit_as_docker() {
        let code = |line: &str| {
            let e =
                Cli::try_parse_from(separate_command(line.split(' ').map(Into::into).collect()))
                    .unwrap_err();
            usage_exit_code(&e)
        };
        assert_eq!(code("rdock ps --bogus"), 125);
        assert_eq!(code("rdock run --bogus busybox"), 125);
        assert_eq!(code("rdock stop -t abc x"), 125);
        assert_eq!(code("rdock rm"), 1);
        assert_eq!(code("rdock logs a b"), 1);
        assert_eq!(code("rdock run"), 1);
        assert_eq!(code("rdock bogus"), 1);
        assert_eq!(code("rdock network"), 0);
    }
}
