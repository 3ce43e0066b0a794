//! Dockerfile instructions applied to an image config, as `commit -c` and
//! `import -c` take them (`CMD ["x"]`, `ENV A=1`, `EXPOSE 80`...), with
//! docker 20.10's messages for what it refuses.
use serde_json::{json, Map, Value};

/// A change that docker's daemon refuses; the text is its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadChange(pub String);

type Res<T> = Result<T, BadChange>;

fn bad<T>(msg: impl Into<String>) -> Res<T> {
    Err(BadChange(msg.into()))
}

/// Applies `changes` in order to `config` (the `config` object of an image
/// config: `Cmd`, `Env`, `ExposedPorts`...).
pub fn apply(config: &mut Map<String, Value>, changes: &[String]) -> Res<()> {
    let mut cmd_set = false;
    for line in changes {
        let line = line.trim();
        let (word, rest) = match line.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        let instr = word.to_ascii_uppercase();
        match instr.as_str() {
            "CMD" => {
                config.insert("Cmd".into(), json!(command_form(rest)));
                cmd_set = true;
            }
            "ENTRYPOINT" => {
                config.insert("Entrypoint".into(), json!(command_form(rest)));
                // As a Dockerfile's ENTRYPOINT: an inherited Cmd goes.
                if !cmd_set {
                    config.insert("Cmd".into(), Value::Null);
                }
            }
            "ENV" => {
                for (k, v) in pairs("ENV", rest)? {
                    let env = config
                        .entry("Env")
                        .or_insert_with(|| json!([]))
                        .as_array_mut();
                    let Some(env) = env else {
                        config.insert("Env".into(), json!([format!("{k}={v}")]));
                        continue;
                    };
                    let prefix = format!("{k}=");
                    match env
                        .iter_mut()
                        .find(|e| e.as_str().is_some_and(|s| s.starts_with(&prefix) || s == k))
                    {
                        Some(e) => *e = json!(format!("{k}={v}")),
                        None => env.push(json!(format!("{k}={v}"))),
                    }
                }
            }
            "LABEL" => {
                for (k, v) in pairs("LABEL", rest)? {
                    object(config, "Labels").insert(k, json!(v));
                }
            }
            "EXPOSE" => {
                let ports = words(rest);
                if ports.is_empty() {
                    return bad("EXPOSE requires at least one argument");
                }
                for p in ports {
                    for key in exposed(&p)? {
                        object(config, "ExposedPorts").insert(key, json!({}));
                    }
                }
            }
            "VOLUME" => {
                let vols = json_array(rest).unwrap_or_else(|| words(rest));
                if vols.is_empty() {
                    return bad("VOLUME requires at least one argument");
                }
                for v in vols {
                    if v.is_empty() {
                        return bad("VOLUME specified can not be an empty string");
                    }
                    object(config, "Volumes").insert(v, json!({}));
                }
            }
            "USER" => {
                if rest.is_empty() {
                    return bad("USER requires exactly one argument");
                }
                config.insert("User".into(), json!(rest));
            }
            "WORKDIR" => {
                if rest.is_empty() {
                    return bad("WORKDIR requires exactly one argument");
                }
                let dir = if rest.starts_with('/') {
                    rest.to_string()
                } else {
                    let cur = config
                        .get("WorkingDir")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .unwrap_or("/");
                    format!("{}/{rest}", cur.trim_end_matches('/'))
                };
                config.insert("WorkingDir".into(), json!(dir));
            }
            "ONBUILD" => {
                if rest.is_empty() {
                    return bad("ONBUILD requires at least one argument");
                }
                let (w, r) = rest.split_once(' ').unwrap_or((rest, ""));
                let trigger = format!("{} {}", w.to_ascii_uppercase(), r.trim())
                    .trim_end()
                    .to_string();
                let slot = config.entry("OnBuild").or_insert_with(|| json!([]));
                match slot.as_array_mut() {
                    Some(a) => a.push(json!(trigger)),
                    None => *slot = json!([trigger]),
                }
            }
            "STOPSIGNAL" => {
                if rest.is_empty() || rest.contains(char::is_whitespace) {
                    return bad("STOPSIGNAL requires exactly one argument");
                }
                config.insert("StopSignal".into(), json!(rest));
            }
            _ => {
                return bad(format!(
                    "{} is not a valid change command",
                    word.to_ascii_lowercase()
                ))
            }
        }
    }
    Ok(())
}

fn object<'a>(config: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = config.entry(key).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("made an object above")
}

/// `["a","b"]` as exec form, anything else as `/bin/sh -c TEXT`.
fn command_form(rest: &str) -> Vec<String> {
    if let Some(v) = json_array(rest) {
        return v;
    }
    let mut v = vec!["/bin/sh".to_string(), "-c".to_string()];
    if !rest.is_empty() {
        v.push(rest.to_string());
    }
    v
}

fn json_array(rest: &str) -> Option<Vec<String>> {
    if !rest.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(rest).ok()
}

/// Words split on blanks, quotes and backslashes honoured and removed.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// `K=V K2="v 2"` or the legacy `K V...` of ENV and LABEL.
fn pairs(instr: &str, rest: &str) -> Res<Vec<(String, String)>> {
    let w = words(rest);
    if w.is_empty() {
        return bad(format!("{instr} requires at least one argument"));
    }
    if !w[0].contains('=') {
        if w.len() < 2 {
            return bad(format!("{instr} must have two arguments"));
        }
        // Legacy form: the rest of the line is the value.
        let value = rest
            .trim_start()
            .split_once(char::is_whitespace)
            .map(|(_, v)| v.trim())
            .unwrap_or_default();
        return Ok(vec![(w[0].clone(), words(value).join(" "))]);
    }
    let mut out = Vec::new();
    for p in w {
        match p.split_once('=') {
            Some(("", _)) => return bad(format!("{instr} names can not be blank")),
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => {
                return bad(format!(
                    "Syntax error - can't find = in {p:?}. Must be of the form: name=value"
                ))
            }
        }
    }
    Ok(out)
}

/// `80`, `80/udp`, `8000-8002/tcp` as ExposedPorts keys.
fn exposed(p: &str) -> Res<Vec<String>> {
    let (ports, proto) = match p.split_once('/') {
        Some((a, b)) => (a, b.to_ascii_lowercase()),
        None => (p, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return bad(format!("Invalid proto: {proto}"));
    }
    let port = |s: &str| -> Res<u32> {
        match s.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n),
            _ => bad(format!("Invalid containerPort: {ports}")),
        }
    };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if hi < lo {
        return bad(format!("Invalid range specified for the Port: {ports}"));
    }
    Ok((lo..=hi).map(|n| format!("{n}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(changes: &[&str]) -> Result<Value, String> {
        let mut c = json!({"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": ""});
        let list: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply(c.as_object_mut().unwrap(), &list).map_err(|e| e.0)?;
        Ok(c)
    }

    #[test]
    fn commands_in_exec_and_shell_form() {
        assert_eq!(
            run(&[r#"CMD ["cat","/x"]"#]).unwrap()["Cmd"],
            json!(["cat", "/x"])
        );
        assert_eq!(
            run(&["cmd echo x"]).unwrap()["Cmd"],
            json!(["/bin/sh", "-c", "echo x"])
        );
        assert_eq!(run(&["CMD"]).unwrap()["Cmd"], json!(["/bin/sh", "-c"]));
        assert_eq!(
            run(&["CMD [bad"]).unwrap()["Cmd"],
            json!(["/bin/sh", "-c", "[bad"])
        );
        let c = run(&[r#"ENTRYPOINT ["/bin/echo"]"#]).unwrap();
        assert_eq!(
            (c["Entrypoint"].clone(), c["Cmd"].clone()),
            (json!(["/bin/echo"]), Value::Null)
        );
        let c = run(&["CMD [\"a\"]", "ENTRYPOINT [\"e\"]"]).unwrap();
        assert_eq!(c["Cmd"], json!(["a"]));
    }

    #[test]
    fn env_label_expose_volume_workdir_user() {
        let c = run(&[
            "ENV A=1 B=\"x y\"",
            "ENV PATH=/usr/bin",
            "ENV C d e",
            "LABEL k=v",
            "EXPOSE 80/udp 90",
            "VOLUME /a /b",
            "WORKDIR rel",
            "WORKDIR sub",
            "USER a b",
            "ONBUILD run x",
        ])
        .unwrap();
        assert_eq!(c["Env"], json!(["PATH=/usr/bin", "A=1", "B=x y", "C=d e"]));
        assert_eq!(c["Labels"], json!({"k": "v"}));
        assert_eq!(c["ExposedPorts"], json!({"80/udp": {}, "90/tcp": {}}));
        assert_eq!(c["Volumes"], json!({"/a": {}, "/b": {}}));
        assert_eq!(c["WorkingDir"], "/rel/sub");
        assert_eq!(c["User"], "a b");
        assert_eq!(c["OnBuild"], json!(["RUN x"]));
    }

    #[test]
    fn docker_messages_for_bad_changes() {
        let e = |c: &str| run(&[c]).unwrap_err();
        assert_eq!(e("FOO bar"), "foo is not a valid change command");
        assert_eq!(e("RUN echo"), "run is not a valid change command");
        assert_eq!(e("ENV"), "ENV requires at least one argument");
        assert_eq!(e("ENV A"), "ENV must have two arguments");
        assert_eq!(e("LABEL"), "LABEL requires at least one argument");
        assert_eq!(e("LABEL a"), "LABEL must have two arguments");
        assert_eq!(e("USER"), "USER requires exactly one argument");
        assert_eq!(e("WORKDIR"), "WORKDIR requires exactly one argument");
        assert_eq!(e("VOLUME"), "VOLUME requires at least one argument");
        assert_eq!(e("ONBUILD"), "ONBUILD requires at least one argument");
        assert_eq!(e("EXPOSE abc"), "Invalid containerPort: abc");
        assert_eq!(e("EXPOSE 99999"), "Invalid containerPort: 99999");
    }
}
