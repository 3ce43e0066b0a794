//! `rdock images` / `rdock image ls`
use super::Context;
use crate::cli::ImagesArgs;
use crate::format::{human_duration, human_size, print_table};
use anyhow::Result;
use image::reference;
use image::store::short_id;

pub fn run(ctx: &Context, a: ImagesArgs) -> Result<i32> {
    let store = ctx.store()?;
    let mut rows = store.list()?;
    if let Some(filter) = &a.reference {
        let r = reference::parse(filter).map_err(anyhow::Error::msg)?;
        let repo = reference::full_repository(&r);
        let tag = if filter.contains(':') {
            r.tag().map(String::from)
        } else {
            None
        };
        rows.retain(|row| match &row.tagged {
            Some(t) => {
                let (rr, tt) = reference::split_tagged(t);
                rr == repo && tag.as_deref().is_none_or(|want| want == tt)
            }
            None => false,
        });
    }
    // Newest first, like docker.
    rows.sort_by(|x, y| {
        y.record
            .created
            .cmp(&x.record.created)
            .then(x.tagged.cmp(&y.tagged))
    });
    let id_of = |id: &str| {
        if a.no_trunc {
            id.to_string()
        } else {
            short_id(id)
        }
    };
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert(r.record.id.clone()) {
                println!("{}", id_of(&r.record.id));
            }
        }
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for r in &rows {
        let (repo, tag) = match &r.tagged {
            Some(t) => {
                let (rr, tt) = reference::split_tagged(t);
                (reference::familiar_repository(rr), tt.to_string())
            }
            None => ("<none>".to_string(), "<none>".to_string()),
        };
        let created = r
            .record
            .created
            .as_deref()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|t| {
                format!(
                    "{} ago",
                    human_duration((now - t.with_timezone(&chrono::Utc)).num_seconds())
                )
            })
            .unwrap_or_else(|| "N/A".to_string());
        let mut cols = vec![repo.clone(), tag];
        if a.digests {
            let d = r
                .record
                .repo_digests
                .iter()
                .find_map(|d| {
                    d.split_once('@')
                        .filter(|(rr, _)| reference::familiar_repository(rr) == repo)
                        .map(|(_, d)| d.to_string())
                })
                .unwrap_or_else(|| "<none>".to_string());
            cols.push(d);
        }
        cols.push(id_of(&r.record.id));
        cols.push(created);
        cols.push(human_size(r.record.size));
        out.push(cols);
    }
    let mut header = vec!["REPOSITORY", "TAG"];
    if a.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    print_table(&header, &out);
    Ok(0)
}
