//! runr, a runc-compatible OCI runtime.
