//! `rdock events [--since T] [--until T] [-f KEY=VALUE]... [--format F]`:
//! rdock's event log as docker prints its daemon's events. Without
//! `--until` it follows the log until interrupted; with `--since` or
//! `--until` it first prints the recorded events in that window (only
//! `--until`: everything recorded up to it); an `--until` in the past
//! prints those and exits.
use super::Context;
use crate::cli::EventsArgs;
use crate::events::{self, filter::Filters, timestamp};
use crate::template;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Context, a: EventsArgs) -> Result<i32> {
    let filters = match Filters::parse(&a.filter) {
        Ok(f) => f,
        Err(e) => {
            let bad = a.filter.iter().find(|f| !f.contains('=')).cloned();
            eprintln!(
                "invalid argument {:?} for \"-f, --filter\" flag: {e}\nSee 'rdock events --help'.",
                bad.unwrap_or_default()
            );
            return Ok(125);
        }
    };
    let now = chrono::Utc::now();
    let when = |v: &Option<String>| v.as_deref().map(|v| timestamp::parse(v, now)).transpose();
    let (since, until) = match (when(&a.since), when(&a.until)) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    if let (Some(s), Some(u)) = (&since, &until) {
        if u.nanos < s.nanos {
            eprintln!(
                "Error response from daemon: `since` time ({}) cannot be after `until` time ({})",
                s.text, u.text
            );
            return Ok(1);
        }
    }
    // A bad template fails before any event, as docker checks it up front.
    let sample = template_value(&events::Message::new(
        "network",
        "create",
        "",
        Default::default(),
    ));
    if let Some(f) = a.format.as_deref() {
        if let Err(e) = template::render_with(f, &sample, &OPTIONS) {
            eprintln!("Error parsing format: {}", e.detail);
            return Ok(64);
        }
    }
    let history = since.is_some() || until.is_some();
    let since_n = since.as_ref().map_or(0, |s| s.nanos);
    let until_n = until.as_ref().map(|u| u.nanos);
    let follow = until_n.is_none_or(|u| u > now.timestamp_nanos_opt().unwrap_or(0));
    let mut out = std::io::stdout().lock();
    events::read(&ctx.root, follow, until_n, |m, live| {
        let in_window = if live {
            until_n.is_none_or(|u| m.time_nano <= u)
        } else {
            history && m.time_nano >= since_n && until_n.is_none_or(|u| m.time_nano <= u)
        };
        if in_window && filters.matches(m) {
            let line = match a.format.as_deref() {
                None => m.line(),
                // docker's field order, which a generic JSON map would lose.
                Some(f) if f.trim() == "{{json .}}" => serde_json::to_string(m)?,
                Some(f) => template::render_with(f, &template_value(m), &OPTIONS)?,
            };
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        Ok(true)
    })?;
    Ok(0)
}

/// docker's type in template errors.
const OPTIONS: template::Options = template::Options {
    name: "",
    root_type: "*events.Message",
    missing_key_error: false,
    header: false,
};

/// What templates see: docker's `events.Message` by its Go field names
/// (`.Status`, `.ID`, `.From`, `.TimeNano`...), every field present.
fn template_value(m: &events::Message) -> serde_json::Value {
    serde_json::json!({
        "Status": m.status,
        "ID": m.id,
        "From": m.from,
        "Type": m.typ,
        "Action": m.action,
        "Actor": {"ID": m.actor.id, "Attributes": m.actor.attributes},
        "Scope": m.scope,
        "Time": m.time,
        "TimeNano": m.time_nano,
    })
}
