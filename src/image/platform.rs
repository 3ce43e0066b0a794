//! Picking a manifest from an index or manifest list the way docker does.
use anyhow::{bail, Result};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The host's platform (`linux/amd64` here).
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform::parse(&format!("linux/{arch}")).expect("host platform parses")
    }

    /// Parses `os/arch[/variant]`; `arm64` means `arm64/v8`, `arm` means `arm/v7`.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, v] => (*os, *arch, Some(v.to_string())),
            _ => bail!("invalid platform {s:?}: expected os/arch[/variant]"),
        };
        let arch = match arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        let variant = variant.or_else(|| match arch {
            "arm64" => Some("v8".to_string()),
            "arm" => Some("v7".to_string()),
            _ => None,
        });
        Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant,
        })
    }

    fn matches(&self, p: &Value) -> bool {
        let os = p.get("os").and_then(Value::as_str).unwrap_or("");
        let arch = p.get("architecture").and_then(Value::as_str).unwrap_or("");
        if os != self.os || arch != self.architecture {
            return false;
        }
        let variant = p.get("variant").and_then(Value::as_str);
        match (&self.variant, variant) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            // A missing variant is the default one (arm64 entries often omit v8).
            (Some(want), None) => {
                (self.architecture == "arm64" && want == "v8")
                    || (self.architecture == "arm" && want == "v7")
            }
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Returns the digest and media type of the manifest in `index` for `want`.
/// Attestation entries (`unknown/unknown`) are skipped.
pub fn select(index: &Value, want: &Platform) -> Result<(String, String)> {
    let Some(list) = index.get("manifests").and_then(Value::as_array) else {
        bail!("image index has no manifests");
    };
    let mut seen = Vec::new();
    for m in list {
        let Some(p) = m.get("platform") else { continue };
        let os = p.get("os").and_then(Value::as_str).unwrap_or("");
        if os == "unknown" {
            continue;
        }
        seen.push(format!(
            "{os}/{}{}",
            p.get("architecture").and_then(Value::as_str).unwrap_or(""),
            p.get("variant")
                .and_then(Value::as_str)
                .map(|v| format!("/{v}"))
                .unwrap_or_default()
        ));
        if want.matches(p) {
            let digest = m
                .get("digest")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mt = m
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            return Ok((digest, mt));
        }
    }
    bail!(
        "no matching manifest for {want} in the manifest list entries (available: {})",
        seen.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm64_means_arm64_v8_and_attestations_are_skipped() {
        let idx = serde_json::json!({"manifests": [
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ]});
        assert_eq!(
            select(&idx, &Platform::parse("linux/arm64").unwrap())
                .unwrap()
                .0,
            "sha256:arm"
        );
        assert_eq!(select(&idx, &Platform::host()).unwrap().0, "sha256:amd");
        assert!(select(&idx, &Platform::parse("linux/s390x").unwrap()).is_err());
    }
}
