//! A running container's resource usage for `rdock stats`, read where any
//! runtime leaves it: the cgroups of the container's init (found through
//! `/proc/PID/cgroup`, cgroup v1 or v2) and its network namespace
//! (`/proc/PID/net/dev`). The figures are docker's: memory without the
//! inactive file cache, a limit no larger than the host's memory, block
//! I/O from the recursive service-bytes counters (CFQ's, else throttle's).
use std::path::{Path, PathBuf};

/// One reading; counters are cumulative, CPU % needs two.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Usage {
    /// CPU time of the container's cgroup, ns.
    pub cpu_ns: u64,
    /// CPU time of the whole host (user..softirq of /proc/stat), ns.
    pub system_ns: u64,
    pub online_cpus: u32,
    pub mem: u64,
    pub mem_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub blk_read: u64,
    pub blk_write: u64,
    pub pids: u64,
}

impl Usage {
    /// docker's CPU %: the container's share of the host's CPU time since
    /// `prev`, times the number of CPUs (so one busy CPU reads 100%).
    pub fn cpu_percent(&self, prev: &Usage) -> f64 {
        let cpu = self.cpu_ns as f64 - prev.cpu_ns as f64;
        let system = self.system_ns as f64 - prev.system_ns as f64;
        if cpu > 0.0 && system > 0.0 {
            cpu / system * self.online_cpus as f64 * 100.0
        } else {
            0.0
        }
    }

    pub fn mem_percent(&self) -> f64 {
        if self.mem_limit == 0 {
            0.0
        } else {
            self.mem as f64 / self.mem_limit as f64 * 100.0
        }
    }
}

/// Reads the usage of the container whose init is `pid`.
pub fn read(pid: i32) -> Usage {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let host_mem = host_memory();
    let mut u = Cgroups::parse(&cgroups).read(Path::new("/sys/fs/cgroup"), host_mem);
    u.system_ns = system_cpu_ns();
    u.online_cpus = online_cpus();
    if !shares_host_network(pid) {
        let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
        (u.net_rx, u.net_tx) = net_dev(&dev);
    }
    u
}

/// Where a process's cgroups are: v1 hierarchies by controller, or the one
/// v2 path (used only when no v1 controller is mounted).
#[derive(Debug, Default)]
pub struct Cgroups {
    /// (controllers as listed, e.g. "cpu,cpuacct", path)
    v1: Vec<(String, String)>,
    v2: Option<String>,
}

impl Cgroups {
    pub fn parse(proc_cgroup: &str) -> Cgroups {
        let mut c = Cgroups::default();
        for l in proc_cgroup.lines() {
            let mut f = l.splitn(3, ':');
            let (Some(_), Some(ctrl), Some(path)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if ctrl.is_empty() {
                c.v2 = Some(path.to_string());
            } else if !ctrl.starts_with("name=") {
                c.v1.push((ctrl.to_string(), path.to_string()));
            }
        }
        c
    }

    /// The directory of `controller`'s v1 hierarchy holding the process.
    fn v1_dir(&self, base: &Path, controller: &str) -> Option<PathBuf> {
        let (ctrls, path) = self
            .v1
            .iter()
            .find(|(c, _)| c.split(',').any(|x| x == controller))?;
        let rel = path.trim_start_matches('/');
        [ctrls.as_str(), controller]
            .iter()
            .map(|m| base.join(m).join(rel))
            .find(|d| d.is_dir())
    }

    pub fn read(&self, base: &Path, host_mem: u64) -> Usage {
        if self.v1.is_empty() {
            if let Some(p) = &self.v2 {
                return read_v2(&base.join(p.trim_start_matches('/')), host_mem);
            }
            return Usage::default();
        }
        let dir = |c: &str| self.v1_dir(base, c);
        let mut u = Usage::default();
        if let Some(d) = dir("cpuacct") {
            u.cpu_ns = number(&d.join("cpuacct.usage"));
        }
        if let Some(d) = dir("memory") {
            let usage = number(&d.join("memory.usage_in_bytes"));
            let stat = text(&d.join("memory.stat"));
            u.mem = without_cache(usage, keyed(&stat, "total_inactive_file"));
            u.mem_limit = capped(number(&d.join("memory.limit_in_bytes")), host_mem);
        }
        if let Some(d) = dir("blkio") {
            let cfq = text(&d.join("blkio.io_service_bytes_recursive"));
            (u.blk_read, u.blk_write) = blkio_v1(&cfq);
            if (u.blk_read, u.blk_write) == (0, 0) {
                let throttle = text(&d.join("blkio.throttle.io_service_bytes_recursive"));
                (u.blk_read, u.blk_write) = blkio_v1(&throttle);
            }
        }
        if let Some(d) = dir("pids") {
            u.pids = number(&d.join("pids.current"));
        }
        u
    }
}

/// cgroup v2: everything in the one directory.
fn read_v2(d: &Path, host_mem: u64) -> Usage {
    let cpu = text(&d.join("cpu.stat"));
    let stat = text(&d.join("memory.stat"));
    let max = text(&d.join("memory.max"));
    let limit = match max.trim() {
        "max" | "" => host_mem,
        n => n.parse().unwrap_or(host_mem),
    };
    let (blk_read, blk_write) = io_v2(&text(&d.join("io.stat")));
    Usage {
        cpu_ns: keyed(&cpu, "usage_usec").unwrap_or(0) * 1000,
        mem: without_cache(
            number(&d.join("memory.current")),
            keyed(&stat, "inactive_file"),
        ),
        mem_limit: capped(limit, host_mem),
        blk_read,
        blk_write,
        pids: number(&d.join("pids.current")),
        ..Usage::default()
    }
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn number(p: &Path) -> u64 {
    text(p).trim().parse().unwrap_or(0)
}

/// `KEY N` in a flat keyed file (memory.stat, cpu.stat).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// docker's memory usage: the inactive file cache does not count.
fn without_cache(usage: u64, inactive_file: Option<u64>) -> u64 {
    match inactive_file {
        Some(i) if i < usage => usage - i,
        _ => usage,
    }
}

/// No limit (v1's huge number) reads as the host's memory, as in docker.
fn capped(limit: u64, host_mem: u64) -> u64 {
    if host_mem > 0 && limit > host_mem {
        host_mem
    } else {
        limit
    }
}

/// v1 `MAJ:MIN Read|Write|... N` lines, summed by direction.
fn blkio_v1(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [_, op, n] = f[..] {
            let n: u64 = n.parse().unwrap_or(0);
            match op.as_bytes().first() {
                Some(b'R' | b'r') => r += n,
                Some(b'W' | b'w') => w += n,
                _ => {}
            }
        }
    }
    (r, w)
}

/// v2 `MAJ:MIN rbytes=N wbytes=N ...` lines.
fn io_v2(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        for kv in l.split_whitespace().skip(1) {
            match kv.split_once('=') {
                Some(("rbytes", n)) => r += n.parse().unwrap_or(0),
                Some(("wbytes", n)) => w += n.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    (r, w)
}

/// Received and sent bytes over every interface but loopback (docker counts
/// the container's endpoints only).
pub fn net_dev(text: &str) -> (u64, u64) {
    let (mut rx, mut tx) = (0, 0);
    for l in text.lines().skip(2) {
        let Some((iface, rest)) = l.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// A container on the host's network has no endpoints of its own: docker
/// shows 0B / 0B for it.
fn shares_host_network(pid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ino = |p: String| std::fs::metadata(p).map(|m| m.ino()).ok();
    let mine = ino("/proc/self/ns/net".into());
    mine.is_some() && mine == ino(format!("/proc/{pid}/ns/net"))
}

fn host_memory() -> u64 {
    text(Path::new("/proc/meminfo"))
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// user+nice+system+idle+iowait+irq+softirq of /proc/stat, in ns.
fn system_cpu_ns() -> u64 {
    // SAFETY: sysconf only reads a system value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let stat = text(Path::new("/proc/stat"));
    let ticks: u64 = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(7)
                .map(|x| x.parse::<u64>().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    ticks * (1_000_000_000 / hz)
}

fn online_cpus() -> u32 {
    // SAFETY: sysconf only reads a system value.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    const GIB: u64 = 1 << 30;

    #[test]
    fn cgroup_v2_files() {
        let t = tempfile::tempdir().unwrap();
        let d = "system.slice/runr-abc.scope";
        write(
            t.path(),
            &format!("{d}/cpu.stat"),
            "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
        );
        write(t.path(), &format!("{d}/memory.current"), "1179648\n");
        write(
            t.path(),
            &format!("{d}/memory.stat"),
            "anon 700000\nfile 400000\ninactive_file 4096\nactive_file 0\n",
        );
        write(t.path(), &format!("{d}/memory.max"), "67108864\n");
        write(t.path(), &format!("{d}/io.stat"), "8:0 rbytes=4096 wbytes=1200000 rios=1 wios=3 dbytes=0 dios=0\n259:0 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
        write(t.path(), &format!("{d}/pids.current"), "3\n");
        let c = Cgroups::parse(&format!("0::/{d}\n"));
        let u = c.read(t.path(), 24 * GIB);
        assert_eq!(u.cpu_ns, 2_500_000);
        assert_eq!(u.mem, 1_175_552);
        assert_eq!(u.mem_limit, 64 << 20);
        assert_eq!((u.blk_read, u.blk_write), (4196, 1_200_000));
        assert_eq!(u.pids, 3);
        // No limit: the host's memory.
        write(t.path(), &format!("{d}/memory.max"), "max\n");
        assert_eq!(c.read(t.path(), 24 * GIB).mem_limit, 24 * GIB);
    }

    #[test]
    fn cgroup_v1_files_through_each_hierarchy() {
        let t = tempfile::tempdir().unwrap();
        let d = "rdock/abc";
        write(
            t.path(),
            &format!("cpu,cpuacct/{d}/cpuacct.usage"),
            "123456789\n",
        );
        write(
            t.path(),
            &format!("memory/{d}/memory.usage_in_bytes"),
            "2000000\n",
        );
        write(
            t.path(),
            &format!("memory/{d}/memory.stat"),
            "cache 100\ninactive_file 7\ntotal_inactive_file 1000000\n",
        );
        write(
            t.path(),
            &format!("memory/{d}/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        write(
            t.path(),
            &format!("blkio/{d}/blkio.io_service_bytes_recursive"),
            "Total 0\n",
        );
        write(
            t.path(),
            &format!("blkio/{d}/blkio.throttle.io_service_bytes_recursive"),
            "8:0 Read 8192\n8:0 Write 4096\n8:0 Sync 0\n8:0 Total 12288\n8:16 Read 10\nTotal 12298\n",
        );
        write(t.path(), &format!("pids/{d}/pids.current"), "2\n");
        let c = Cgroups::parse(&format!(
            "12:pids:/{d}\n5:blkio:/{d}\n4:memory:/{d}\n3:cpu,cpuacct:/{d}\n1:name=systemd:/x\n0::/\n"
        ));
        let u = c.read(t.path(), 24 * GIB);
        assert_eq!(u.cpu_ns, 123_456_789);
        assert_eq!(u.mem, 1_000_000);
        assert_eq!(u.mem_limit, 24 * GIB);
        assert_eq!((u.blk_read, u.blk_write), (8202, 4096));
        assert_eq!(u.pids, 2);
    }

    #[test]
    fn network_counts_all_but_loopback() {
        let dev = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n  eth0:    1296      16    0    0    0     0          0         0      796       8    0    0    0     0       0          0\n";
        assert_eq!(net_dev(dev), (1296, 796));
    }

    #[test]
    fn cpu_percent_as_docker() {
        let prev = Usage {
            cpu_ns: 1_000_000_000,
            system_ns: 100_000_000_000,
            online_cpus: 2,
            ..Usage::default()
        };
        let now = Usage {
            cpu_ns: 2_000_000_000,
            system_ns: 102_000_000_000,
            online_cpus: 2,
            ..Usage::default()
        };
        assert_eq!(format!("{:.2}", now.cpu_percent(&prev)), "100.00");
        assert_eq!(now.cpu_percent(&now), 0.0);
    }
}
