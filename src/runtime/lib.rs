//! runr, a runc-compatible OCI runtime.
//!
//! The path of `create`: `cli` (grammar) → `commands::create` → `launch`
//! (spec, state, namespaces, clone, cgroups, hooks) → `init` in the child
//! (rootfs, mounts, devices, console, process, capabilities, seccomp, exec).

pub mod capabilities;
pub mod cgroup_join;
pub mod cgroup_v1;
pub mod cgroupfs;
pub mod cgroups;
pub mod console;
pub mod copyup;
pub mod device_filter;
pub mod devices;
pub mod exe_guard;
pub mod exec;
pub mod exec_init;
pub mod foreground;
pub mod fsutil;
pub mod hooks;
pub mod idmap;
pub mod idmount;
pub mod init;
pub mod intel_rdt;
pub mod kernel_attrs;
pub mod launch;
pub mod lifecycle;
pub mod lsm;
pub mod mounts;
pub mod namespaces;
pub mod net_devices;
pub mod pending;
pub mod process;
pub mod rootfs;
pub mod rootless;
pub mod seccomp;
pub mod signals;
pub mod spawn;
pub mod spec;
pub mod spec_template;
pub mod state;
pub mod sync;
pub mod timefmt;
