//! rdock: the `runr` OCI runtime and the `rdock` frontend.
pub mod image;
pub mod rdock;
pub mod runtime;
