//! Parsing Go's text/template syntax: the lexer of one action and the tree
//! of text, actions, `if`/`range`/`with` (with `else` and `else if`).
use super::funcs;

/// An operand of a command.
#[derive(Clone, Debug)]
pub enum Arg {
    /// `.A.B` (empty chain: never; `.` is `Dot`).
    Field {
        pos: usize,
        chain: Vec<String>,
    },
    Dot(usize),
    /// `$x.A`; `$` is the template's data.
    Var {
        pos: usize,
        name: String,
        chain: Vec<String>,
    },
    Func {
        pos: usize,
        name: String,
    },
    Str {
        pos: usize,
        val: String,
        orig: String,
    },
    Num {
        pos: usize,
        val: serde_json::Number,
        orig: String,
    },
    Bool(usize, bool),
    Nil(usize),
    /// `(pipeline).A.B`
    Sub {
        pos: usize,
        pipe: Box<Pipe>,
        chain: Vec<String>,
    },
}

#[derive(Clone, Debug)]
pub struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug)]
pub struct Pipe {
    pub pos: usize,
    pub decl: Vec<String>,
    pub cmds: Vec<Cmd>,
}

#[derive(Clone, Debug)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Var { pos, .. }
            | Arg::Func { pos, .. }
            | Arg::Str { pos, .. }
            | Arg::Num { pos, .. }
            | Arg::Sub { pos, .. } => *pos,
            Arg::Dot(p) | Arg::Bool(p, _) | Arg::Nil(p) => *p,
        }
    }
}

fn chain_str(chain: &[String]) -> String {
    chain.iter().map(|c| format!(".{c}")).collect()
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Field { chain, .. } => write!(f, "{}", chain_str(chain)),
            Arg::Dot(_) => write!(f, "."),
            Arg::Var { name, chain, .. } => write!(f, "{name}{}", chain_str(chain)),
            Arg::Func { name, .. } => write!(f, "{name}"),
            Arg::Str { orig, .. } | Arg::Num { orig, .. } => write!(f, "{orig}"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Nil(_) => write!(f, "nil"),
            Arg::Sub { pipe, chain, .. } => write!(f, "({pipe}){}", chain_str(chain)),
        }
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(|a| a.to_string()).collect();
        write!(f, "{}", args.join(" "))
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            write!(f, "{} := ", self.decl.join(", "))?;
        }
        let cmds: Vec<String> = self.cmds.iter().map(|c| c.to_string()).collect();
        write!(f, "{}", cmds.join(" | "))
    }
}

/// A parse error: the message and the byte offset it is reported at (Go
/// names only the line).
#[derive(Debug)]
pub struct ParseError {
    pub pos: usize,
    pub msg: String,
}

type PResult<T> = Result<T, ParseError>;

fn perr<T>(pos: usize, msg: impl Into<String>) -> PResult<T> {
    Err(ParseError {
        pos,
        msg: msg.into(),
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Field(String),
    Dot,
    Var(String),
    Ident(String),
    Str(String, String),
    Num(serde_json::Number, String),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

/// One `{{...}}`: its tokens with their offsets, and where it starts.
struct Action {
    pos: usize,
    toks: Vec<(Tok, usize)>,
}

enum Item {
    Text(String),
    Action(Action),
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits the source into text and lexed actions, applying `{{-` / `-}}`
/// trimming and dropping comments.
fn lex(src: &str) -> PResult<Vec<Item>> {
    let b = src.as_bytes();
    let mut items = Vec::new();
    let mut i = 0;
    let mut trim_next = false;
    while i < b.len() {
        let Some(open) = src[i..].find("{{").map(|o| o + i) else {
            let mut t = &src[i..];
            if trim_next {
                t = t.trim_start_matches(|c: char| c.is_ascii_whitespace());
            }
            items.push(Item::Text(t.to_string()));
            break;
        };
        let mut text = &src[i..open];
        if trim_next {
            text = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
        }
        let mut j = open + 2;
        if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(|c| is_space(*c)) {
            text = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
            j += 2;
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        // A comment: {{/* ... */}}
        let rest = src[j..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.starts_with("/*") {
            let start = src.len() - rest.len();
            let Some(end) = src[start..].find("*/").map(|e| e + start + 2) else {
                return perr(open, "unclosed comment");
            };
            let after = &src[end..];
            let (close, trim) = if let Some(a) = after.strip_prefix(" -}}") {
                (src.len() - a.len(), true)
            } else if let Some(a) = after.strip_prefix("}}") {
                (src.len() - a.len(), false)
            } else {
                return perr(open, "comment ends before closing delimiter");
            };
            i = close;
            trim_next = trim;
            continue;
        }
        let (action, end, trim) = lex_action(src, j)?;
        items.push(Item::Action(action));
        i = end;
        trim_next = trim;
    }
    Ok(items)
}

/// Lexes one action's content from `start`; returns it, the offset after its
/// closing `}}` and whether that was `-}}`.
fn lex_action(src: &str, start: usize) -> PResult<(Action, usize, bool)> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = start;
    loop {
        let Some(&c) = b.get(i) else {
            return perr(start, "unclosed action");
        };
        if is_space(c) {
            if b[i..].starts_with(b" -}}") {
                return Ok((Action { pos: start, toks }, i + 4, true));
            }
            i += 1;
            continue;
        }
        if b[i..].starts_with(b"}}") {
            return Ok((Action { pos: start, toks }, i + 2, false));
        }
        let pos = i;
        let tok = match c {
            b'|' => {
                i += 1;
                Tok::Pipe
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'=' => {
                i += 1;
                Tok::Assign
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Declare
            }
            b'"' | b'`' => {
                let (val, end) = lex_string(src, i)?;
                i = end;
                Tok::Str(val, src[pos..end].to_string())
            }
            b'.' | b'$' => {
                let word_end = src[i + 1..]
                    .find(|ch: char| !is_alnum(ch))
                    .map_or(src.len(), |e| e + i + 1);
                let word = &src[i + 1..word_end];
                if c == b'.' && !word.is_empty() && word.as_bytes()[0].is_ascii_digit() {
                    return perr(pos, format!("bad number syntax: \"{}\"", &src[i..word_end]));
                }
                i = word_end;
                match (c, word.is_empty()) {
                    (b'.', true) => Tok::Dot,
                    (b'.', false) => Tok::Field(word.to_string()),
                    _ => Tok::Var(format!("${word}")),
                }
            }
            b'0'..=b'9' | b'-' | b'+' => {
                let end = src[i + 1..]
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
                    .map_or(src.len(), |e| e + i + 1);
                let text = &src[i..end];
                i = end;
                let clean = text.replace('_', "");
                let num = if let Ok(n) = clean.parse::<i64>() {
                    serde_json::Number::from(n)
                } else if let Some(n) = clean
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    n
                } else {
                    return perr(pos, format!("bad number syntax: \"{text}\""));
                };
                Tok::Num(num, text.to_string())
            }
            _ if is_alnum(src[i..].chars().next().unwrap_or(' ')) => {
                let end = src[i..]
                    .find(|ch: char| !is_alnum(ch))
                    .map_or(src.len(), |e| e + i);
                let w = src[i..end].to_string();
                i = end;
                Tok::Ident(w)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or(' ');
                return perr(pos, format!("unexpected {ch:?} in command"));
            }
        };
        toks.push((tok, pos));
    }
}

/// A quoted ("..." with Go escapes) or raw (`...`) string at `start`.
fn lex_string(src: &str, start: usize) -> PResult<(String, usize)> {
    let quote = src.as_bytes()[start];
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let at = start + 1 + k;
        if c as u32 == quote as u32 {
            return Ok((out, at + 1));
        }
        if quote == b'"' && c == '\n' {
            break;
        }
        if quote == b'"' && c == '\\' {
            let Some((_, e)) = chars.next() else { break };
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                '0' => '\0',
                other => return perr(at, format!("unknown escape sequence: \\{other}")),
            });
            continue;
        }
        out.push(c);
    }
    if quote == b'`' {
        perr(start, "unterminated raw quoted string")
    } else {
        perr(start, "unterminated quoted string")
    }
}

/// What ended a list: `{{end}}`, `{{else ...}}` (with the rest of its
/// tokens) or the end of the input.
enum Stop {
    End,
    Else(Vec<(Tok, usize)>, usize),
    Eof,
}

struct Parser {
    items: std::vec::IntoIter<Item>,
    vars: Vec<String>,
}

/// Parses a template into its tree.
pub fn parse(src: &str) -> PResult<Vec<Node>> {
    let mut p = Parser {
        items: lex(src)?.into_iter(),
        vars: vec!["$".to_string()],
    };
    let (list, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(list),
        Stop::End => perr(src.len(), "unexpected {{end}}"),
        Stop::Else(_, pos) => perr(pos, "unexpected {{else}}"),
    }
}

impl Parser {
    fn list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mut nodes = Vec::new();
        while let Some(item) = self.items.next() {
            let a = match item {
                Item::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Item::Action(a) => a,
            };
            let keyword = match a.toks.first() {
                Some((Tok::Ident(w), _)) => w.as_str(),
                _ => "",
            };
            match keyword {
                "end" => {
                    if a.toks.len() > 1 {
                        return perr(a.pos, "unexpected junk after end");
                    }
                    return Ok((nodes, Stop::End));
                }
                "else" => return Ok((nodes, Stop::Else(a.toks[1..].to_vec(), a.pos))),
                "if" | "range" | "with" => {
                    let kw = keyword.to_string();
                    nodes.push(self.control(&kw, &a.toks[1..], a.pos)?)
                }
                "define" | "template" | "block" | "break" | "continue" => {
                    return perr(a.pos, format!("{keyword} is not supported by rdock"))
                }
                _ => {
                    let pipe = self.pipeline(&a.toks, a.pos, "command", false)?;
                    nodes.push(Node::Action(pipe));
                }
            }
        }
        Ok((nodes, Stop::Eof))
    }

    /// `if`/`range`/`with` PIPELINE, its list, an optional else list and
    /// `{{end}}`; `{{else if ...}}` nests an `if` that shares that end.
    fn control(&mut self, kw: &str, toks: &[(Tok, usize)], pos: usize) -> PResult<Node> {
        let saved = self.vars.len();
        let pipe = self.pipeline(toks, pos, kw, kw == "range")?;
        let (body, stop) = self.list()?;
        let els = match stop {
            Stop::End => Vec::new(),
            Stop::Eof => return perr(pos, "unexpected EOF"),
            Stop::Else(rest, epos) => {
                if let Some((Tok::Ident(w), _)) = rest.first() {
                    if w == "if" {
                        let nested = self.control("if", &rest[1..], epos)?;
                        self.vars.truncate(saved);
                        return Ok(make(kw, pipe, body, vec![nested]));
                    }
                }
                if !rest.is_empty() {
                    return perr(epos, "unexpected junk after else");
                }
                let (els, stop) = self.list()?;
                match stop {
                    Stop::End => els,
                    Stop::Eof => return perr(pos, "unexpected EOF"),
                    Stop::Else(_, p) => return perr(p, "unexpected {{else}}"),
                }
            }
        };
        self.vars.truncate(saved);
        Ok(make(kw, pipe, body, els))
    }

    /// A pipeline: optional `$x :=` (or `$k, $v :=` in range), commands
    /// separated by `|`.
    fn pipeline(
        &mut self,
        toks: &[(Tok, usize)],
        pos: usize,
        context: &str,
        two_vars: bool,
    ) -> PResult<Pipe> {
        let mut toks = toks;
        let mut decl = Vec::new();
        match toks {
            [(Tok::Var(v), _), (Tok::Declare | Tok::Assign, p), rest @ ..] => {
                if !self.vars.contains(v) && matches!(toks[1].0, Tok::Assign) {
                    return perr(*p, format!("undefined variable \"{v}\""));
                }
                decl.push(v.clone());
                toks = rest;
            }
            [(Tok::Var(k), _), (Tok::Comma, p), (Tok::Var(v), _), (Tok::Declare, _), rest @ ..] => {
                if !two_vars {
                    return perr(*p, format!("too many declarations in {context}"));
                }
                decl.push(k.clone());
                decl.push(v.clone());
                toks = rest;
            }
            _ => {}
        }
        let start = toks.first().map_or(pos, |t| t.1);
        let mut cmds = Vec::new();
        let mut k = 0;
        let mut iter = toks;
        loop {
            let (cmd, used) = self.command(iter, pos)?;
            k += used;
            if cmd.args.is_empty() {
                if cmds.is_empty() && iter.is_empty() {
                    return perr(pos, format!("missing value for {context}"));
                }
                return perr(pos, "missing value for command");
            }
            cmds.push(cmd);
            match toks.get(k) {
                None => break,
                Some((Tok::Pipe, _)) => {
                    k += 1;
                    iter = &toks[k..];
                }
                Some((Tok::RParen, p)) => return perr(*p, "unexpected right paren"),
                Some((t, p)) => return perr(*p, format!("unexpected {t:?} in operand")),
            }
        }
        // Declared after the pipeline is parsed: `$x := $x` refers to the outer one.
        self.vars.extend(decl.iter().cloned());
        Ok(Pipe {
            pos: start,
            decl,
            cmds,
        })
    }

    /// Operands up to `|`, `)` or the end; returns the command and the
    /// number of tokens used.
    fn command(&mut self, toks: &[(Tok, usize)], pos: usize) -> PResult<(Cmd, usize)> {
        let cpos = toks.first().map_or(pos, |t| t.1);
        let mut args = Vec::new();
        let mut k = 0;
        while let Some((t, p)) = toks.get(k) {
            if matches!(t, Tok::Pipe | Tok::RParen) {
                break;
            }
            let (arg, used) = self.operand(&toks[k..], *p)?;
            args.push(arg);
            k += used;
        }
        Ok((Cmd { pos: cpos, args }, k))
    }

    fn operand(&mut self, toks: &[(Tok, usize)], pos: usize) -> PResult<(Arg, usize)> {
        let mut k = 1;
        let fields = |k: &mut usize| {
            let mut chain = Vec::new();
            let mut last = pos;
            while let Some((Tok::Field(f), p)) = toks.get(*k) {
                chain.push(f.clone());
                last = *p;
                *k += 1;
            }
            (chain, last)
        };
        let arg = match &toks[0].0 {
            Tok::Field(f) => {
                let (more, last) = fields(&mut k);
                let mut chain = vec![f.clone()];
                // Go reports a chain at its second field.
                let at = if more.is_empty() {
                    pos
                } else {
                    toks[1].1.min(last)
                };
                chain.extend(more);
                Arg::Field { pos: at, chain }
            }
            Tok::Dot => {
                if let Some((Tok::Field(_), p)) = toks.get(1) {
                    return perr(*p, "unexpected . after term \".\"");
                }
                Arg::Dot(pos)
            }
            Tok::Var(name) => {
                if !self.vars.contains(name) {
                    return perr(pos, format!("undefined variable \"{name}\""));
                }
                let (chain, _) = fields(&mut k);
                Arg::Var {
                    pos,
                    name: name.clone(),
                    chain,
                }
            }
            Tok::Ident(w) => match w.as_str() {
                "true" | "false" => Arg::Bool(pos, w == "true"),
                "nil" => Arg::Nil(pos),
                _ if funcs::exists(w) => Arg::Func {
                    pos,
                    name: w.clone(),
                },
                _ => return perr(pos, format!("function \"{w}\" not defined")),
            },
            Tok::Str(val, orig) => Arg::Str {
                pos,
                val: val.clone(),
                orig: orig.clone(),
            },
            Tok::Num(val, orig) => Arg::Num {
                pos,
                val: val.clone(),
                orig: orig.clone(),
            },
            Tok::LParen => {
                let mut depth = 0;
                let mut close = None;
                for (n, (t, _)) in toks.iter().enumerate() {
                    match t {
                        Tok::LParen => depth += 1,
                        Tok::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                close = Some(n);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(close) = close else {
                    return perr(pos, "unclosed left paren");
                };
                let pipe = self.pipeline(&toks[1..close], pos, "parenthesized pipeline", false)?;
                k = close + 1;
                let (chain, _) = fields(&mut k);
                Arg::Sub {
                    pos,
                    pipe: Box::new(pipe),
                    chain,
                }
            }
            t => return perr(pos, format!("unexpected {t:?} in operand")),
        };
        Ok((arg, k))
    }
}

fn make(kw: &str, pipe: Pipe, body: Vec<Node>, els: Vec<Node>) -> Node {
    match kw {
        "if" => Node::If(pipe, body, els),
        "range" => Node::Range(pipe, body, els),
        _ => Node::With(pipe, body, els),
    }
}
