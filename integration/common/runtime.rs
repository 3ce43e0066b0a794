//! Driving the runtime under test: a command with its own `--root`, stdio to
//! files (a detached container inherits them, so pipes would never reach
//! EOF), and a timeout after which a hang is reported as a failure.

use std::fmt;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one runtime command may take before it counts as hung. Generous
/// because two cores are shared by parallel tests.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The runtime under test.
pub fn runtime_bin() -> PathBuf {
    match std::env::var_os("RUNR_TEST_RUNTIME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => super::products::product("runr"),
    }
}

/// Whether the runtime under test is runc (by its `--version` output).
pub fn runtime_is_runc() -> bool {
    static IS_RUNC: OnceLock<bool> = OnceLock::new();
    *IS_RUNC.get_or_init(|| {
        Command::new(runtime_bin())
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("runc version"))
            .unwrap_or(false)
    })
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    pub command: String,
    /// The exit code, or None when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the whole output unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Panics unless the command failed with a non-zero exit code.
    #[track_caller]
    pub fn failed(self) -> Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "command should have failed:\n{self}"
        );
        self
    }

    /// The "status" of a `state` output, or "" when it failed.
    pub fn json_status(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.stdout)
            .ok()
            .and_then(|v| v["status"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(
            f,
            "exit code {:?}, signal {:?}, took {:?}",
            self.code, self.signal, self.elapsed
        )?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// One invocation of the runtime: `<runtime> [global...] args...`.
pub struct RtCommand {
    bin: PathBuf,
    global: Vec<String>,
    args: Vec<String>,
    cwd: Option<PathBuf>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    logs: PathBuf,
    timeout: Duration,
}

impl RtCommand {
    /// `logs` is a directory where stdout and stderr files are kept.
    pub fn new(bin: &Path, root: &Path, logs: &Path) -> Self {
        RtCommand {
            bin: bin.to_path_buf(),
            global: vec!["--root".into(), root.display().to_string()],
            args: Vec::new(),
            cwd: None,
            stdin: None,
            stdout: None,
            logs: logs.to_path_buf(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A global option, placed before the subcommand.
    pub fn global(mut self, args: &[&str]) -> Self {
        self.global.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.args
            .extend(args.iter().map(|s| s.as_ref().to_string()));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn stdin(mut self, stdin: Stdio) -> Self {
        self.stdin = Some(stdin);
        self
    }

    /// Stdout goes there instead of the captured file.
    pub fn stdout(mut self, stdout: Stdio) -> Self {
        self.stdout = Some(stdout);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn run(self) -> Output {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let verb = self.args.first().cloned().unwrap_or_default();
        let out_path = self.logs.join(format!("{n:03}-{verb}.stdout"));
        let err_path = self.logs.join(format!("{n:03}-{verb}.stderr"));
        let command = format!(
            "{} {} {}",
            self.bin.display(),
            self.global.join(" "),
            self.args.join(" ")
        );
        let out_file = File::create(&out_path).expect("creating the stdout capture file");
        let err_file = File::create(&err_path).expect("creating the stderr capture file");

        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.global).args(&self.args);
        cmd.stdin(self.stdin.unwrap_or_else(Stdio::null));
        cmd.stdout(self.stdout.unwrap_or_else(|| out_file.into()));
        cmd.stderr(err_file);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning `{command}`: {e}"));
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the runtime") {
                break status;
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
                panic!(
                    "`{command}` hung: no exit within {:?} (killed it)\n--- stderr\n{stderr}",
                    self.timeout
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        Output {
            command,
            code: status.code(),
            signal: status.signal(),
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
            elapsed: start.elapsed(),
        }
    }
}
