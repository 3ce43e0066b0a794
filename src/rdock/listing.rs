//! `--format` for `events`, `stats` and `system df` until rdock has a
//! Go-template engine: docker's `table` (default or `table {{.A}}\t{{.B}}`),
//! `{{json .}}` and plain `{{.Field}}` / `{{.A.B}}` substitutions; fields are
//! looked up case-insensitively, as the rows carry docker's JSON names.
//! Same shape as the template module's `print_list` / `render`, so that it
//! can replace this file by a re-export.
use anyhow::{bail, Result};
use serde_json::Value;

/// A listing: its default `table ...` template and the header of each field.
pub struct Listing {
    pub table: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
}

/// Prints `rows` in `format` (None: the default table).
pub fn print_list(format: Option<&str>, listing: &Listing, rows: &[Value]) -> Result<()> {
    let format = match format {
        None | Some("") | Some("table") => listing.table,
        Some(f) => f,
    };
    let format = format.replace("\\t", "\t").replace("\\n", "\n");
    let Some(tmpl) = format.strip_prefix("table") else {
        for r in rows {
            println!("{}", render(&format, r)?);
        }
        return Ok(());
    };
    let tmpl = tmpl.trim_matches(' ');
    let header = substitute(tmpl, &mut |path| {
        let f = path.trim().trim_start_matches('.');
        Ok(listing
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(f))
            .map_or_else(|| f.to_ascii_uppercase(), |(_, h)| h.to_string()))
    })?;
    let mut lines = vec![header];
    for r in rows {
        lines.push(render(tmpl, r)?);
    }
    print!("{}", tabwrite(&lines));
    Ok(())
}

/// Renders one row: `{{json .}}`, `{{json .X}}`, `{{.X}}`, `{{.X.Y}}`.
pub fn render(tmpl: &str, v: &Value) -> Result<String> {
    substitute(tmpl, &mut |action| {
        let action = action.trim();
        let (json, path) = match action.strip_prefix("json ") {
            Some(p) => (true, p.trim()),
            None => (false, action),
        };
        let Some(path) = path.strip_prefix('.') else {
            bail!("template: unsupported action {{{{{action}}}}}");
        };
        let mut cur = v;
        let mut in_map = false;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let found = cur
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)));
            match found {
                Some((k, x)) => {
                    // Go maps (not struct fields): a missing key is no error.
                    in_map = k == "Attributes" || k == "Labels";
                    cur = x
                }
                None if in_map => return Ok("<no value>".into()),
                None => bail!("template: can't evaluate field {part}"),
            }
        }
        Ok(match (json, cur) {
            (true, x) => serde_json::to_string(x)?,
            (false, Value::String(s)) => s.clone(),
            (false, Value::Object(o)) => {
                let items: Vec<String> = o
                    .iter()
                    .map(|(k, x)| format!("{k}:{}", x.as_str().map_or(x.to_string(), String::from)))
                    .collect();
                format!("map[{}]", items.join(" "))
            }
            (false, x) => x.to_string(),
        })
    })
}

fn substitute(tmpl: &str, f: &mut impl FnMut(&str) -> Result<String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else {
            bail!("template: unclosed action");
        };
        out.push_str(&f(&rest[i + 2..i + j])?);
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// docker's tabwriter (minwidth 10, padding 3): each tab-separated cell is
/// padded to its column's width; the last cell of a line is not.
pub fn tabwrite(lines: &[String]) -> String {
    let cells: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &cells {
        for (i, c) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max((c.chars().count() + 3).max(10));
        }
    }
    let mut out = String::new();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if i + 1 == row.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_and_json() {
        let v = json!({"Name": "s1", "Actor": {"ID": "abc", "Attributes": {"name": "e1"}}});
        assert_eq!(render("{{.Name}} {{.name}}", &v).unwrap(), "s1 s1");
        assert_eq!(render("{{.Actor.Attributes.name}}", &v).unwrap(), "e1");
        assert_eq!(
            render("{{json .Actor.Attributes}}", &v).unwrap(),
            r#"{"name":"e1"}"#
        );
        assert!(render("{{.Foo}}", &v).is_err());
        assert_eq!(render("{{.Actor.Attributes.x}}", &v).unwrap(), "<no value>");
        assert!(render("{{.Name", &v).is_err());
    }

    #[test]
    fn tables_pad_to_ten_and_three() {
        let t = tabwrite(&["NAME\tCPU %\tPIDS".into(), "s1\t0.00%\t1".into()]);
        assert_eq!(t, "NAME      CPU %     PIDS\ns1        0.00%     1\n");
        let t = tabwrite(&["CONTAINER ID\tNAME".into(), "3ab32865075b\ts3".into()]);
        assert_eq!(t, "CONTAINER ID   NAME\n3ab32865075b   s3\n");
    }
}
