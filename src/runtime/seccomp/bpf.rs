//! A tiny classic-BPF assembler with labels.
//!
//! Conditional BPF jumps reach at most 255 instructions ahead. Code is written
//! against labels, and the assembler relaxes any conditional jump whose target
//! is too far into a short jump to a trampoline `ja` (32-bit offset) placed
//! right after it, so generators never count instructions.

use libc::sock_filter;

// Classic BPF opcodes used by seccomp filters (linux/bpf_common.h).
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS
const BPF_ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
const BPF_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Condition of a conditional jump (BPF_JMP | op | BPF_K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cond {
    Eq = 0x15,
    Gt = 0x25,
    Ge = 0x35,
    Set = 0x45,
}

/// A jump target: the next instruction or a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Next,
    Label(Label),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Op {
    Load(u32),
    And(u32),
    Ret(u32),
    Jump(Label),
    Branch {
        cond: Cond,
        k: u32,
        jt: Target,
        jf: Target,
    },
    Bind(Label),
}

/// A program under construction.
#[derive(Default)]
pub(super) struct Asm {
    ops: Vec<Op>,
    labels: usize,
}

impl Asm {
    pub(super) fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// Places `label` at the current position.
    pub(super) fn bind(&mut self, label: Label) {
        self.ops.push(Op::Bind(label));
    }

    /// A = 32-bit word at `offset` in seccomp_data.
    pub(super) fn load(&mut self, offset: u32) {
        self.ops.push(Op::Load(offset));
    }

    pub(super) fn and(&mut self, k: u32) {
        self.ops.push(Op::And(k));
    }

    pub(super) fn ret(&mut self, k: u32) {
        self.ops.push(Op::Ret(k));
    }

    pub(super) fn jump(&mut self, to: Label) {
        self.ops.push(Op::Jump(to));
    }

    pub(super) fn branch(&mut self, cond: Cond, k: u32, jt: Target, jf: Target) {
        self.ops.push(Op::Branch { cond, k, jt, jf });
    }

    /// Resolves labels into a kernel-ready program.
    pub(super) fn assemble(&self) -> Vec<sock_filter> {
        // long[i] = (jt needs a trampoline, jf needs a trampoline) for op i.
        let mut long = vec![(false, false); self.ops.len()];
        loop {
            let (pos, labels) = self.layout(&long);
            let mut changed = false;
            for (i, op) in self.ops.iter().enumerate() {
                if let Op::Branch { jt, jf, .. } = *op {
                    let base = pos[i] + 1 + usize::from(long[i].0) + usize::from(long[i].1);
                    let too_far = |t: Target| match t {
                        Target::Label(l) => labels[l.0] - base > 255,
                        Target::Next => false,
                    };
                    let (t, f) = long[i];
                    long[i] = (t || too_far(jt), f || too_far(jf));
                    changed |= long[i] != (t, f);
                }
            }
            if !changed {
                return self.emit(&long, &pos, &labels);
            }
        }
    }

    /// Instruction index of every op and label, given which jumps are long.
    fn layout(&self, long: &[(bool, bool)]) -> (Vec<usize>, Vec<usize>) {
        let mut pos = Vec::with_capacity(self.ops.len());
        let mut labels = vec![usize::MAX; self.labels];
        let mut at = 0;
        for (i, op) in self.ops.iter().enumerate() {
            pos.push(at);
            at += match op {
                Op::Bind(l) => {
                    labels[l.0] = at;
                    0
                }
                Op::Branch { .. } => 1 + usize::from(long[i].0) + usize::from(long[i].1),
                _ => 1,
            };
        }
        (pos, labels)
    }

    fn emit(&self, long: &[(bool, bool)], pos: &[usize], labels: &[usize]) -> Vec<sock_filter> {
        let insn = |code: u16, jt: u8, jf: u8, k: u32| sock_filter { code, jt, jf, k };
        let mut out = Vec::with_capacity(pos.last().map_or(0, |p| p + 3));
        for (i, op) in self.ops.iter().enumerate() {
            let next = pos[i] + 1;
            match *op {
                Op::Bind(_) => {}
                Op::Load(off) => out.push(insn(BPF_LD_W_ABS, 0, 0, off)),
                Op::And(k) => out.push(insn(BPF_ALU_AND_K, 0, 0, k)),
                Op::Ret(k) => out.push(insn(BPF_RET_K, 0, 0, k)),
                Op::Jump(l) => out.push(insn(BPF_JA, 0, 0, (labels[l.0] - next) as u32)),
                Op::Branch { cond, k, jt, jf } => {
                    let (long_t, long_f) = long[i];
                    let after = next + usize::from(long_t) + usize::from(long_f);
                    let resolve = |t: Target| match t {
                        Target::Next => after,
                        Target::Label(l) => labels[l.0],
                    };
                    // Trampolines sit right after the branch: jt's first, then jf's.
                    let off_t = if long_t { 0 } else { resolve(jt) - next };
                    let off_f = if long_f {
                        usize::from(long_t)
                    } else {
                        resolve(jf) - next
                    };
                    out.push(insn(cond as u16, off_t as u8, off_f as u8, k));
                    if long_t {
                        out.push(insn(BPF_JA, 0, 0, (resolve(jt) - out.len() - 1) as u32));
                    }
                    if long_f {
                        out.push(insn(BPF_JA, 0, 0, (resolve(jf) - out.len() - 1) as u32));
                    }
                }
            }
        }
        out
    }
}

/// Runs a program over one seccomp_data the way the kernel would; for tests.
#[cfg(test)]
pub(super) fn run(prog: &[sock_filter], data: &[u8; 64]) -> u32 {
    let word = |off: u32| {
        let o = off as usize;
        u32::from_ne_bytes(data[o..o + 4].try_into().unwrap())
    };
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            BPF_LD_W_ABS => a = word(i.k),
            BPF_ALU_AND_K => a &= i.k,
            BPF_RET_K => return i.k,
            BPF_JA => pc += i.k as usize,
            code => {
                let taken = match code {
                    c if c == Cond::Eq as u16 => a == i.k,
                    c if c == Cond::Gt as u16 => a > i.k,
                    c if c == Cond::Ge as u16 => a >= i.k,
                    c if c == Cond::Set as u16 => a & i.k != 0,
                    _ => panic!("unknown opcode {code:#x}"),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_branches_get_trampolines() {
        let mut asm = Asm::default();
        let far = asm.label();
        asm.load(0);
        asm.branch(Cond::Eq, 7, Target::Label(far), Target::Next);
        for _ in 0..300 {
            asm.ret(1);
        }
        asm.bind(far);
        asm.ret(2);
        let prog = asm.assemble();
        assert_eq!(prog.len(), 304, "one trampoline added");
        let mut data = [0u8; 64];
        assert_eq!(run(&prog, &data), 1);
        data[0] = 7;
        assert_eq!(run(&prog, &data), 2);
    }
}
