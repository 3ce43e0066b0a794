//! Executing a parsed template over a JSON value, with Go's semantics and
//! error wording ("executing \"\" at <.Foo>: ...").
use super::funcs::{self, CallError, Val};
use super::parse::{Arg, Cmd, Node, Pipe};
use super::Options;
use serde_json::Value;

/// Fields that hold Go maps in docker's types: a missing key there prints
/// `<no value>` instead of failing.
const MAP_FIELDS: &[&str] = &[
    "Labels",
    "Options",
    "DriverOpts",
    "Annotations",
    "Networks",
    "Ports",
    "ExposedPorts",
    "Volumes",
    "Data",
    "Containers",
    "Sysctls",
    "StorageOpt",
    "Tmpfs",
];

pub struct Exec<'a> {
    pub src: &'a str,
    pub opts: &'a Options<'a>,
    pub vars: Vec<(String, Val)>,
    /// The node being evaluated, as Go reports it: offset and text.
    at: (usize, String),
}

type EResult<T> = Result<T, String>;

impl<'a> Exec<'a> {
    pub fn new(src: &'a str, opts: &'a Options<'a>, data: &Value) -> Self {
        Exec {
            src,
            opts,
            vars: vec![("$".into(), Some(data.clone()))],
            at: (0, String::new()),
        }
    }

    /// `template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG`
    fn fail<T>(&self, msg: impl std::fmt::Display) -> EResult<T> {
        let (line, col) = super::line_col(self.src, self.at.0);
        let name = self.opts.name;
        Err(format!(
            "template: {name}:{line}:{col}: executing \"{name}\" at <{}>: {msg}",
            self.at.1
        ))
    }

    fn at(&mut self, pos: usize, node: impl ToString) {
        self.at = (pos, node.to_string());
    }

    pub fn walk(&mut self, nodes: &[Node], dot: &Val, root: bool, out: &mut String) -> EResult<()> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipe(dot, root, p, true)?;
                    if p.decl.is_empty() {
                        out.push_str(&funcs::print(&v));
                    }
                }
                Node::If(p, body, els) | Node::With(p, body, els) => {
                    let mark = self.vars.len();
                    let v = self.pipe(dot, root, p, true)?;
                    if funcs::truth(&v) {
                        if matches!(n, Node::With(..)) {
                            self.walk(body, &v, false, out)?;
                        } else {
                            self.walk(body, dot, root, out)?;
                        }
                    } else {
                        self.walk(els, dot, root, out)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range(p, body, els) => self.range(dot, root, p, body, els, out)?,
            }
        }
        Ok(())
    }

    fn range(
        &mut self,
        dot: &Val,
        root: bool,
        p: &Pipe,
        body: &[Node],
        els: &[Node],
        out: &mut String,
    ) -> EResult<()> {
        let mark = self.vars.len();
        let v = self.pipe(dot, root, p, false)?;
        let items: Vec<(Value, Value)> = match &v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, e)| (Value::from(i), e.clone()))
                .collect(),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, e)| (Value::String(k.clone()), e.clone()))
                .collect(),
            other => return self.fail(format!("range can't iterate over {}", funcs::print(other))),
        };
        if items.is_empty() {
            self.walk(els, dot, root, out)?;
        }
        for (k, e) in items {
            match p.decl.as_slice() {
                [v] => self.vars.push((v.clone(), Some(e.clone()))),
                [kn, vn] => {
                    self.vars.push((kn.clone(), Some(k)));
                    self.vars.push((vn.clone(), Some(e.clone())));
                }
                _ => {}
            }
            self.walk(body, &Some(e), false, out)?;
            self.vars.truncate(mark);
        }
        Ok(())
    }

    /// Evaluates a pipeline; `declare` binds its variables to the result.
    fn pipe(&mut self, dot: &Val, root: bool, p: &Pipe, declare: bool) -> EResult<Val> {
        self.at(p.pos, p);
        let mut value: Option<Val> = None;
        for c in &p.cmds {
            value = Some(self.command(dot, root, c, value)?);
        }
        let v = value.flatten();
        if declare {
            for d in &p.decl {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(&mut self, dot: &Val, root: bool, c: &Cmd, last: Option<Val>) -> EResult<Val> {
        let first = &c.args[0];
        match first {
            Arg::Field { pos, chain } => {
                self.at(*pos, first);
                self.chain(dot.clone(), root, chain, dot, root, &c.args, last)
            }
            Arg::Var { pos, name, chain } => {
                self.at(*pos, first);
                let v = self.var(name)?;
                if chain.is_empty() {
                    self.not_a_function(c, &last)?;
                    return Ok(v);
                }
                self.chain(v, name == "$", chain, dot, root, &c.args, last)
            }
            Arg::Sub { pipe, chain, .. } => {
                if chain.is_empty() {
                    self.not_a_function(c, &last)?;
                    return self.pipe(dot, root, pipe, false);
                }
                let v = self.pipe(dot, root, pipe, false)?;
                self.at(first.pos(), first);
                self.chain(v, false, chain, dot, root, &c.args, last)
            }
            Arg::Func { pos, name } => {
                self.at(*pos, name);
                self.function(dot, root, name, c, &c.args[1..], last)
            }
            _ => {
                self.at(first.pos(), first);
                self.not_a_function(c, &last)?;
                self.arg(dot, root, first)
            }
        }
    }

    fn not_a_function(&self, c: &Cmd, last: &Option<Val>) -> EResult<()> {
        if c.args.len() > 1 || last.is_some() {
            return self.fail(format!("can't give argument to non-function {}", c.args[0]));
        }
        Ok(())
    }

    fn var(&self, name: &str) -> EResult<Val> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.fail(format!("undefined variable: {name}")),
        }
    }

    /// `.A.B.C` on `recv`; the last field gets the command's other
    /// arguments (only docker's `.Label "key"` method takes any).
    #[allow(clippy::too_many_arguments)]
    fn chain(
        &mut self,
        mut recv: Val,
        recv_is_root: bool,
        chain: &[String],
        dot: &Val,
        root: bool,
        args: &[Arg],
        last: Option<Val>,
    ) -> EResult<Val> {
        let n = chain.len();
        for (i, name) in chain.iter().enumerate() {
            let parent = if i == 0 {
                None
            } else {
                Some(chain[i - 1].as_str())
            };
            let is_last = i + 1 == n;
            let mut margs = Vec::new();
            if is_last && (args.len() > 1 || last.is_some()) {
                for a in &args[1..] {
                    margs.push(self.arg(dot, root, a)?);
                }
                if let Some(l) = &last {
                    margs.push(l.clone());
                }
            }
            recv = self.field(
                recv,
                recv_is_root && i == 0,
                parent,
                name,
                is_last.then_some(margs),
            )?;
        }
        Ok(recv)
    }

    fn field(
        &mut self,
        recv: Val,
        is_root: bool,
        parent: Option<&str>,
        name: &str,
        margs: Option<Vec<Val>>,
    ) -> EResult<Val> {
        let has_args = margs.as_ref().is_some_and(|m| !m.is_empty());
        let obj = match recv {
            None => {
                if self.opts.missing_key_error {
                    return self.fail(format!("nil data; no entry for key {name:?}"));
                }
                return Ok(None);
            }
            Some(Value::Null) => {
                return self.fail(format!("nil pointer evaluating interface {{}}.{name}"))
            }
            Some(Value::Object(m)) => m,
            other => {
                return self.fail(format!(
                    "can't evaluate field {name} in type {}",
                    funcs::type_name(&other)
                ))
            }
        };
        let is_map = !name.starts_with(|c: char| c.is_ascii_uppercase())
            || parent.is_some_and(|p| MAP_FIELDS.contains(&p));
        if name == "Label" && !obj.contains_key("Label") {
            // docker's list contexts: .Label "key" reads the joined Labels.
            let margs = margs.unwrap_or_default();
            let [Some(Value::String(key))] = margs.as_slice() else {
                return self.fail(format!(
                    "wrong number of args for Label: want 1 got {}",
                    margs.len()
                ));
            };
            if self.opts.header {
                return Ok(Some(Value::String(key.clone())));
            }
            let labels = obj.get("Labels").and_then(Value::as_str).unwrap_or("");
            let v = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k == key)
                .map_or("", |(_, v)| v);
            return Ok(Some(Value::String(v.into())));
        }
        // Go's field names differ from their JSON names at times only in
        // case (ID/Id, APIVersion/ApiVersion): docker accepts both.
        let found = obj.get(name).or_else(|| {
            (!is_map)
                .then(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .flatten()
                .map(|(_, v)| v)
        });
        match found {
            Some(v) => {
                if has_args {
                    return self.fail(if is_map {
                        format!("{name} is not a method but has arguments")
                    } else {
                        format!("{name} has arguments but cannot be invoked as function")
                    });
                }
                Ok(Some(v.clone()))
            }
            None if self.opts.header => Ok(Some(Value::String(String::new()))),
            None if is_map => Ok(None),
            None if self.opts.missing_key_error => {
                self.fail(format!("map has no entry for key {name:?}"))
            }
            None => {
                let ty = if is_root {
                    self.opts.root_type
                } else {
                    "struct"
                };
                self.fail(format!("can't evaluate field {name} in type {ty}"))
            }
        }
    }

    /// An operand used as an argument.
    fn arg(&mut self, dot: &Val, root: bool, a: &Arg) -> EResult<Val> {
        Ok(match a {
            Arg::Dot(_) => dot.clone(),
            Arg::Field { pos, chain } => {
                self.at(*pos, a);
                self.chain(dot.clone(), root, chain, dot, root, &[], None)?
            }
            Arg::Var { pos, name, chain } => {
                self.at(*pos, a);
                let v = self.var(name)?;
                if chain.is_empty() {
                    v
                } else {
                    self.chain(v, name == "$", chain, dot, root, &[], None)?
                }
            }
            Arg::Sub { pipe, chain, .. } => {
                let v = self.pipe(dot, root, pipe, false)?;
                if chain.is_empty() {
                    v
                } else {
                    self.at(a.pos(), a);
                    self.chain(v, false, chain, dot, root, &[], None)?
                }
            }
            Arg::Func { pos, name } => {
                self.at(*pos, name);
                let c = Cmd {
                    pos: *pos,
                    args: vec![a.clone()],
                };
                self.function(dot, root, name, &c, &[], None)?
            }
            Arg::Str { val, .. } => Some(Value::String(val.clone())),
            Arg::Num { val, .. } => Some(Value::Number(val.clone())),
            Arg::Bool(_, b) => Some(Value::Bool(*b)),
            Arg::Nil(_) => {
                self.at(a.pos(), a);
                return self.fail("nil is not a command");
            }
        })
    }

    fn function(
        &mut self,
        dot: &Val,
        root: bool,
        name: &str,
        c: &Cmd,
        args: &[Arg],
        last: Option<Val>,
    ) -> EResult<Val> {
        // and/or stop at the first operand that decides.
        if name == "and" || name == "or" {
            let mut v = None;
            let total = args.len() + usize::from(last.is_some());
            if total == 0 {
                return self.fail(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                ));
            }
            for a in args {
                v = self.arg(dot, root, a)?;
                if funcs::truth(&v) == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(l) = last {
                v = l;
            }
            return Ok(v);
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(dot, root, a)?);
        }
        if let Some(l) = last {
            vals.push(l);
        }
        match funcs::call(name, vals, self.opts.header) {
            Ok(v) => Ok(v),
            Err(CallError::Args(m)) => {
                self.at(c.args[0].pos(), name);
                self.fail(m)
            }
            Err(CallError::Call(m)) => {
                self.at(c.pos, c);
                self.fail(format!("error calling {name}: {m}"))
            }
        }
    }
}
