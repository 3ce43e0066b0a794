//! The renderer against docker 20.10's outputs (transcripts in the issue's
//! notes).
use super::*;
use serde_json::json;

fn row() -> Value {
    json!({
        "ID": "a82acc90c6e9", "Names": "f1", "Status": "Up 4 seconds", "State": "running",
        "Labels": "app=web,tier=1", "Command": "\"sleep 1000\"", "Image": "busybox"
    })
}

fn r(t: &str) -> String {
    render(t, &row()).unwrap()
}

fn err(t: &str) -> String {
    render(t, &row()).unwrap_err().to_string()
}

#[test]
fn fields_and_text() {
    assert_eq!(r("{{.ID}}|{{.Names}}"), "a82acc90c6e9|f1");
    assert_eq!(r("x {{ .Names }} y"), "x f1 y");
    assert!(r("{{.}}").starts_with("map[Command:\"sleep 1000\" ID:"));
    assert_eq!(r("a  {{- .Names -}}  b"), "af1b");
    assert_eq!(r("{{/* a comment */}}{{.Names}}"), "f1");
}

#[test]
fn docker_functions_as_docker_prints_them() {
    assert_eq!(r("{{upper .Names}}"), "F1");
    assert_eq!(r("{{lower .Status}}"), "up 4 seconds");
    assert_eq!(r("{{title .State}}"), "Running");
    assert_eq!(r("{{json .Names}}"), "\"f1\"");
    assert_eq!(r(r#"{{join (split .Labels ",") ";"}}"#), "app=web;tier=1");
    assert_eq!(r(r#"{{split .Labels ","}}"#), "[app=web tier=1]");
    assert_eq!(r(r#"{{index (split .Labels ",") 0}}"#), "app=web");
    assert_eq!(r("{{len .Names}}"), "2");
    assert_eq!(r("{{truncate .ID 4}}"), "a82a");
    assert_eq!(r("{{truncate .Names 40}}"), "f1");
    assert_eq!(r("{{println .Names}}"), "f1\n");
    assert_eq!(r("{{pad .Names 2 3}}|"), "  f1   |");
    assert_eq!(r(r#"{{.Label "tier"}}"#), "1");
    assert_eq!(r(r#"{{.Label "none"}}"#), "");
    assert_eq!(
        r(r#"{{.Names | printf "%q"}} {{print 1 2 "a" 3}}"#),
        "\"f1\" 1 2a3"
    );
    assert_eq!(r(r#"{{printf "%-5s|%3d" .Names 7}}"#), "f1   |  7");
}

#[test]
fn json_escapes_html_as_go_does() {
    let v = json!({"Digest": "<none>", "A": "x&y"});
    assert_eq!(
        render("{{json .}}", &v).unwrap(),
        r#"{"A":"x\u0026y","Digest":"\u003cnone\u003e"}"#
    );
}

#[test]
fn control_structures() {
    assert_eq!(
        r(r#"{{if eq .State "running"}}up{{else}}down{{end}}"#),
        "up"
    );
    assert_eq!(
        r(r#"{{if eq .State "x"}}1{{else if eq .State "running"}}2{{else}}3{{end}}"#),
        "2"
    );
    assert_eq!(
        r(r#"{{range split .Labels ","}}[{{.}}]{{end}}"#),
        "[app=web][tier=1]"
    );
    assert_eq!(
        r(r#"{{range $i, $l := split .Labels ","}}{{$i}}={{$l}} {{end}}"#),
        "0=app=web 1=tier=1 "
    );
    assert_eq!(r("{{with .Names}}<{{.}}>{{end}}"), "<f1>");
    assert_eq!(r("{{$n := .Names}}{{$n}}{{$.ID}}"), "f1a82acc90c6e9");
    assert_eq!(r(r#"{{range split "" ","}}x{{else}}none{{end}}"#), "x");
    assert_eq!(r(r#"{{if and .Names (not .State)}}y{{else}}n{{end}}"#), "n");
    assert_eq!(r(r#"{{or "" .Names}}"#), "f1");
    let v = json!({"M": {"b": 2, "a": 1}, "L": []});
    assert_eq!(
        render("{{range $k, $v := .M}}{{$k}}:{{$v}},{{end}}", &v).unwrap(),
        "a:1,b:2,"
    );
    assert_eq!(
        render("{{range .L}}x{{else}}empty{{end}}", &v).unwrap(),
        "empty"
    );
}

#[test]
fn parse_errors_as_go_words_them() {
    assert_eq!(
        err("{{.Names"),
        "template parsing error: template: :1: unclosed action"
    );
    assert_eq!(
        err("{{nosuch .Names}}"),
        "template parsing error: template: :1: function \"nosuch\" not defined"
    );
    assert_eq!(
        err("{{if .Names}}x"),
        "template parsing error: template: :1: unexpected EOF"
    );
    assert_eq!(
        err("{{end}}"),
        "template parsing error: template: :1: unexpected {{end}}"
    );
    assert_eq!(
        err("{{$x}}"),
        "template parsing error: template: :1: undefined variable \"$x\""
    );
    assert_eq!(
        err("a\n{{}}"),
        "template parsing error: template: :2: missing value for command"
    );
    let e = Template::parse("{{.A", "version").err().unwrap();
    assert!(e.parse);
    assert_eq!(e.detail, "template: version:1: unclosed action");
}

#[test]
fn exec_errors_name_the_node_and_its_position() {
    assert_eq!(
        err("{{.Foo}}"),
        "template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.Context"
    );
    let e = render_with(
        "{{.Foo}}",
        &row(),
        &Options {
            root_type: "*formatter.ContainerContext",
            ..Options::default()
        },
    )
    .unwrap_err()
    .ps_style();
    assert_eq!(
        e.to_string(),
        "failed to execute template: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext"
    );
    assert_eq!(
        err("{{index (split .Names \",\") 1}}"),
        "template parsing error: template: :1:2: executing \"\" at <index (split .Names \",\") 1>: error calling index: reflect: slice index out of range"
    );
    assert!(err("{{index (split .Names \",\") 5}}")
        .ends_with("error calling index: index out of range: 5"));
    assert_eq!(
        err("{{range $k,$v := .Labels}}{{$k}}{{end}}"),
        "template parsing error: template: :1:17: executing \"\" at <.Labels>: range can't iterate over app=web,tier=1"
    );
    assert_eq!(
        err("x\n  {{.Names.X}}"),
        "template parsing error: template: :2:10: executing \"\" at <.Names.X>: can't evaluate field X in type string"
    );
}

#[test]
fn inspect_semantics_maps_and_missing_keys() {
    let v = json!({"Name": "/f1", "State": {"Status": "running", "Pid": 42},
                   "Config": {"Labels": {"app": "web", "tier": "1"}, "Cmd": ["sleep", "1000"]},
                   "Mounts": [], "HostConfig": {"Memory": 0}});
    let o = Options {
        missing_key_error: true,
        ..Options::default()
    };
    let ins = |t: &str| render_with(t, &v, &o).map_err(|e| e.to_string());
    assert_eq!(
        ins("{{.Name}} {{.State.Status}} {{.Config.Labels}} {{json .Config.Labels}}").unwrap(),
        "/f1 running map[app:web tier:1] {\"app\":\"web\",\"tier\":\"1\"}"
    );
    assert_eq!(
        ins(r#"{{.Config.Labels.app}} {{index .Config.Labels "tier"}} {{.Config.Labels.nokey}}"#)
            .unwrap(),
        "web 1 <no value>"
    );
    assert_eq!(ins(r#"{{index .Config.Labels "nokey"}}|"#).unwrap(), "|");
    assert_eq!(
        ins("{{upper .Name}} {{len .Mounts}} {{.State.Pid}}").unwrap(),
        "/F1 0 42"
    );
    assert_eq!(ins(r#"{{join .Config.Cmd " "}}"#).unwrap(), "sleep 1000");
    assert_eq!(
        ins("{{.Foo}}").unwrap_err(),
        "template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\""
    );
    assert_eq!(
        ins("{{.State.Foo}}").unwrap_err(),
        "template parsing error: template: :1:8: executing \"\" at <.State.Foo>: map has no entry for key \"Foo\""
    );
}

fn listing() -> Listing<'static> {
    Listing {
        default: "table {{.ID}}\\t{{.Image}}\\t{{.Names}}",
        headers: &[
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Names", "NAMES"),
        ],
    }
}

fn rows() -> Vec<Value> {
    vec![
        json!({"ID": "08952c0befe1", "Image": "busybox", "Names": "f4", "Labels": ""}),
        json!({"ID": "a82acc90c6e9", "Image": "busybox", "Names": "f1", "Labels": "app=web"}),
    ]
}

fn list(f: Option<&str>) -> String {
    format_list(f, &listing(), &rows(), &Options::default()).unwrap()
}

#[test]
fn tables_align_as_docker_does() {
    let want = "CONTAINER ID   IMAGE     NAMES\n08952c0befe1   busybox   f4\na82acc90c6e9   busybox   f1\n";
    assert_eq!(list(None), want);
    assert_eq!(list(Some("table")), want);
    assert_eq!(
        list(Some("table {{.ID}}\\t{{.Names}}")),
        "CONTAINER ID   NAMES\n08952c0befe1   f4\na82acc90c6e9   f1\n"
    );
    assert_eq!(
        list(Some("table {{.Image}}:{{.Names}}\\t{{upper .ID}}\\t{{.Label \"app\"}}")),
        "IMAGE:NAMES   CONTAINER ID   app\nbusybox:f4    08952C0BEFE1   \nbusybox:f1    A82ACC90C6E9   web\n"
    );
    // Without `table`, tabs stay tabs and there is no header.
    assert_eq!(
        list(Some("{{.ID}}\\t{{.Names}}")),
        "08952c0befe1\tf4\na82acc90c6e9\tf1\n"
    );
}

#[test]
fn json_format_prints_one_object_per_row() {
    assert_eq!(
        list(Some("json")),
        "{\"ID\":\"08952c0befe1\",\"Image\":\"busybox\",\"Labels\":\"\",\"Names\":\"f4\"}\n{\"ID\":\"a82acc90c6e9\",\"Image\":\"busybox\",\"Labels\":\"app=web\",\"Names\":\"f1\"}\n"
    );
    assert_eq!(list(Some("{{json .Names}}")), "\"f4\"\n\"f1\"\n");
}

#[test]
fn tabwriter_blocks_follow_go() {
    // An empty last column and a short first one: minimum width 10.
    assert_eq!(
        tabwrite("a\tb\tc\nd\t\te\n"),
        "a         b         c\nd                   e\n"
    );
    // A line without tabs ends the block.
    assert_eq!(
        tabwrite("aaaa\tb\nxyz\nc\td\n"),
        "aaaa      b\nxyz\nc         d\n"
    );
}
