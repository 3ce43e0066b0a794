//! Architectures a filter can meet on this host, and their syscall numbers.

use oci_spec::runtime::Arch;

use super::syscalls;

/// AUDIT_ARCH_* values the kernel puts in seccomp_data.arch.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// x32 syscalls arrive as AUDIT_ARCH_X86_64 with this bit in the number.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI the kernel of this host can present to a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Abi {
    X86_64,
    X86,
    X32,
}

impl Abi {
    /// The ABIs this build's native kernel can run, native first.
    pub(super) const ALL: &'static [Abi] = &[Abi::X86_64, Abi::X86, Abi::X32];
    pub(super) const NATIVE: Abi = Abi::X86_64;

    pub(super) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::X86 => AUDIT_ARCH_I386,
        }
    }

    /// libseccomp compares only the low 32 bits of arguments on 32-bit ABIs.
    pub(super) fn has_64bit_args(self) -> bool {
        self == Abi::X86_64
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "SCMP_ARCH_X86_64",
            Abi::X86 => "SCMP_ARCH_X86",
            Abi::X32 => "SCMP_ARCH_X32",
        }
    }

    /// The syscall number of `name` on this ABI, if it has one.
    pub(super) fn syscall(self, name: &str) -> Option<u32> {
        let table = match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X86 => syscalls::I386,
            Abi::X32 => syscalls::X32,
        };
        table
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }

    /// Maps a profile architecture to an ABI of this host; `None` for
    /// architectures this kernel never reports (harmless to leave out).
    pub(super) fn from_spec(arch: Arch) -> Option<Abi> {
        match arch {
            Arch::ScmpArchNative => Some(Abi::NATIVE),
            Arch::ScmpArchX86_64 => Some(Abi::X86_64),
            Arch::ScmpArchX86 => Some(Abi::X86),
            Arch::ScmpArchX32 => Some(Abi::X32),
            _ => None,
        }
    }
}

/// Whether any architecture knows `name` (unknown names are profile errors).
pub(super) fn is_known_syscall(name: &str) -> bool {
    Abi::ALL.iter().any(|abi| abi.syscall(name).is_some())
        || syscalls::OTHER_ARCHES.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for table in [syscalls::X86_64, syscalls::I386, syscalls::X32] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert!(syscalls::OTHER_ARCHES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn syscall_numbers_differ_per_abi() {
        assert_eq!(Abi::X86_64.syscall("getpid"), Some(39));
        assert_eq!(Abi::X86.syscall("getpid"), Some(20));
        assert_eq!(Abi::X32.syscall("getpid"), Some(39 | X32_SYSCALL_BIT));
        assert_eq!(Abi::X86_64.syscall("socketcall"), None);
        assert_eq!(Abi::X86.syscall("socketcall"), Some(102));
        assert_eq!(Abi::X86_64.syscall("listmount"), Some(458));
    }

    #[test]
    fn names_from_other_architectures_are_known() {
        assert!(is_known_syscall("arm_fadvise64_64"));
        assert!(is_known_syscall("s390_pci_mmio_read"));
        assert!(!is_known_syscall("no_such_call"));
    }
}
