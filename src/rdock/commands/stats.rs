//! `rdock stats [-a] [--no-stream] [--no-trunc] [--format F] [CONTAINER...]`:
//! docker's table of CPU, memory, network, block I/O and pids, from each
//! container's cgroups and network namespace ([`container::usage`]).
//! CPU % compares two readings a second apart, as docker's collector does;
//! streaming redraws the table every second (ESC[2J ESC[H first).
use super::Context;
use crate::cli::StatsArgs;
use crate::container::record::{self, Record, State};
use crate::container::{runtime, usage, usage::Usage};
use crate::template::{self, Listing, Options};
use crate::units::{bytes_size, human_size};
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

pub const LISTING: Listing = Listing {
    default: "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
    headers: &[
        ("Container", "CONTAINER"),
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ],
};

/// docker's type in template errors.
const OPTIONS: Options = Options {
    name: "",
    root_type: "*container.statsContext",
    missing_key_error: false,
    header: false,
};

/// docker's sampling interval.
const INTERVAL: Duration = Duration::from_secs(1);

pub fn run(ctx: &Context, a: StatsArgs) -> Result<i32> {
    // Every named container must exist, else only the error (docker's).
    let mut named = Vec::new();
    for n in &a.containers {
        match record::find(&ctx.root, n) {
            Ok(r) => named.push((n.clone(), r)),
            Err(e) => {
                eprintln!("Error response from daemon: {e:#}");
                return Ok(1);
            }
        }
    }
    // A bad template fails up front, even before any row, as docker's.
    let sample = [row("", &None, &Usage::default(), None, false)];
    if let Err(e) = template::format_list(a.format.as_deref(), &LISTING, &sample, &OPTIONS) {
        eprintln!("{e}");
        return Ok(1);
    }
    let mut prev: HashMap<String, Usage> = HashMap::new();
    let mut first = true;
    loop {
        let targets = targets(ctx, &a, &named)?;
        if first {
            prev = read_all(&targets);
            first = false;
        }
        std::thread::sleep(INTERVAL);
        let now = read_all(&targets);
        let rows: Vec<Value> = targets
            .iter()
            .map(|(label, r)| {
                row(
                    label,
                    &Some(r.clone()),
                    &now[&r.id],
                    prev.get(&r.id),
                    a.no_trunc,
                )
            })
            .collect();
        if !a.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        template::print_list_with(a.format.as_deref(), &LISTING, &rows, &OPTIONS)?;
        std::io::stdout().flush()?;
        if a.no_stream {
            return Ok(0);
        }
        prev = now;
    }
}

/// The containers to show, each with the label `{{.Container}}` shows: the
/// argument as typed, else the ID as listed.
fn targets(
    ctx: &Context,
    a: &StatsArgs,
    named: &[(String, Record)],
) -> Result<Vec<(String, Record)>> {
    if !named.is_empty() {
        // Fresh records, so that a container started meanwhile is read.
        return Ok(named
            .iter()
            .map(|(n, r)| {
                let r = Record::load(&ctx.root, &r.id).unwrap_or_else(|_| r.clone());
                (n.clone(), r)
            })
            .collect());
    }
    Ok(record::list(&ctx.root)?
        .into_iter()
        .filter(|r| a.all || r.live_state() == State::Running)
        .map(|r| (shown_id(&r.id, a.no_trunc), r))
        .collect())
}

fn shown_id(id: &str, full: bool) -> String {
    if full {
        id.to_string()
    } else {
        id.chars().take(12).collect()
    }
}

/// One reading per container (zeros for one that is not running).
fn read_all(targets: &[(String, Record)]) -> HashMap<String, Usage> {
    targets
        .iter()
        .map(|(_, r)| {
            let pid = (r.live_state() == State::Running)
                .then(|| runtime::pid(&r.runtime, &r.runtime_root, &r.id))
                .flatten();
            (r.id.clone(), pid.map(usage::read).unwrap_or_default())
        })
        .collect()
}

/// docker's stats row: every value a string.
fn row(label: &str, r: &Option<Record>, u: &Usage, prev: Option<&Usage>, full: bool) -> Value {
    let (id, name) = r.as_ref().map_or((String::new(), String::new()), |r| {
        (shown_id(&r.id, full), r.name.clone())
    });
    let cpu = prev.map_or(0.0, |p| u.cpu_percent(p));
    json!({
        "Container": label,
        "ID": id,
        "Name": name,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(u.mem as f64), bytes_size(u.mem_limit as f64)),
        "MemPerc": format!("{:.2}%", u.mem_percent()),
        "NetIO": format!("{} / {}", human_size(u.net_rx as f64, 3), human_size(u.net_tx as f64, 3)),
        "BlockIO": format!("{} / {}", human_size(u.blk_read as f64, 3), human_size(u.blk_write as f64, 3)),
        "PIDs": u.pids.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_containers_row_is_zeros() {
        let v = row("s1", &None, &Usage::default(), None, false);
        assert_eq!(v["CPUPerc"], "0.00%");
        assert_eq!(v["MemUsage"], "0B / 0B");
        assert_eq!(v["MemPerc"], "0.00%");
        assert_eq!(v["NetIO"], "0B / 0B");
        assert_eq!(v["BlockIO"], "0B / 0B");
        assert_eq!(v["PIDs"], "0");
    }

    #[test]
    fn a_running_containers_row() {
        let u = Usage {
            mem: 1_175_552,
            mem_limit: 64 << 20,
            net_rx: 1296,
            net_tx: 796,
            blk_write: 1_200_000,
            pids: 1,
            ..Usage::default()
        };
        let v = row("s3", &None, &u, None, false);
        assert_eq!(v["MemUsage"], "1.121MiB / 64MiB");
        assert_eq!(v["MemPerc"], "1.75%");
        assert_eq!(v["NetIO"], "1.3kB / 796B");
        assert_eq!(v["BlockIO"], "0B / 1.2MB");
    }
}
