//! `rdock inspect NAME...`: containers first, then images, as docker does.
use super::Context;
use crate::cli::InspectArgs;
use crate::commands::ps::state_name;
use crate::container::{record, record::State, runtime};
use crate::network;
use anyhow::Result;
use serde_json::{json, Value};

fn container_json(ctx: &Context, r: &record::Record) -> Result<Value> {
    let dir = record::dir_of(&ctx.root, &r.id);
    let bundle: Value = serde_json::from_slice(&std::fs::read(dir.join("bundle/config.json"))?)?;
    let state = r.live_state();
    let pid = if state == State::Running {
        runtime::pid(&r.runtime, &r.runtime_root, &r.id).unwrap_or(0)
    } else {
        0
    };
    let zero = "0001-01-01T00:00:00Z";
    // The flags as docker shows them (containers made before inspect.json: defaults).
    let asked: Value = std::fs::read(dir.join("inspect.json"))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_else(|| json!({ "HostConfig": {}, "User": "" }));
    let mut host_config = asked["HostConfig"].clone();
    host_config["AutoRemove"] = json!(r.auto_remove);
    host_config["NetworkMode"] = json!(network::mode_name(&ctx.root, &r.id));
    if host_config["Runtime"].is_null() {
        host_config["Runtime"] = json!(r.runtime);
    }
    let paused = crate::container::pause::is_paused(&ctx.root, r);
    let mut out = json!({
        "Id": r.id,
        "Created": r.created,
        "Path": r.command.first(),
        "Args": r.command.get(1..).unwrap_or_default(),
        "State": {
            "Status": if paused { "paused" } else { state_name(&state) },
            "Running": state == State::Running,
            "Paused": paused,
            "Restarting": false,
            "OOMKilled": dir.join(crate::container::OOM_MARKER).exists(),
            "Dead": false,
            "Pid": pid,
            "ExitCode": r.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": r.started.clone().unwrap_or_else(|| zero.into()),
            "FinishedAt": r.finished.clone().unwrap_or_else(|| zero.into()),
        },
        "Image": r.image_id,
        "LogPath": dir.join(format!("{}-json.log", r.id)),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "ResolvConfPath": dir.join("resolv.conf"),
        "Name": format!("/{}", r.name),
        "RestartCount": 0,
        "Driver": "overlay",
        "HostConfig": host_config,
        "NetworkSettings": network::settings_json(&ctx.root, &r.id),
        "Mounts": bundle["mounts"].as_array().map(|m| m.iter()
            .filter(|m| m["type"] == "bind" && !m["destination"].as_str().unwrap_or("").starts_with("/etc/"))
            .map(|m| mount_json(&ctx.root, m))
            .collect::<Vec<_>>()).unwrap_or_default(),
        "Config": json!({
            "Hostname": bundle["hostname"],
            "User": asked["User"],
            "Tty": r.tty,
            "OpenStdin": r.interactive,
            "Env": bundle["process"]["env"],
            "Cmd": r.command,
            "Labels": crate::commands::ps::labels_of(&asked),
            "Image": r.image,
            "WorkingDir": bundle["process"]["cwd"],
            "ExposedPorts": network::exposed_json(&ctx.root, &r.id),
        }),
        "GraphDriver": { "Name": "overlay", "Data": {
            "UpperDir": dir.join("upper"), "WorkDir": dir.join("work"),
            "MergedDir": dir.join("bundle/rootfs") } },
    });
    // What the flags set in Config (Labels, StopTimeout, Attach*), from inspect.json.
    for (k, v) in asked["Config"].as_object().into_iter().flatten() {
        out["Config"][k] = v.clone();
    }
    if out["Config"]["Labels"].is_null() {
        out["Config"]["Labels"] = json!({});
    }
    Ok(out)
}

/// One of `Mounts`: a named volume (under `<root>/volumes/`) or a bind.
fn mount_json(root: &std::path::Path, m: &Value) -> Value {
    let ro = m["options"]
        .as_array()
        .is_some_and(|o| o.iter().any(|x| x == "ro"));
    let vols = root.join("volumes");
    let src = m["source"].as_str().unwrap_or_default();
    match std::path::Path::new(src).strip_prefix(&vols) {
        Ok(rest) => json!({"Type": "volume",
            "Name": rest.components().next().map(|c| c.as_os_str().to_string_lossy().to_string()),
            "Source": src, "Destination": m["destination"], "Driver": "local",
            "Mode": if ro { "ro" } else { "z" }, "RW": !ro, "Propagation": ""}),
        Err(_) => json!({"Type": "bind", "Source": src, "Destination": m["destination"],
            "Mode": if ro { "ro" } else { "" }, "RW": !ro, "Propagation": "rprivate"}),
    }
}

pub fn run(ctx: &Context, a: InspectArgs) -> Result<i32> {
    let mut out = Vec::new();
    let mut code = 0;
    let store = ctx.store()?;
    let rows = store.list()?;
    // Containers first, then images, each name on its own, as docker does.
    for n in &a.images {
        match record::find(&ctx.root, n) {
            Ok(r) => out.push(container_json(ctx, &r)?),
            Err(_) => match super::inspect::image_json(&store, &rows, n) {
                Ok(v) => out.push(v),
                Err(_) => {
                    eprintln!("Error: No such object: {n}");
                    code = 1;
                }
            },
        }
    }
    super::inspect::print_objects(a.format.as_deref(), &out)?;
    Ok(code)
}
