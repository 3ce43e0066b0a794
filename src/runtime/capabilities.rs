//! The five capability sets, applied around the uid change in runc's order:
//! bounding first, keep caps across setuid, then effective/permitted/inheritable, then ambient.

use std::collections::HashSet;

use anyhow::{Context, Result};
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

fn convert(set: &Option<Capabilities>, available: &CapsHashSet) -> Result<CapsHashSet> {
    let mut out = HashSet::new();
    for c in set.iter().flatten() {
        let name = format!("CAP_{c}");
        let cap: Capability = name
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown capability {name:?}"))?;
        if available.contains(&cap) {
            out.insert(cap);
        } else {
            // runc ignores capabilities the host cannot grant, with a warning.
            log::warn!("capability {name} is not in runr's bounding set; ignoring it");
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
    Ok(CapSets {
        bounding: Some(convert(c.bounding(), &available)?),
        effective: convert(c.effective(), &available)?,
        permitted: convert(c.permitted(), &available)?,
        inheritable: convert(c.inheritable(), &available)?,
        ambient: convert(c.ambient(), &available)?,
    })
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
