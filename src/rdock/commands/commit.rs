//! `rdock commit [-a AUTHOR] [-m MSG] [-c CHANGE]... [-p] CONTAINER [REPO[:TAG]]`:
//! the container's upper dir becomes a layer on top of its image; the new
//! image's config is the container's (command, env, workdir, user) with
//! the changes applied. A running container is frozen meanwhile (`-p`, on
//! by default, as docker does).
use super::Context;
use crate::cli::CommitArgs;
use crate::commands::diff::INIT_PATHS;
use crate::container::{pause, record, record::Record, record::State, runtime};
use anyhow::{bail, Context as _, Result};
use image::commit::{self, CommitRequest};
use image::reference;
use serde_json::{json, Map, Value};

pub fn run(ctx: &Context, a: CommitArgs) -> Result<i32> {
    // The name is checked by the client, before anything else (docker's message).
    let names = match a.repository.as_deref().map(target_name).transpose() {
        Ok(n) => n.into_iter().collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("{e}");
            return Ok(1);
        }
    };
    match commit(ctx, &a, &names) {
        Ok(id) => {
            crate::events::image_tagged(&ctx.root, &id, &names);
            if let Ok(r) = record::find(&ctx.root, &a.container) {
                let image_ref = a.repository.as_deref().map(|_| {
                    let (repo, tag) = reference::split_tagged(&names[0]);
                    format!("{}:{tag}", reference::familiar_repository(repo))
                });
                let attrs = [
                    ("comment", a.message.clone()),
                    ("imageID", id.clone()),
                    ("imageRef", image_ref.unwrap_or_default()),
                ];
                crate::events::container(&ctx.root, &r, "commit", &attrs);
            }
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("Error response from daemon: {e:#}");
            Ok(1)
        }
    }
}

/// `repo[:tag]` fully qualified, as the index keys names.
pub fn target_name(s: &str) -> Result<String> {
    let r = reference::parse(s).map_err(anyhow::Error::msg)?;
    if r.digest().is_some() {
        bail!("refusing to create a tag with a digest reference");
    }
    Ok(reference::full_tagged(&r).expect("a reference without digest has a tag"))
}

/// Resumes a container frozen for the commit, however the commit ends.
struct Frozen<'a>(&'a Record);

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let r = self.0;
        if let Err(e) = runtime::quiet(&r.runtime, &r.runtime_root, &["resume", &r.id]) {
            log::warn!("resuming container {} after the commit: {e:#}", r.id);
        }
    }
}

fn commit(ctx: &Context, a: &CommitArgs, names: &[String]) -> Result<String> {
    commit::check_changes(&a.change)?;
    let r = record::find(&ctx.root, &a.container)?;
    let dir = record::dir_of(&ctx.root, &r.id);
    let store = ctx.store()?;
    let base = std::fs::read_to_string(dir.join("image"))
        .with_context(|| format!("reading the image of container {}", r.id))?;
    let base = base.trim();
    let base_config: Value = serde_json::from_slice(&store.read_blob(base)?)
        .with_context(|| format!("parsing the config of image {base}"))?;
    let config = container_config(&dir, &r, &base_config)?;
    let upper = dir.join("upper");
    std::fs::create_dir_all(&upper).with_context(|| format!("creating {}", upper.display()))?;
    let running = r.live_state() == State::Running;
    let _frozen = if a.pause && running && !pause::is_paused(&ctx.root, &r) {
        runtime::quiet(&r.runtime, &r.runtime_root, &["pause", &r.id])
            .with_context(|| format!("pausing container {} for the commit", r.id))?;
        Some(Frozen(&r))
    } else {
        None
    };
    let skip = |p: &str| {
        INIT_PATHS.contains(&p)
            || ["/dev/", "/proc/", "/sys/"]
                .iter()
                .any(|d| p.starts_with(d))
    };
    let created_by = r.command.join(" ");
    let rec = commit::commit(
        &store,
        CommitRequest {
            base,
            upper: &upper,
            skip: &skip,
            config,
            container_id: &r.id,
            author: &a.author,
            comment: &a.message,
            changes: &a.change,
            created_by: &created_by,
            names,
        },
    )?;
    Ok(rec.id)
}

/// docker's `Config` of the container: the image's, with what `run` set
/// (command, environment, working dir, user).
fn container_config(
    dir: &std::path::Path,
    r: &Record,
    image: &Value,
) -> Result<Map<String, Value>> {
    let mut c = image["config"].as_object().cloned().unwrap_or_default();
    let bundle: Value = serde_json::from_slice(
        &std::fs::read(dir.join("bundle/config.json"))
            .with_context(|| format!("reading the bundle of container {}", r.id))?,
    )?;
    let (entrypoint, cmd) = split_command(&r.command, image["config"]["Entrypoint"].as_array());
    c.insert(
        "Entrypoint".into(),
        entrypoint.map_or(Value::Null, |e| json!(e)),
    );
    c.insert(
        "Cmd".into(),
        if cmd.is_empty() {
            Value::Null
        } else {
            json!(cmd)
        },
    );
    // The process env less what rdock adds at run time (HOSTNAME, TERM for -t).
    let mut env: Vec<String> = bundle["process"]["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(i) = env.iter().position(|e| e.starts_with("HOSTNAME=")) {
        env.remove(i);
    }
    if r.tty {
        if let Some(i) = env.iter().position(|e| e == "TERM=xterm") {
            env.remove(i);
        }
    }
    c.insert("Env".into(), json!(env));
    let cwd = bundle["process"]["cwd"].as_str().unwrap_or("/");
    let img_wd = image["config"]["WorkingDir"].as_str().unwrap_or("");
    if cwd != "/" || !img_wd.is_empty() {
        c.insert("WorkingDir".into(), json!(cwd));
    }
    let inspect: Value = std::fs::read(dir.join("inspect.json"))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default();
    if let Some(u) = inspect["User"].as_str() {
        c.insert("User".into(), json!(u));
    }
    for key in ["Labels", "ExposedPorts", "Volumes"] {
        if let Some(extra) = inspect["Config"][key].as_object() {
            let slot = c.entry(key).or_insert_with(|| json!({}));
            if let Some(m) = slot.as_object_mut() {
                m.extend(extra.clone());
            }
        }
    }
    Ok(c)
}

/// The container's Entrypoint and Cmd from its command line: the image's
/// entrypoint when the command starts with it, else (`--entrypoint X`) its
/// first word.
fn split_command(
    command: &[String],
    image_entry: Option<&Vec<Value>>,
) -> (Option<Vec<String>>, Vec<String>) {
    let entry: Vec<String> = image_entry
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if entry.is_empty() {
        return (None, command.to_vec());
    }
    if command.starts_with(&entry) {
        return (Some(entry.clone()), command[entry.len()..].to_vec());
    }
    match command.split_first() {
        Some((first, rest)) => (Some(vec![first.clone()]), rest.to_vec()),
        None => (None, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entrypoint_and_cmd_from_the_command_line() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split_command(&s(&["sleep", "1"]), None),
            (None, s(&["sleep", "1"]))
        );
        let e = vec![json!("/entry")];
        assert_eq!(
            split_command(&s(&["/entry", "a"]), Some(&e)),
            (Some(s(&["/entry"])), s(&["a"]))
        );
        assert_eq!(
            split_command(&s(&["/bin/ls", "-l"]), Some(&e)),
            (Some(s(&["/bin/ls"])), s(&["-l"]))
        );
    }

    #[test]
    fn names_are_checked_like_docker() {
        assert_eq!(target_name("cimg:1").unwrap(), "docker.io/library/cimg:1");
        assert_eq!(
            target_name("cimg").unwrap(),
            "docker.io/library/cimg:latest"
        );
        assert!(target_name("Bad:Name")
            .unwrap_err()
            .to_string()
            .contains("must be lowercase"));
    }
}
