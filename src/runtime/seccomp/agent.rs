//! Handing a seccomp notification listener to the agent at `listenerPath`.
//!
//! As the runtime spec describes: connect to the agent's unix socket and send
//! one message whose payload is the JSON ContainerProcessState and whose
//! SCM_RIGHTS control data carries the fds listed in its `fds` field.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde_json::{json, Value};

use super::SeccompError;

/// Name of the listener fd in ContainerProcessState.fds.
const SECCOMP_FD_NAME: &str = "seccompFd";

/// Runtime spec version used when the state carries none.
const DEFAULT_OCI_VERSION: &str = "1.2.1";

/// Sends `listener` and the container process state to the seccomp agent.
///
/// `state_json` is the container's state (ociVersion, id, status, pid,
/// bundle, annotations); `metadata` is `listenerMetadata`; `pid` is the
/// container process as seen by the runtime.
pub fn send_listener(
    listener_path: &Path,
    listener: BorrowedFd,
    state_json: &Value,
    metadata: &str,
    pid: i32,
) -> Result<(), SeccompError> {
    let err = |source| SeccompError::Agent {
        path: listener_path.to_path_buf(),
        source,
    };
    let message = process_state(state_json, metadata, pid);
    let payload = serde_json::to_vec(&message).map_err(|e| err(e.into()))?;
    let socket =
        UnixStream::connect(listener_path).map_err(|source| SeccompError::AgentConnect {
            path: listener_path.to_path_buf(),
            source,
        })?;
    let fds = [listener.as_raw_fd()];
    let sent = sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(&payload)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| err(e.into()))?;
    if sent != payload.len() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write: {sent} of {} bytes", payload.len()),
        )));
    }
    Ok(())
}

/// The ContainerProcessState message of the runtime spec.
fn process_state(state: &Value, metadata: &str, pid: i32) -> Value {
    let version = state
        .get("ociVersion")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_OCI_VERSION);
    let mut message = json!({
        "ociVersion": version,
        "fds": [SECCOMP_FD_NAME],
        "pid": pid,
        "state": state,
    });
    if !metadata.is_empty() {
        message["metadata"] = Value::String(metadata.to_string());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_state_has_the_spec_shape() {
        let state = json!({"ociVersion": "1.2.0", "id": "c1", "status": "creating",
                           "pid": 42, "bundle": "/b"});
        let m = process_state(&state, "MKNOD=/dev/null", 42);
        assert_eq!(m["ociVersion"], "1.2.0");
        assert_eq!(m["fds"], json!(["seccompFd"]));
        assert_eq!(m["pid"], 42);
        assert_eq!(m["metadata"], "MKNOD=/dev/null");
        assert_eq!(m["state"]["id"], "c1");
        assert!(process_state(&state, "", 1).get("metadata").is_none());
    }
}
