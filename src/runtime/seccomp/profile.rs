//! Reading a seccomp profile from JSON with errors that name the bad value.
//!
//! oci-spec's typed enums reject unknown names with a generic serde message;
//! checking the names first gives "unknown seccomp action \"SCMP_ACT_FOO\"".

use std::str::FromStr;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use serde_json::Value;

use super::SeccompError;

/// Parses the `linux.seccomp` object of a config.json.
pub fn parse_profile(value: &Value) -> Result<LinuxSeccomp, SeccompError> {
    check_names(value)?;
    serde_json::from_value(value.clone()).map_err(|e| SeccompError::InvalidProfile(e.to_string()))
}

fn check_names(v: &Value) -> Result<(), SeccompError> {
    let strings = |key: &str| -> Vec<&str> {
        match v.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    };
    if let Some(a) = v.get("defaultAction").and_then(Value::as_str) {
        check::<LinuxSeccompAction>(a, SeccompError::UnknownAction)?;
    }
    for a in strings("architectures") {
        check::<Arch>(a, SeccompError::UnknownArch)?;
    }
    for f in strings("flags") {
        check::<LinuxSeccompFilterFlag>(f, SeccompError::UnknownFlag)?;
    }
    for rule in v
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = rule.get("action").and_then(Value::as_str) {
            check::<LinuxSeccompAction>(a, SeccompError::UnknownAction)?;
        }
        for arg in rule
            .get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(op) = arg.get("op").and_then(Value::as_str) {
                check::<LinuxSeccompOperator>(op, SeccompError::UnknownOperator)?;
            }
        }
    }
    Ok(())
}

fn check<T: FromStr>(name: &str, err: fn(String) -> SeccompError) -> Result<(), SeccompError> {
    T::from_str(name)
        .map(drop)
        .map_err(|_| err(name.to_string()))
}
