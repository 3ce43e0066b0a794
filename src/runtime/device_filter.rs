//! The cgroup v2 device controller is an eBPF program: a
//! BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup decides every
//! open and mknod of a device node. This module builds one from the spec's
//! ordered allow/deny rules (the last rule that matches wins, and a request
//! no rule matches is allowed, as with the v1 lists, which start from the
//! parent's allow-all: clients put a deny-all rule first), loads it, attaches it with
//! BPF_F_ALLOW_MULTI and detaches any program attached before (on `update`).
//! Written from the kernel's documentation of the program type.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{bail, Context, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// `struct bpf_insn`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// Opcodes (class | op | source) used here.
const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV32_X: u8 = 0xbc;
const AND32_K: u8 = 0x54;
const RSH32_K: u8 = 0x74;
const MOV64_K: u8 = 0xb7;
const JNE_K: u8 = 0x55;
const JNE_X: u8 = 0x5d;
const EXIT: u8 = 0x95;

// Registers: r1 = ctx, then minor; r2 access_type; r3 device type; r4 access; r5 major.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

// struct bpf_cgroup_dev_ctx: access_type = access << 16 | type, major, minor.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn access_mask(s: &str) -> Result<i32> {
    let mut m = 0;
    for c in s.chars() {
        m |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => bail!("invalid device access {s:?}"),
        };
    }
    Ok(if m == 0 {
        ACC_READ | ACC_WRITE | ACC_MKNOD
    } else {
        m
    })
}

/// The program for `rules`, in order; the last matching rule decides, none
/// matching allows.
pub fn generate(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>> {
    let mut p = vec![
        insn(LDX_W, R2, R1, 0, 0),
        insn(LDX_W, R5, R1, 4, 0),
        insn(LDX_W, R1, R1, 8, 0),
        insn(MOV32_X, R3, R2, 0, 0),
        insn(AND32_K, R3, 0, 0, 0xffff),
        insn(MOV32_X, R4, R2, 0, 0),
        insn(RSH32_K, R4, 0, 0, 16),
    ];
    // Checked last to first, so the first match found is the last in the list.
    for r in rules.iter().rev() {
        let mut block = Vec::new();
        let typ = match r.typ() {
            None | Some(LinuxDeviceType::A) => None,
            Some(LinuxDeviceType::B) => Some(DEV_BLOCK),
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Some(DEV_CHAR),
            // fifos are not device nodes: no request ever matches.
            Some(LinuxDeviceType::P) => continue,
        };
        if let Some(t) = typ {
            block.push(insn(JNE_K, R3, 0, 0, t));
        }
        let acc = access_mask(r.access().as_deref().unwrap_or(""))?;
        if acc != ACC_READ | ACC_WRITE | ACC_MKNOD {
            // Matches only when every requested access is in the rule's.
            block.push(insn(MOV32_X, R0, R4, 0, 0));
            block.push(insn(AND32_K, R0, 0, 0, acc));
            block.push(insn(JNE_X, R0, R4, 0, 0));
        }
        for (reg, v) in [(R5, r.major()), (R1, r.minor())] {
            match v {
                Some(n) if n >= 0 => {
                    let n = i32::try_from(n).context("device number out of range")?;
                    block.push(insn(JNE_K, reg, 0, 0, n));
                }
                _ => {} // absent or -1: any
            }
        }
        block.push(insn(MOV64_K, R0, 0, 0, r.allow() as i32));
        block.push(insn(EXIT, 0, 0, 0, 0));
        // Every test jumps past the end of its block.
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JNE_X {
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
        if len == 2 {
            // Matches everything: the earlier rules and the default are
            // unreachable, and the verifier refuses unreachable code.
            return Ok(p);
        }
    }
    p.push(insn(MOV64_K, R0, 0, 0, 1));
    p.push(insn(EXIT, 0, 0, 0, 0));
    Ok(p)
}

const BPF_PROG_LOAD: i32 = 5;
const BPF_PROG_ATTACH: i32 = 8;
const BPF_PROG_DETACH: i32 = 9;
const BPF_PROG_GET_FD_BY_ID: i32 = 13;
const BPF_PROG_QUERY: i32 = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

fn bpf<T>(cmd: i32, attr: &mut T) -> std::io::Result<i64> {
    // SAFETY: attr is a live, fully initialised bpf_attr prefix of the given size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as u32,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdById {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

pub fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"runr_devices");
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: BPF_PROG_LOAD returns a new fd that nobody else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(0);
            let verifier = String::from_utf8_lossy(&log[..end]);
            bail!("loading the device filter: {e}: {}", verifier.trim())
        }
    }
}

/// Attaches a program for `rules` to the cgroup v2 directory `dir`, then
/// detaches whatever device programs were attached before it.
pub fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let prog = load(&generate(rules)?)?;
    let cg = std::fs::File::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    let old =
        attached(&cg).with_context(|| format!("querying device programs of {}", dir.display()))?;
    let mut attr = ProgAttach {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .with_context(|| format!("attaching the device filter to {}", dir.display()))?;
    // Both run until the old ones go: the more restrictive wins meanwhile.
    for id in old {
        let mut get = GetFdById {
            id,
            ..Default::default()
        };
        let Ok(fd) = bpf(BPF_PROG_GET_FD_BY_ID, &mut get) else {
            continue;
        };
        // SAFETY: BPF_PROG_GET_FD_BY_ID returns a new fd that nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let mut detach = ProgAttach {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        bpf(BPF_PROG_DETACH, &mut detach)
            .with_context(|| format!("detaching an old device filter from {}", dir.display()))?;
    }
    Ok(())
}

/// Ids of the device programs attached to the cgroup itself.
fn attached(cg: &std::fs::File) -> std::io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut q = ProgQuery {
        target_fd: cg.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut q)?;
    ids.truncate(q.prog_cnt as usize);
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> LinuxDeviceCgroup {
        serde_json::from_str(json).unwrap()
    }

    /// Runs the program on a request the way the kernel would (the subset
    /// of eBPF we emit), so the rule semantics are tested without a kernel.
    fn eval(p: &[Insn], typ: i32, access: i32, major: i32, minor: i32) -> i64 {
        let ctx = [((access << 16) | typ) as u32, major as u32, minor as u32];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = ctx[(i.off / 4) as usize] as u64,
                MOV32_X => r[dst] = r[src] as u32 as u64,
                AND32_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                RSH32_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                MOV64_K => r[dst] = i.imm as i64 as u64,
                JNE_K if r[dst] != i.imm as i64 as u64 => pc += i.off as usize,
                JNE_X if r[dst] != r[src] => pc += i.off as usize,
                JNE_K | JNE_X => {}
                EXIT => return r[0] as i64,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn last_matching_rule_wins_and_unmatched_is_allowed() {
        let rules = [
            rule(r#"{"allow":false,"access":"rwm"}"#),
            rule(r#"{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}"#),
            rule(r#"{"allow":true,"type":"c","major":1,"minor":5,"access":"r"}"#),
            rule(r#"{"allow":true,"type":"c","major":136,"access":"rw"}"#),
            rule(r#"{"allow":false,"type":"c","major":136,"minor":7}"#),
        ];
        let p = generate(&rules).unwrap();
        let (r, w, m) = (ACC_READ, ACC_WRITE, ACC_MKNOD);
        assert_eq!(eval(&p, DEV_CHAR, r | w, 1, 3), 1, "null rw");
        assert_eq!(eval(&p, DEV_CHAR, m, 1, 3), 1, "null mknod");
        assert_eq!(eval(&p, DEV_CHAR, r, 1, 5), 1, "zero r");
        assert_eq!(eval(&p, DEV_CHAR, r | w, 1, 5), 0, "zero rw");
        assert_eq!(eval(&p, DEV_BLOCK, r, 1, 3), 0, "block 1:3");
        assert_eq!(eval(&p, DEV_CHAR, w, 136, 2), 1, "pts 2");
        assert_eq!(eval(&p, DEV_CHAR, w, 136, 7), 0, "pts 7 denied later");
        assert_eq!(eval(&p, DEV_CHAR, m, 136, 2), 0, "pts mknod");
        assert_eq!(eval(&p, DEV_CHAR, r, 8, 0), 0, "unlisted");
        let allow_all = generate(&[rule(r#"{"allow":true}"#)]).unwrap();
        assert_eq!(eval(&allow_all, DEV_BLOCK, r | w | m, 8, 0), 1);
        let deny_full =
            generate(&[rule(r#"{"allow":false,"type":"c","major":1,"minor":7}"#)]).unwrap();
        assert_eq!(eval(&deny_full, DEV_CHAR, r, 1, 7), 0);
        assert_eq!(eval(&deny_full, DEV_CHAR, r, 1, 3), 1);
    }

    #[test]
    fn bad_access_is_refused() {
        assert!(generate(&[rule(r#"{"allow":true,"access":"rx"}"#)]).is_err());
    }
}
