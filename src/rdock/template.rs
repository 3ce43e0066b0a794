//! docker's `--format`: Go text/template over JSON values, the `table`
//! prefix with docker's tabwriter alignment, and `json` rows.
//!
//! Written here rather than taken from a crate: `gtmpl` (the one Go-template
//! crate) is unmaintained since 2021 and has its own error texts, while
//! docker users see and script against Go's ("template: :1:2: executing ""
//! at <.Foo>: ..."). Supported: text, `{{- -}}` trimming, comments, `.A.B`,
//! `$`/`$x := `, `(pipelines)`, `|`, `if`/`else if`/`else`/`range`/`with`,
//! Go's functions (and or not len index slice print printf println eq ne lt
//! le gt ge) and docker's (json split join title lower upper pad truncate,
//! `.Label "key"` on list rows).
use serde_json::Value;

mod exec;
mod funcs;
mod parse;

/// How one command's listing prints by default and titles its columns.
pub struct Listing<'a> {
    /// The default format, e.g. "table {{.ID}}\t{{.Image}}".
    pub default: &'a str,
    /// Field -> column title, e.g. ("ID", "CONTAINER ID").
    pub headers: &'a [(&'a str, &'a str)],
}

/// How a template is run, for docker's error texts.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// The template's name in errors: "" for most commands, "version".
    pub name: &'a str,
    /// The Go type docker names for the data in "can't evaluate field X in
    /// type T", e.g. "*formatter.ContainerContext".
    pub root_type: &'a str,
    /// `inspect`: docker falls back to the raw JSON map, where a missing
    /// field is "map has no entry for key".
    pub missing_key_error: bool,
    /// Rendering a table's header row: docker's formatting functions return
    /// their argument, fields are looked up in the titles.
    pub header: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            name: "",
            root_type: "*formatter.Context",
            missing_key_error: false,
            header: false,
        }
    }
}

/// A template that failed to parse or execute, worded as docker words it.
#[derive(Debug, thiserror::Error)]
#[error("{prefix}{detail}")]
pub struct TemplateError {
    /// Failed while parsing (docker exits 64 for those in some commands).
    pub parse: bool,
    /// Go's message: "template: :1: unclosed action".
    pub detail: String,
    /// docker's lead-in, "template parsing error: " unless reworded.
    pub prefix: String,
    /// The exit code the command should end with.
    pub code: i32,
}

impl TemplateError {
    fn new(parse: bool, detail: String) -> Self {
        TemplateError {
            parse,
            detail,
            prefix: "template parsing error: ".into(),
            code: 1,
        }
    }

    /// Another command's wording and exit code.
    pub fn reworded(mut self, prefix: &str, code: i32) -> Self {
        self.prefix = prefix.into();
        self.code = code;
        self
    }

    /// `ps`'s wording: "failed to parse template: " / "failed to execute
    /// template: ", exit 1.
    pub fn ps_style(self) -> Self {
        let prefix = if self.parse {
            "failed to parse template: "
        } else {
            "failed to execute template: "
        };
        self.reworded(prefix, 1)
    }
}

/// 1-based line and 0-based column of a byte offset, as Go reports them.
fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src[..pos];
    let line = 1 + before.matches('\n').count();
    let col = before.rfind('\n').map_or(pos, |n| pos - n - 1);
    (line, col)
}

/// A parsed template.
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Parses `src`; `name` is the template's name in errors.
    pub fn parse(src: &str, name: &str) -> Result<Template, TemplateError> {
        match parse::parse(src) {
            Ok(nodes) => Ok(Template {
                src: src.to_string(),
                nodes,
            }),
            Err(e) => {
                let (line, _) = line_col(src, e.pos);
                Err(TemplateError::new(
                    true,
                    format!("template: {name}:{line}: {}", e.msg),
                ))
            }
        }
    }

    /// Runs the template with `data` as `.`.
    pub fn execute(&self, data: &Value, opts: &Options) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut ex = exec::Exec::new(&self.src, opts, data);
        ex.walk(&self.nodes, &Some(data.clone()), true, &mut out)
            .map_err(|e| TemplateError::new(false, e))?;
        Ok(out)
    }
}

/// Renders `tmpl` over `v` with the default options.
pub fn render(tmpl: &str, v: &Value) -> anyhow::Result<String> {
    render_with(tmpl, v, &Options::default()).map_err(anyhow::Error::new)
}

/// Renders `tmpl` over `v`.
pub fn render_with(tmpl: &str, v: &Value, opts: &Options) -> Result<String, TemplateError> {
    Template::parse(tmpl, opts.name)?.execute(v, opts)
}

/// Go's `json` of a value, as docker's `{{json .}}` prints it.
pub fn to_json(v: &Value) -> String {
    funcs::json(&Some(v.clone()))
}

/// Prints `rows` as `format` says: None or "table" the listing's default,
/// "table TMPL" a header and aligned rows, "json" one object per line, else
/// the template once per row.
pub fn print_list(format: Option<&str>, listing: &Listing, rows: &[Value]) -> anyhow::Result<()> {
    print_list_with(format, listing, rows, &Options::default()).map_err(anyhow::Error::new)
}

/// [`print_list`] with the command's options (error wording).
pub fn print_list_with(
    format: Option<&str>,
    listing: &Listing,
    rows: &[Value],
    opts: &Options,
) -> Result<(), TemplateError> {
    use std::io::Write;
    let out = format_list(format, listing, rows, opts)?;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(())
}

/// What [`print_list`] prints.
pub fn format_list(
    format: Option<&str>,
    listing: &Listing,
    rows: &[Value],
    opts: &Options,
) -> Result<String, TemplateError> {
    let f = match format {
        None | Some("") | Some("table") => listing.default,
        Some(f) => f,
    };
    if f == "json" {
        return Ok(rows.iter().map(|r| to_json(r) + "\n").collect());
    }
    let (table, body) = match f.strip_prefix("table") {
        Some(rest) => (true, rest),
        None => (false, f),
    };
    let body = body
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");
    let t = Template::parse(&body, opts.name)?;
    let mut out = String::new();
    for r in rows {
        out.push_str(&t.execute(r, opts)?);
        out.push('\n');
    }
    if !table {
        return Ok(out);
    }
    let titles: serde_json::Map<String, Value> = listing
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let hopts = Options {
        header: true,
        ..*opts
    };
    // docker ignores a header that fails to render.
    let header = t
        .execute(&Value::Object(titles), &hopts)
        .unwrap_or_default();
    Ok(tabwrite(&format!("{header}\n{out}")))
}

/// Aligns tab-separated cells as docker's tabwriter (minimum width 10,
/// padding 3, spaces): a column's width is set per block of consecutive
/// lines that have a cell there; the last cell of a line is not aligned.
pub fn tabwrite(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format_block(&lines, 0, lines.len(), &mut widths, &mut out);
    out
}

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

fn width(cell: &str) -> usize {
    cell.chars().count()
}

/// Go's tabwriter `format`: finds the blocks of column `widths.len()`.
fn format_block(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = MIN_WIDTH;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + PADDING);
            this += 1;
        }
        widths.push(w);
        format_block(lines, line0, this, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() {
                out.push_str(&" ".repeat(widths[j].saturating_sub(width(cell))));
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests;
