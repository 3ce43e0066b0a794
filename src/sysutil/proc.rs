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
