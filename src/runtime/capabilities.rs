//! The five capability sets, applied around the uid change in runc's order:
//! bounding first, keep caps across setuid, then effective/permitted/inheritable, then ambient.
//!
//! A capability runr itself does not hold cannot be granted. As runc 1.1 and
//! later do (the kernel refuses the capset), asking for one in effective,
//! permitted or inheritable is an error, here one that names it; in bounding
//! and ambient it is skipped with a warning (runc skips it silently).

use std::collections::HashSet;

use anyhow::{bail, Context, Result};
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

/// The sets resolved before fork, so the child only makes syscalls.
pub struct CapSets {
    pub bounding: Option<CapsHashSet>,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
}

/// Whether a capability missing from runr's bounding set fails the container
/// (`Grant`) or is skipped with a warning (`Limit`).
#[derive(Clone, Copy, PartialEq)]
enum Missing {
    Grant,
    Limit,
}

fn convert(
    set: &Option<Capabilities>,
    field: &str,
    missing: Missing,
    available: &CapsHashSet,
) -> Result<CapsHashSet> {
    let mut out = HashSet::new();
    for c in set.iter().flatten() {
        let name = format!("CAP_{c}");
        let cap: Capability = name.parse().map_err(|_| {
            anyhow::anyhow!("process.capabilities.{field}: unknown capability {name:?}")
        })?;
        if available.contains(&cap) {
            out.insert(cap);
        } else if missing == Missing::Grant {
            bail!(
                "process.capabilities.{field}: {name} is not in runr's own bounding set, so it cannot be granted"
            );
        } else {
            log::warn!("process.capabilities.{field}: {name} is not in runr's own bounding set; skipping it");
        }
    }
    Ok(out)
}

pub fn resolve(c: Option<&LinuxCapabilities>) -> Result<CapSets> {
    let available = caps::read(None, CapSet::Bounding).context("reading own bounding set")?;
    let Some(c) = c else {
        let none = CapsHashSet::new();
        return Ok(CapSets {
            bounding: Some(none.clone()),
            effective: none.clone(),
            permitted: none.clone(),
            inheritable: none.clone(),
            ambient: none,
        });
    };
    let av = &available;
    Ok(CapSets {
        bounding: Some(convert(c.bounding(), "bounding", Missing::Limit, av)?),
        effective: convert(c.effective(), "effective", Missing::Grant, av)?,
        permitted: convert(c.permitted(), "permitted", Missing::Grant, av)?,
        inheritable: convert(c.inheritable(), "inheritable", Missing::Grant, av)?,
        ambient: convert(c.ambient(), "ambient", Missing::Limit, av)?,
    })
}

/// Names in `process.capabilities` checked in the raw JSON, so that an
/// unknown one is refused with the set it is in (the typed spec's parse
/// error names neither). Accepts what oci-spec accepts: any case, with or
/// without `CAP_`.
pub fn validate_names(capabilities: &serde_json::Value) -> Result<()> {
    let Some(sets) = capabilities.as_object() else {
        return Ok(());
    };
    for (field, list) in sets {
        for v in list.as_array().into_iter().flatten() {
            let Some(raw) = v.as_str() else {
                bail!("process.capabilities.{field}: {v} is not a capability name");
            };
            let mut bare = raw.to_uppercase();
            while let Some(rest) = bare.strip_prefix("CAP_") {
                bare = rest.to_string();
            }
            if format!("CAP_{bare}").parse::<Capability>().is_err() {
                bail!("process.capabilities.{field}: unknown capability {raw:?}");
            }
        }
    }
    Ok(())
}

/// Drops from the bounding set everything not asked for (needs CAP_SETPCAP, so first).
pub fn apply_bounding(s: &CapSets) -> Result<()> {
    let Some(keep) = &s.bounding else {
        return Ok(());
    };
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .with_context(|| format!("dropping {cap} from the bounding set"))?;
        }
    }
    Ok(())
}

pub fn apply_sets(s: &CapSets) -> Result<()> {
    // Inheritable while CAP_SETPCAP is still effective; effective before
    // permitted so that effective is always a subset of permitted.
    caps::set(None, CapSet::Inheritable, &s.inheritable)
        .context("setting inheritable capabilities")?;
    caps::set(None, CapSet::Effective, &s.effective).context("setting effective capabilities")?;
    caps::set(None, CapSet::Permitted, &s.permitted).context("setting permitted capabilities")?;
    caps::clear(None, CapSet::Ambient).context("clearing ambient capabilities")?;
    for cap in &s.ambient {
        // Ambient needs the cap in both permitted and inheritable; runc skips others.
        if let Err(e) = caps::raise(None, CapSet::Ambient, *cap) {
            log::debug!("cannot raise ambient capability {cap}: {e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_refused_with_their_set() {
        let ok = serde_json::json!({"bounding": ["CAP_CHOWN", "sys_admin", "CAP_BPF"]});
        validate_names(&ok).unwrap();
        let bad = serde_json::json!({"effective": ["CAP_CHOWN", "CAP_BOGUS"]});
        let err = validate_names(&bad).unwrap_err().to_string();
        assert!(
            err.contains("effective") && err.contains("CAP_BOGUS"),
            "{err}"
        );
    }

    #[test]
    fn missing_caps_fail_only_where_granted() {
        let available: CapsHashSet = [Capability::CAP_CHOWN].into();
        let want: Option<Capabilities> = Some([oci_spec::runtime::Capability::SysResource].into());
        let err = convert(&want, "permitted", Missing::Grant, &available).unwrap_err();
        assert!(err.to_string().contains("CAP_SYS_RESOURCE"), "{err}");
        let got = convert(&want, "bounding", Missing::Limit, &available).unwrap();
        assert!(got.is_empty());
    }
}
