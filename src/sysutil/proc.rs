//! Reading facts about host processes from /proc.

/// The parts of /proc/PID/stat that runr needs.
pub struct ProcStat {
    pub state: char,
    pub start_time: u64,
}

impl ProcStat {
    pub fn read(pid: i32) -> Option<ProcStat> {
        let data = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // comm may contain spaces and parentheses: fields start after the last ')'.
        let rest = &data[data.rfind(')')? + 2..];
        let mut fields = rest.split(' ');
        let state = fields.next()?.chars().next()?;
        // starttime is field 22 of the line; field 3 (state) was the first after ')'.
        let start_time = fields.nth(18)?.parse().ok()?;
        Some(ProcStat { state, start_time })
    }

    pub fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Every descendant of `pid` (children first, then theirs), from
/// /proc/PID/task/TID/children.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for k in kids.split_whitespace().filter_map(|k| k.parse().ok()) {
                if !found.contains(&k) {
                    found.push(k);
                    todo.push(k);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stat() {
        let st = ProcStat::read(std::process::id() as i32).unwrap();
        assert!(matches!(st.state, 'R' | 'S'));
        assert!(st.start_time > 0);
        assert!(ProcStat::read(i32::MAX).is_none());
    }

    #[test]
    fn finds_grandchildren() {
        let mut c = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while descendants(pid).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let d = descendants(pid);
        assert_eq!(d.len(), 1);
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(d[0]),
            nix::sys::signal::Signal::SIGKILL,
        );
        c.wait().unwrap();
    }
}

/// The calling process's cgroups from /proc/self/cgroup, one `(controllers,
/// path)` per line: controllers empty for the unified (v2) line, comma
/// separated or `name=...` for a v1 hierarchy.
pub fn own_cgroups() -> Vec<(String, std::path::PathBuf)> {
    let data = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    parse_cgroups(&data)
}

fn parse_cgroups(data: &str) -> Vec<(String, std::path::PathBuf)> {
    data.lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
            Some((ctrls.to_string(), std::path::PathBuf::from(path)))
        })
        .collect()
}

#[cfg(test)]
mod cgroup_tests {
    #[test]
    fn parses_hybrid_lines() {
        let v = super::parse_cgroups("12:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c:d\n");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].0, "cpu,cpuacct");
        assert_eq!(v[2], (String::new(), "/c:d".into()));
    }
}
