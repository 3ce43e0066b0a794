//! Per-process kernel attributes the spec can ask for: `process.scheduler`
//! (sched_setattr), `process.ioPriority` (ioprio_set), `linux.personality`
//! and `linux.memoryPolicy` (set_mempolicy). Checked and encoded before fork
//! (bad values fail before anything exists), applied by the container's init
//! and by `exec` while runr still holds its capabilities, before seccomp.

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{
    IOPriorityClass, Linux, LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy,
    MemoryPolicyFlagType, MemoryPolicyModeType, Process, Scheduler,
};

/// Encoded and ready: the child only makes syscalls.
#[derive(Default)]
pub struct KernelAttrs {
    sched: Option<SchedAttr>,
    ioprio: Option<i32>,
    personality: Option<libc::c_ulong>,
    mempolicy: Option<MemPolicy>,
}

/// `struct sched_attr` of sched_setattr(2), SCHED_ATTR_SIZE_VER1.
#[repr(C)]
#[derive(Default, Debug, PartialEq)]
pub struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

struct MemPolicy {
    mode: i32,
    mask: Vec<libc::c_ulong>,
    maxnode: libc::c_ulong,
}

impl KernelAttrs {
    /// Nothing to do (and no work done) when none of the fields is set.
    pub fn resolve(process: &Process, linux: Option<&Linux>) -> Result<KernelAttrs> {
        let mut a = KernelAttrs::default();
        if let Some(s) = process.scheduler() {
            a.sched = Some(sched_attr(s).context("process.scheduler")?);
        }
        if let Some(io) = process.io_priority() {
            a.ioprio = Some(ioprio(io.class(), io.priority()).context("process.ioPriority")?);
        }
        if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
            if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
                bail!("linux.personality: flags are not supported (the runtime-spec defines none)");
            }
            a.personality = Some(match p.domain() {
                LinuxPersonalityDomain::PerLinux => 0x0000,
                LinuxPersonalityDomain::PerLinux32 => 0x0008,
            });
        }
        if let Some(m) = linux.and_then(|l| l.memory_policy().as_ref()) {
            a.mempolicy = Some(
                mempolicy(m.mode(), m.nodes().as_deref(), m.flags().as_deref())
                    .context("linux.memoryPolicy")?,
            );
        }
        Ok(a)
    }

    pub fn apply(&self) -> Result<()> {
        if let Some(p) = self.personality {
            // SAFETY: personality(2) only changes a flag word of this process.
            if unsafe { libc::personality(p) } < 0 {
                return Err(std::io::Error::last_os_error()).context("setting personality");
            }
        }
        if let Some(m) = &self.mempolicy {
            // SAFETY: the mask holds at least maxnode - 1 bits and outlives the call.
            let r = unsafe {
                libc::syscall(libc::SYS_set_mempolicy, m.mode, m.mask.as_ptr(), m.maxnode)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error()).context("set_mempolicy");
            }
        }
        if let Some(s) = &self.sched {
            // SAFETY: s is a complete sched_attr whose size field says so; the kernel copies it.
            let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, s as *const SchedAttr, 0) };
            if r < 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("sched_setattr (policy {})", s.policy));
            }
        }
        if let Some(v) = self.ioprio {
            const IOPRIO_WHO_PROCESS: i32 = 1;
            // SAFETY: ioprio_set takes plain integers.
            let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) };
            if r < 0 {
                return Err(std::io::Error::last_os_error()).context("ioprio_set");
            }
        }
        Ok(())
    }
}

/// The checks runc makes, then the encoding.
pub fn sched_attr(s: &Scheduler) -> Result<SchedAttr> {
    use LinuxSchedulerPolicy as P;
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => bail!("policy SCHED_ISO is not supported by Linux"),
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        bail!("nice {nice} is outside -20..19");
    }
    let priority = s.priority().unwrap_or(0);
    let realtime = matches!(s.policy(), P::SchedFifo | P::SchedRr);
    if realtime && !(1..=99).contains(&priority) {
        bail!("priority {priority} is outside 1..99 for {}", s.policy());
    }
    if !realtime && priority != 0 {
        bail!("priority must be 0 for {}", s.policy());
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if *s.policy() == P::SchedDeadline {
        if runtime == 0 || deadline == 0 {
            bail!("SCHED_DEADLINE needs runtime and deadline");
        }
        if runtime > deadline || (period != 0 && deadline > period) {
            bail!("SCHED_DEADLINE needs runtime <= deadline <= period");
        }
    } else if runtime != 0 || deadline != 0 || period != 0 {
        bail!("runtime, deadline and period are only for SCHED_DEADLINE");
    }
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
        util_min: 0,
        // With UTIL_CLAMP_MAX and no value given, no clamping.
        util_max: 1024,
    })
}

/// ioprio_set's value: class in the top bits, level 0..7 in the low ones.
pub fn ioprio(class: IOPriorityClass, priority: i64) -> Result<i32> {
    let class = match class {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&priority) {
        bail!("priority {priority} is outside 0..7");
    }
    Ok((class << 13) | priority as i32)
}

fn mempolicy(
    mode: MemoryPolicyModeType,
    nodes: Option<&str>,
    flags: Option<&[MemoryPolicyFlagType]>,
) -> Result<MemPolicy> {
    use MemoryPolicyModeType as M;
    let mut m = match mode {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    };
    let nodes = parse_nodes(nodes.unwrap_or(""))?;
    let no_nodes = matches!(mode, M::MpolDefault | M::MpolLocal);
    if no_nodes && !nodes.is_empty() {
        bail!("mode {mode} takes no nodes");
    }
    if !no_nodes && mode != M::MpolPreferred && nodes.is_empty() {
        bail!("mode {mode} needs nodes");
    }
    for f in flags.into_iter().flatten() {
        m |= match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        };
    }
    let bits = libc::c_ulong::BITS as usize;
    let top = nodes.iter().max().map_or(0, |n| n + 1);
    let mut mask = vec![0; top.div_ceil(bits).max(1)];
    for n in &nodes {
        mask[n / bits] |= 1 << (n % bits);
    }
    Ok(MemPolicy {
        mode: m,
        // The kernel reads maxnode - 1 bits.
        maxnode: (mask.len() * bits + 1) as libc::c_ulong,
        mask,
    })
}

/// `0-2,5` into node numbers.
fn parse_nodes(s: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |v: &str| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n < 4096)
                .with_context(|| format!("invalid node {v:?} in nodes {s:?}"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    bail!("invalid node range {part:?}");
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(json: &str) -> Result<SchedAttr> {
        sched_attr(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn scheduler_is_checked_like_runc() {
        let a =
            sched(r#"{"policy":"SCHED_BATCH","nice":5,"flags":["SCHED_RESET_ON_FORK"]}"#).unwrap();
        assert_eq!((a.policy, a.nice, a.flags, a.size), (3, 5, 1, 56));
        assert_eq!(
            sched(r#"{"policy":"SCHED_FIFO","priority":10}"#)
                .unwrap()
                .priority,
            10
        );
        for bad in [
            r#"{"policy":"SCHED_FIFO"}"#,
            r#"{"policy":"SCHED_OTHER","priority":3}"#,
            r#"{"policy":"SCHED_OTHER","nice":30}"#,
            r#"{"policy":"SCHED_ISO"}"#,
            r#"{"policy":"SCHED_DEADLINE","runtime":20,"deadline":10}"#,
            r#"{"policy":"SCHED_OTHER","runtime":20}"#,
        ] {
            assert!(sched(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ioprio_encodes_class_and_level() {
        assert_eq!(
            ioprio(IOPriorityClass::IoprioClassBe, 4).unwrap(),
            (2 << 13) | 4
        );
        assert!(ioprio(IOPriorityClass::IoprioClassIdle, 8).is_err());
    }

    #[test]
    fn nodes_parse_into_a_mask() {
        assert_eq!(parse_nodes("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_nodes("3-1").is_err());
        assert!(parse_nodes("x").is_err());
        let m = mempolicy(MemoryPolicyModeType::MpolBind, Some("0,65"), None).unwrap();
        assert_eq!(m.mask, vec![1, 2]);
        assert_eq!(m.maxnode, 129);
        assert!(mempolicy(MemoryPolicyModeType::MpolBind, None, None).is_err());
        assert!(mempolicy(MemoryPolicyModeType::MpolLocal, Some("0"), None).is_err());
    }
}
