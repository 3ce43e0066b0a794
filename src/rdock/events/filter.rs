//! `rdock events --filter KEY=VALUE`, matched as docker's daemon does:
//! values of one key are alternatives, different keys must all match,
//! unknown keys are ignored; `container=`, `volume=` and `network=` match
//! the actor's ID or `name` attribute by prefix, `image=` the image's ID or
//! name with or without tag, `label=` every given `k` or `k=v`.
use super::Message;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Filters(BTreeMap<String, BTreeSet<String>>);

/// A `--filter` value without `=`.
#[derive(Debug, thiserror::Error)]
#[error("bad format of filter (expected name=value)")]
pub struct BadFilter;

impl Filters {
    pub fn parse(args: &[String]) -> Result<Filters, BadFilter> {
        let mut f = Filters::default();
        for a in args {
            let (k, v) = a.split_once('=').ok_or(BadFilter)?;
            f.0.entry(k.trim().to_ascii_lowercase())
                .or_default()
                .insert(v.trim().to_string());
        }
        Ok(f)
    }

    fn values(&self, key: &str) -> Option<&BTreeSet<String>> {
        self.0.get(key).filter(|v| !v.is_empty())
    }

    fn exact(&self, key: &str, source: &str) -> bool {
        self.values(key).is_none_or(|v| v.contains(source))
    }

    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.exact(key, source)
            || self
                .values(key)
                .is_some_and(|v| v.iter().any(|p| source.starts_with(p.as_str())))
    }

    fn by_name(&self, key: &str, m: &Message) -> bool {
        let name = m.actor.attributes.get("name").map_or("", String::as_str);
        self.fuzzy(key, &m.actor.id) || self.fuzzy(key, name)
    }

    fn event(&self, m: &Message) -> bool {
        // docker: `exec_create`, `exec_start` and `health_status` name a
        // family of actions ("exec_start: sh -c ..."), so they match by prefix.
        let fuzzy = self.values("event").is_some_and(|v| {
            v.iter()
                .any(|e| matches!(e.as_str(), "exec_create" | "exec_start" | "health_status"))
        });
        if fuzzy {
            self.fuzzy("event", &m.action)
        } else {
            self.exact("event", &m.action)
        }
    }

    fn image(&self, m: &Message) -> bool {
        let attr = if m.typ == "image" { "name" } else { "image" };
        let name = m.actor.attributes.get(attr).map_or("", String::as_str);
        self.exact("image", &m.actor.id)
            || self.exact("image", name)
            || self.exact("image", strip_tag(&m.actor.id))
            || self.exact("image", strip_tag(name))
    }

    fn labels(&self, attrs: &BTreeMap<String, String>) -> bool {
        let Some(wanted) = self.values("label") else {
            return true;
        };
        wanted.iter().all(|w| match w.split_once('=') {
            Some((k, v)) => attrs.get(k).is_some_and(|have| have == v),
            None => attrs.contains_key(w.as_str()),
        })
    }

    pub fn matches(&self, m: &Message) -> bool {
        self.event(m)
            && self.exact("type", &m.typ)
            && self.exact("scope", &m.scope)
            && self.by_name("container", m)
            && self.by_name("volume", m)
            && self.by_name("network", m)
            && self.image(m)
            && self.labels(&m.actor.attributes)
    }
}

/// `busybox` for `busybox:latest`; a digest or ID stays as it is.
fn strip_tag(name: &str) -> &str {
    if name.contains('@') || name.starts_with("sha256:") {
        return name;
    }
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(typ: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
        let attrs = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Message::new(typ, action, id, attrs)
    }

    fn f(args: &[&str]) -> Filters {
        Filters::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn same_key_is_or_different_keys_and() {
        let die = ev(
            "container",
            "die",
            "e59a",
            &[("name", "e2"), ("image", "busybox")],
        );
        let oom = ev(
            "container",
            "oom",
            "e59a",
            &[("name", "e2"), ("image", "busybox")],
        );
        let start = ev(
            "container",
            "start",
            "e59a",
            &[("name", "e2"), ("image", "busybox")],
        );
        let either = f(&["event=die", "event=oom"]);
        assert!(either.matches(&die) && either.matches(&oom) && !either.matches(&start));
        assert!(!f(&["container=e1", "event=die"]).matches(&die));
        assert!(f(&["container=e2", "event=die"]).matches(&die));
    }

    #[test]
    fn containers_match_by_id_prefix_or_name() {
        let e = ev("container", "start", "e59a3697cd54", &[("name", "e1")]);
        assert!(f(&["container=e59a"]).matches(&e));
        assert!(f(&["container=e1"]).matches(&e));
        assert!(!f(&["container=x"]).matches(&e));
    }

    #[test]
    fn unknown_keys_are_ignored_and_unknown_values_match_nothing() {
        let e = ev("container", "start", "abc", &[]);
        assert!(f(&["foo=bar"]).matches(&e));
        assert!(!f(&["event=bogus"]).matches(&e));
        assert!(!f(&["type=bogus"]).matches(&e));
        assert!(Filters::parse(&["event".to_string()]).is_err());
    }

    #[test]
    fn images_match_with_or_without_tag() {
        let c = ev("container", "create", "abc", &[("image", "busybox")]);
        assert!(f(&["image=busybox"]).matches(&c));
        let p = ev(
            "image",
            "pull",
            "hello-world:latest",
            &[("name", "hello-world")],
        );
        assert!(f(&["image=hello-world"]).matches(&p));
        assert!(f(&["image=hello-world:latest"]).matches(&p));
        let t = ev(
            "image",
            "tag",
            "sha256:c3e1",
            &[("name", "127.0.0.1:5000/hw2:x")],
        );
        assert!(f(&["image=127.0.0.1:5000/hw2"]).matches(&t));
        assert!(!f(&["image=busybox"]).matches(&t));
    }

    #[test]
    fn labels_must_all_match() {
        let e = ev("container", "start", "abc", &[("foo", "bar"), ("x", "1")]);
        assert!(f(&["label=foo=bar"]).matches(&e));
        assert!(f(&["label=foo", "label=x=1"]).matches(&e));
        assert!(!f(&["label=foo=baz"]).matches(&e));
        assert!(!f(&["label=foo", "label=y"]).matches(&e));
    }

    #[test]
    fn exec_events_match_by_prefix() {
        let e = ev("container", "exec_start: sh -c exit 4", "abc", &[]);
        assert!(f(&["event=exec_start"]).matches(&e));
        assert!(!f(&["event=exec_die"]).matches(&e));
    }
}
