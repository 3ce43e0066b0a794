//! rdock: the `runr` OCI runtime and the `rdock` frontend.
pub mod runtime;
