//! /proc/self/mountinfo, parsed (proc(5)).

#[derive(Debug, Clone)]
pub struct Mount {
    /// Path inside the mounted filesystem that is the root of this mount.
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (ro, nosuid, nodev, noexec, relatime, ...).
    pub mount_options: Vec<String>,
    /// Propagation fields: shared:N, master:N, propagate_from:N, unbindable.
    pub optional: Vec<String>,
    pub fs_type: String,
    /// Per-superblock options (size=, mode=, ...).
    pub super_options: Vec<String>,
}

impl Mount {
    pub fn has_option(&self, opt: &str) -> bool {
        self.mount_options.iter().any(|o| o == opt)
    }

    /// "shared", "slave", "private" or "unbindable", from the optional fields.
    pub fn propagation(&self) -> &'static str {
        if self.optional.iter().any(|o| o == "unbindable") {
            "unbindable"
        } else if self.optional.iter().any(|o| o.starts_with("shared:")) {
            "shared"
        } else if self.optional.iter().any(|o| o.starts_with("master:")) {
            "slave"
        } else {
            "private"
        }
    }
}

/// Undoes the octal escapes (\040 for space, ...) of mountinfo fields.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(v) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn read() -> Result<Vec<Mount>, String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("reading /proc/self/mountinfo: {e}"))?;
    Ok(text.lines().filter_map(parse_line).collect())
}

fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    if sep < 6 || fields.len() < sep + 4 {
        return None;
    }
    Some(Mount {
        root: unescape(fields[3]),
        mount_point: unescape(fields[4]),
        mount_options: fields[5].split(',').map(str::to_string).collect(),
        optional: fields[6..sep].iter().map(|f| f.to_string()).collect(),
        fs_type: fields[sep + 1].to_string(),
        super_options: fields[sep + 3].split(',').map(str::to_string).collect(),
    })
}

/// The mount that is visible at `path` (the last one mounted there).
pub fn at<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let path = normalize(path);
    mounts.iter().rev().find(|m| m.mount_point == path)
}

/// The mount that contains `path` (longest mount point prefix).
pub fn containing<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let path = normalize(path);
    let mut best: Option<&Mount> = None;
    for m in mounts.iter() {
        let mp = m.mount_point.as_str();
        let inside = path == mp || mp == "/" || path.starts_with(&format!("{mp}/"));
        if inside && best.is_none_or(|b| mp.len() >= b.mount_point.len()) {
            best = Some(m);
        }
    }
    best
}

pub fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_line_with_optional_fields_and_escapes() {
        let m = parse_line(
            "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(m.mount_point, "/mnt x");
        assert_eq!(m.fs_type, "ext3");
        assert!(m.has_option("noatime"));
        assert_eq!(m.propagation(), "slave");
    }
}
