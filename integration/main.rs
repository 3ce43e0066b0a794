//! runr's conformance suite: real containers, run by the runtime under test
//! (`$RUNR_TEST_RUNTIME`, default this package's runr). See README.md.

mod common;

mod bad_input;
mod checker_config;
mod cleanup;
mod commands;
mod compare;
mod confinement;
mod crash;
mod cve;
mod device_filter;
mod hooks;
mod hostile_config;
mod kernel_attrs;
mod lifecycle;
mod net_devices;
mod process_setup;
mod rootless;
mod userns;
