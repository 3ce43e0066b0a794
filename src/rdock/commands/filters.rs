//! `-f KEY=VALUE` filters of `ps` and `images`, docker's rules: several
//! values of one key OR, different keys AND (`label` values all must hold).
use anyhow::{bail, Result};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Filters(BTreeMap<String, Vec<String>>);

/// A filter without `=`: docker's flag error (exit 125), already printed.
pub struct BadFormat(pub i32);

/// Parses the `-f` values of `verb`; checks keys against `known`
/// ("Invalid filter 'KEY'").
pub fn parse(args: &[String], verb: &str, known: &[&str]) -> Result<Result<Filters, BadFormat>> {
    let mut f = Filters::default();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            eprintln!(
                "invalid argument \"{a}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\nSee 'rdock {verb} --help'."
            );
            return Ok(Err(BadFormat(125)));
        };
        f.0.entry(k.trim().to_lowercase())
            .or_default()
            .push(v.to_string());
    }
    for k in f.0.keys() {
        if !known.contains(&k.as_str()) {
            bail!("Invalid filter '{k}'");
        }
    }
    Ok(Ok(f))
}

impl Filters {
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// True when, for every key but `label` (and those `skip` lists), one
    /// of its values passes `test`.
    pub fn matches(&self, skip: &[&str], mut test: impl FnMut(&str, &str) -> bool) -> bool {
        self.0
            .iter()
            .filter(|(k, _)| k.as_str() != "label" && !skip.contains(&k.as_str()))
            .all(|(k, vals)| vals.iter().any(|v| test(k, v)))
    }

    /// docker's label rule: every `label=KEY[=VALUE]` holds.
    pub fn labels_match(&self, labels: &BTreeMap<String, String>) -> bool {
        self.get("label")
            .iter()
            .all(|want| match want.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                None => labels.contains_key(want.as_str()),
            })
    }
}

/// docker's (Go's) regexp match, unanchored; a bad pattern matches nothing.
pub fn regex_match(pattern: &str, text: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text))
}

/// Go's path.Match: `*` and `?` do not cross `/`, `[...]` classes
/// (`[^...]`/`[!...]` negated, ranges), `\` escapes.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if glob_at(rest, &t[i..]) {
                    return true;
                }
                if i == t.len() || t[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some('?') => t.first().is_some_and(|c| *c != '/') && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(&c) = t.first() else { return false };
            let Some(end) = p.iter().skip(2).position(|x| *x == ']').map(|e| e + 2) else {
                return false;
            };
            let mut class = &p[1..end];
            let negate = matches!(class.first(), Some('^' | '!'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && c != '/' && glob_at(&p[end + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && glob_at(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(args: &[&str]) -> Filters {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&a, "ps", &["status", "name", "label"]).unwrap() {
            Ok(f) => f,
            Err(_) => panic!("bad format"),
        }
    }

    #[test]
    fn same_key_ors_different_keys_and() {
        let x = f(&["status=running", "status=created", "name=f"]);
        let row = |state: &str, name: &str| {
            x.matches(&[], |k, v| match k {
                "status" => v == state,
                _ => name.contains(v),
            })
        };
        assert!(row("running", "f1"));
        assert!(row("created", "f3"));
        assert!(!row("exited", "f2"));
        assert!(!row("running", "x"));
    }

    #[test]
    fn labels_all_must_hold() {
        let x = f(&["label=app", "label=tier=1"]);
        let l: BTreeMap<String, String> =
            [("app".into(), "web".into()), ("tier".into(), "1".into())]
                .into_iter()
                .collect();
        assert!(x.labels_match(&l));
        let y = f(&["label=app=nope"]);
        assert!(!y.labels_match(&l));
    }

    #[test]
    fn unknown_keys_are_refused_like_docker() {
        let a = vec!["bogus=1".to_string()];
        let e = parse(&a, "ps", &["status"]).err().unwrap();
        assert_eq!(e.to_string(), "Invalid filter 'bogus'");
        assert!(matches!(
            parse(&["status".into()], "ps", &["status"]).unwrap(),
            Err(BadFormat(125))
        ));
    }

    #[test]
    fn globs_follow_go_path_match() {
        assert!(glob_match("f*", "flab:1"));
        assert!(glob_match("flab:*", "flab:2"));
        assert!(!glob_match("f*", "busybox:latest"));
        assert!(!glob_match("*", "a/b"));
        assert!(glob_match("a/*", "a/b"));
        assert!(glob_match("b?sy[a-c]ox", "busybox"));
        assert!(!glob_match("b[!u]sybox", "busybox"));
    }

    #[test]
    fn regexes_are_unanchored() {
        assert!(regex_match("f", "f1"));
        assert!(regex_match("^f1$", "f1"));
        assert!(!regex_match("^f1$", "f10"));
        assert!(!regex_match("(", "f1"));
    }
}
