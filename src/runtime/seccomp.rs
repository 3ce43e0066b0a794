//! Placeholder until the seccomp translation lands.
use std::os::fd::OwnedFd;

pub struct SeccompProgram;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp is not supported yet")]
    Unsupported,
}

pub fn compile(_s: &oci_spec::runtime::LinuxSeccomp) -> Result<SeccompProgram, SeccompError> {
    log::warn!("seccomp profile ignored: not supported yet");
    Ok(SeccompProgram)
}

impl SeccompProgram {
    pub fn uses_notify(&self) -> bool {
        false
    }
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        Ok(None)
    }
}
