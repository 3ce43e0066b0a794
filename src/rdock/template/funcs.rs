//! Go's builtin template functions and docker's additions (json, split,
//! join, title, lower, upper, pad, truncate), over JSON values. `None` is
//! Go's invalid value, printed `<no value>`.
use serde_json::Value;

pub type Val = Option<Value>;

const NAMES: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

/// docker's functions that print their first argument unchanged while the
/// header row of a `table` is rendered.
const HEADER_IDENTITY: &[&str] = &[
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Go's name of a value's type, as its errors print it.
pub fn type_name(v: &Val) -> &'static str {
    match v {
        None | Some(Value::Null) => "<nil>",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if n.is_f64() => "float64",
        Some(Value::Number(_)) => "int",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "[]interface {}",
        Some(Value::Object(_)) => "map[string]interface {}",
    }
}

/// Go's `fmt.Sprint` of one value (`%v`).
pub fn print(v: &Val) -> String {
    match v {
        None => "<no value>".into(),
        Some(v) => print_json(v),
    }
}

fn print_json(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(print_json).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", print_json(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's truth: false, 0, nil, empty string, array or map are false.
pub fn truth(v: &Val) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

/// Go's `encoding/json` (HTML-escaping, as docker 20.10's `json` does).
pub fn json(v: &Val) -> String {
    let s = match v {
        None => "null".to_string(),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    };
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn want_str(v: &Val) -> Result<&str, String> {
    match v {
        Some(Value::String(s)) => Ok(s),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            type_name(other)
        )),
    }
}

fn want_int(v: &Val) -> Result<i64, String> {
    match v {
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or(0)),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            type_name(other)
        )),
    }
}

fn arity(name: &str, args: &[Val], want: usize) -> Result<(), String> {
    if args.len() != want {
        return Err(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        ));
    }
    Ok(())
}

/// How a call failed: before the call (Go reports those plainly) or inside
/// it ("error calling NAME: ...").
pub enum CallError {
    Args(String),
    Call(String),
}

fn s(v: impl Into<String>) -> Val {
    Some(Value::String(v.into()))
}

/// Calls function `name`; `header` makes docker's formatting functions the
/// identity, as for a table's header row.
pub fn call(name: &str, args: Vec<Val>, header: bool) -> Result<Val, CallError> {
    use CallError::{Args, Call};
    if header && HEADER_IDENTITY.contains(&name) {
        return Ok(args.into_iter().next().flatten());
    }
    let a = &args;
    Ok(match name {
        "and" => {
            if a.is_empty() {
                return Err(Args(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                )));
            }
            a.iter()
                .find(|v| !truth(v))
                .unwrap_or(&a[a.len() - 1])
                .clone()
        }
        "or" => {
            if a.is_empty() {
                return Err(Args(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                )));
            }
            a.iter()
                .find(|v| truth(v))
                .unwrap_or(&a[a.len() - 1])
                .clone()
        }
        "not" => {
            arity(name, a, 1).map_err(Args)?;
            Some(Value::Bool(!truth(&a[0])))
        }
        "len" => {
            arity(name, a, 1).map_err(Args)?;
            let n = match &a[0] {
                Some(Value::String(x)) => x.len(),
                Some(Value::Array(x)) => x.len(),
                Some(Value::Object(x)) => x.len(),
                other => return Err(Call(format!("len of type {}", type_name(other)))),
            };
            Some(Value::from(n))
        }
        "index" => {
            if a.is_empty() {
                return Err(Args(
                    "wrong number of args for index: want at least 1 got 0".into(),
                ));
            }
            let mut item = a[0].clone();
            for i in &a[1..] {
                item = index(&item, i).map_err(Call)?;
            }
            item
        }
        "slice" => slice(a).map_err(Call)?,
        "print" => s(sprint(a, false)),
        "println" => s(sprint(a, true)),
        "printf" => {
            let f = a.first().ok_or_else(|| {
                Args("wrong number of args for printf: want at least 1 got 0".into())
            })?;
            s(printf(want_str(f).map_err(Args)?, &a[1..]))
        }
        "eq" => {
            if a.len() < 2 {
                return Err(Call("missing argument for comparison".into()));
            }
            let mut any = false;
            for b in &a[1..] {
                any |= compare(&a[0], b).map_err(Call)? == std::cmp::Ordering::Equal;
            }
            Some(Value::Bool(any))
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, a, 2).map_err(Args)?;
            let o = compare(&a[0], &a[1]).map_err(Call)?;
            if name != "ne"
                && !matches!(
                    (&a[0], &a[1]),
                    (Some(Value::Number(_)), Some(Value::Number(_)))
                        | (Some(Value::String(_)), Some(Value::String(_)))
                )
            {
                return Err(Call("invalid type for comparison".into()));
            }
            use std::cmp::Ordering::*;
            Some(Value::Bool(match name {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            }))
        }
        "json" => {
            arity(name, a, 1).map_err(Args)?;
            s(json(&a[0]))
        }
        "split" => {
            arity(name, a, 2).map_err(Args)?;
            let (x, sep) = (
                want_str(&a[0]).map_err(Args)?,
                want_str(&a[1]).map_err(Args)?,
            );
            let parts: Vec<Value> = if sep.is_empty() {
                x.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                x.split(sep).map(|p| Value::String(p.into())).collect()
            };
            Some(Value::Array(parts))
        }
        "join" => {
            arity(name, a, 2).map_err(Args)?;
            let sep = want_str(&a[1]).map_err(Args)?;
            let parts: Vec<String> = match &a[0] {
                Some(Value::Array(x)) => x.iter().map(print_json).collect(),
                other => {
                    return Err(Args(format!(
                        "wrong type for value; expected []string; got {}",
                        type_name(other)
                    )))
                }
            };
            s(parts.join(sep))
        }
        "title" => {
            arity(name, a, 1).map_err(Args)?;
            s(title(want_str(&a[0]).map_err(Args)?))
        }
        "lower" => {
            arity(name, a, 1).map_err(Args)?;
            s(want_str(&a[0]).map_err(Args)?.to_lowercase())
        }
        "upper" => {
            arity(name, a, 1).map_err(Args)?;
            s(want_str(&a[0]).map_err(Args)?.to_uppercase())
        }
        "pad" => {
            arity(name, a, 3).map_err(Args)?;
            let x = want_str(&a[0]).map_err(Args)?;
            let (pre, post) = (
                want_int(&a[1]).map_err(Args)?,
                want_int(&a[2]).map_err(Args)?,
            );
            s(format!(
                "{}{x}{}",
                " ".repeat(pre.max(0) as usize),
                " ".repeat(post.max(0) as usize)
            ))
        }
        "truncate" => {
            arity(name, a, 2).map_err(Args)?;
            let x = want_str(&a[0]).map_err(Args)?;
            let n = want_int(&a[1]).map_err(Args)?.max(0) as usize;
            // Go slices bytes; never split a character here.
            let mut cut = n.min(x.len());
            while !x.is_char_boundary(cut) {
                cut -= 1;
            }
            s(&x[..cut])
        }
        _ => return Err(Args(format!("function \"{name}\" not defined"))),
    })
}

/// Go's `index` of one step: arrays and strings by number, maps by key (a
/// missing key gives the element type's zero value).
fn index(item: &Val, i: &Val) -> Result<Val, String> {
    match item {
        Some(Value::Array(x)) => {
            let n =
                want_int(i).map_err(|_| "cannot index slice/array with type string".to_string())?;
            // Go checks against the capacity, then reflect panics at len.
            if n < 0 || n as usize > x.len() {
                return Err(format!("index out of range: {n}"));
            }
            if n as usize == x.len() {
                return Err("reflect: slice index out of range".into());
            }
            Ok(Some(x[n as usize].clone()))
        }
        Some(Value::String(x)) => {
            let n = want_int(i).map_err(|_| "cannot index string with type string".to_string())?;
            if n < 0 || n as usize >= x.len() {
                return Err(format!("index out of range: {n}"));
            }
            Ok(Some(Value::from(x.as_bytes()[n as usize])))
        }
        Some(Value::Object(m)) => {
            let Some(Value::String(k)) = i else {
                return Err(format!("value has type {}; should be string", type_name(i)));
            };
            Ok(Some(match m.get(k) {
                Some(v) => v.clone(),
                // map[string]string gives "", map[string]interface{} nil.
                None if m.values().all(Value::is_string) => Value::String(String::new()),
                None => Value::Null,
            }))
        }
        None | Some(Value::Null) => Err("index of untyped nil".into()),
        other => Err(format!("can't index item of type {}", type_name(other))),
    }
}

fn slice(a: &[Val]) -> Result<Val, String> {
    let Some(item) = a.first() else {
        return Err("wrong number of args for slice: want at least 1 got 0".into());
    };
    let idx: Vec<i64> = a[1..].iter().map(want_int).collect::<Result<_, _>>()?;
    let len = match item {
        Some(Value::String(x)) => x.len(),
        Some(Value::Array(x)) => x.len(),
        other => return Err(format!("can't slice item of type {}", type_name(other))),
    } as i64;
    let lo = idx.first().copied().unwrap_or(0);
    let hi = idx.get(1).copied().unwrap_or(len);
    if lo < 0 || hi < lo || hi > len {
        return Err(format!(
            "index out of range: {}",
            if lo < 0 { lo } else { hi }
        ));
    }
    Ok(Some(match item {
        Some(Value::String(x)) => Value::String(
            String::from_utf8_lossy(&x.as_bytes()[lo as usize..hi as usize]).into_owned(),
        ),
        Some(Value::Array(x)) => Value::Array(x[lo as usize..hi as usize].to_vec()),
        _ => unreachable!("checked above"),
    }))
}

/// Go's Sprint (spaces between operands when neither is a string) and
/// Sprintln (always spaces, and a newline).
pub fn sprint(a: &[Val], ln: bool) -> String {
    let mut out = String::new();
    for (i, v) in a.iter().enumerate() {
        let is_str = |v: &Val| matches!(v, Some(Value::String(_)));
        if i > 0 && (ln || (!is_str(v) && !is_str(&a[i - 1]))) {
            out.push(' ');
        }
        out.push_str(&print(v));
    }
    if ln {
        out.push('\n');
    }
    out
}

/// A small `fmt.Sprintf`: flags `-`, `0`, width, precision; verbs
/// v s d q f t x %.
fn printf(f: &str, a: &[Val]) -> String {
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    let mut next = a.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' || d == '.' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(v) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let left = spec.starts_with('-');
        let spec = spec.trim_start_matches('-');
        let zero = spec.starts_with('0');
        let (w, prec): (usize, Option<usize>) = match spec.split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0), p.parse().ok()),
            None => (spec.parse().unwrap_or(0), None),
        };
        let body = match (verb, v) {
            ('q', Some(Value::String(x))) => serde_json::to_string(x).unwrap_or_default(),
            ('f', Some(Value::Number(n))) => {
                format!("{:.p$}", n.as_f64().unwrap_or(0.0), p = prec.unwrap_or(6))
            }
            ('x', Some(Value::Number(n))) => format!("{:x}", n.as_i64().unwrap_or(0)),
            ('x', Some(Value::String(x))) => hex::encode(x),
            ('d', Some(Value::Number(n))) if n.as_i64().is_some() => n.to_string(),
            ('s' | 'v' | 't', v) => {
                let p = print(v);
                match prec {
                    Some(p2) if verb == 's' => p.chars().take(p2).collect(),
                    _ => p,
                }
            }
            (verb, v) => format!("%!{verb}({}={})", type_name(v), print(v)),
        };
        let pad = w.saturating_sub(body.chars().count());
        if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&(if zero { "0" } else { " " }).repeat(pad));
            out.push_str(&body);
        }
    }
    for extra in next {
        out.push_str(&format!("%!(EXTRA {}={})", type_name(extra), print(extra)));
    }
    out
}

fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => Ok(x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x.cmp(y)),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => Ok(x.cmp(y)),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ok(std::cmp::Ordering::Equal),
        (x, y) if type_name(x) != type_name(y) => Err("incompatible types for comparison".into()),
        _ => Err("invalid type for comparison".into()),
    }
}

/// Go's strings.Title: upper-cases the first letter of each word.
fn title(x: &str) -> String {
    let mut out = String::new();
    let mut prev_sep = true;
    for c in x.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}
