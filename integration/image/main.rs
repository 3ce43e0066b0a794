//! Integration tests for rdock's image side, against real registries
//! (Debian's docker-registry) started here on 127.0.0.1 and images built by
//! `hack/test-images.sh`. Runs its own small harness (harness = false) so the
//! registries outlive every test and are always stopped at the end.
//!
//! `cargo test --release --test image [-- FILTER]`; `RDOCK_TEST_LARGE=1`
//! adds the large-layer pull.
use image::digest::sha256_of;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

type TestResult = Result<(), String>;
type TestFn = fn(&Env) -> TestResult;

#[path = "../common/products.rs"]
mod products;

macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

struct Registry {
    dir: PathBuf,
    port: u16,
}

impl Registry {
    fn start(dir: PathBuf, extra: &[&str]) -> Registry {
        let port = free_port();
        let mut args = vec![
            "start".to_string(),
            dir.display().to_string(),
            port.to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let st = Command::new(products::repo().join("hack/registry.sh"))
            .args(&args)
            .status()
            .expect("running hack/registry.sh");
        assert!(st.success(), "registry did not start");
        Registry { dir, port }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = &digest[7..];
        self.dir.join(format!(
            "storage/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new(products::repo().join("hack/registry.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

struct Env {
    // Fields drop in order: the registry stops before its directory goes.
    plain: Registry,
    base: tempfile::TempDir,
    counter: AtomicUsize,
}

impl Env {
    /// A fresh, empty rdock root.
    fn root(&self) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let p = self.base.path().join(format!("root{n}"));
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn mirror(&self) -> String {
        format!("http://{}", self.plain.host())
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs rdock with a root, an empty docker config dir and extra env.
fn rdock(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(products::product("rdock"));
    c.arg("--root").arg(root).args(args);
    c.env_remove("RDOCK_REGISTRY_MIRROR")
        .env_remove("RDOCK_INSECURE_REGISTRY");
    c.env("DOCKER_CONFIG", root.join(".docker"))
        .env("RDOCK_CONFIG", root.join("no-daemon.json"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().expect("running rdock")
}

fn ok(out: &Output) -> Result<String, String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "rdock failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn fails(out: &Output) -> Result<String, String> {
    if out.status.success() {
        Err(format!(
            "rdock succeeded but should have failed: {}",
            String::from_utf8_lossy(&out.stdout)
        ))
    } else {
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn layer_dirs(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("layers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

// ---- images built in Rust for the tests that need odd content ----

/// A tar with raw names (so `..` and absolute names can be written).
fn raw_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_ustar();
        let raw = h.as_ustar_mut().unwrap();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Writes an OCI layout with one image of uncompressed `layers` and pushes it.
fn push_image(base: &Path, registry: &str, repo: &str, layers: &[Vec<u8>]) -> Vec<String> {
    let layout = base.join(format!("layout-{}", repo.replace('/', "-")));
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| -> (String, usize) {
        let d = sha256_of(data);
        std::fs::write(blobs.join(&d[7..]), data).unwrap();
        (d, data.len())
    };
    let mut descs = Vec::new();
    let mut diffs = Vec::new();
    for l in layers {
        let (d, s) = put(l);
        diffs.push(d.clone());
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s}));
    }
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": diffs}
    });
    let (cd, cs) = put(&serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": descs
    });
    let (md, ms) = put(&serde_json::to_vec(&manifest).unwrap());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let st = Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker://{registry}/{repo}:latest"))
        .status()
        .unwrap();
    assert!(st.success(), "skopeo copy of {repo} failed");
    let _ = diffs;
    // skopeo compresses layers on the way to a registry: read back what it stored.
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
        ])
        .arg(format!("http://{registry}/v2/{repo}/manifests/latest"))
        .output()
        .unwrap();
    let m: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("manifest from the registry");
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

// ---- the tests ----

fn pull_docker_hub_name_through_mirror(env: &Env) -> TestResult {
    let root = env.root();
    let out = ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "busybox"],
        &[],
    ))?;
    check!(
        out.trim_end().ends_with("docker.io/library/busybox:latest"),
        "unexpected output: {out}"
    );
    check!(
        out.contains("Pull complete")
            && out.contains("Status: Downloaded newer image for busybox:latest"),
        "{out}"
    );
    let images = ok(&rdock(&root, &["images"], &[]))?;
    let line = images.lines().nth(1).unwrap_or_default();
    check!(
        images.starts_with("REPOSITORY") && line.starts_with("busybox ") && line.contains("latest"),
        "{images}"
    );
    let layers = layer_dirs(&root);
    check!(layers.len() == 1, "expected one layer dir, got {layers:?}");
    check!(
        layers[0].join("bin/busybox").is_file(),
        "busybox binary missing"
    );
    check!(
        std::fs::read_link(layers[0].join("bin/sh")).is_ok(),
        "sh applet link missing"
    );
    // A second pull finds everything there.
    let again = ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "busybox:latest"],
        &[],
    ))?;
    check!(again.contains("Image is up to date"), "{again}");
    Ok(())
}

/// `rdock pull` without a terminal prints docker's lines, exactly.
fn pull_prints_dockers_plain_lines(env: &Env) -> TestResult {
    let root = env.root();
    let out = ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "busybox"],
        &[],
    ))?;
    let lines: Vec<&str> = out.lines().collect();
    let id = lines.get(2).and_then(|l| l.split(':').next()).unwrap_or("");
    let digest = lines
        .get(6)
        .and_then(|l| l.strip_prefix("Digest: "))
        .unwrap_or("");
    check!(
        id.len() == 12 && digest.len() == 71 && digest.starts_with("sha256:"),
        "{out}"
    );
    let want = [
        "Using default tag: latest".to_string(),
        "latest: Pulling from library/busybox".to_string(),
        format!("{id}: Downloading"),
        format!("{id}: Download complete"),
        format!("{id}: Extracting"),
        format!("{id}: Pull complete"),
        format!("Digest: {digest}"),
        "Status: Downloaded newer image for busybox:latest".to_string(),
        "docker.io/library/busybox:latest".to_string(),
    ];
    check!(lines == want, "got:\n{out}\nwant:\n{}", want.join("\n"));
    Ok(())
}

/// What the library reports to its caller: lines and per-layer events,
/// the bytes adding up to the layer's size (it prints nothing itself).
fn the_library_reports_a_pull_through_progress(env: &Env) -> TestResult {
    use image::progress::{LayerProgress, PullProgress};
    use std::sync::Mutex;
    type Log = Arc<Mutex<Vec<String>>>;
    struct Rec(Log);
    struct Layer(Log, String, AtomicUsize);
    impl PullProgress for Rec {
        fn line(&self, msg: &str) {
            self.0.lock().unwrap().push(format!("line {msg}"));
        }
        fn layer(&self, digest: &str, size: u64) -> Box<dyn LayerProgress> {
            self.0
                .lock()
                .unwrap()
                .push(format!("layer {digest} {size}"));
            Box::new(Layer(
                self.0.clone(),
                digest.to_string(),
                AtomicUsize::new(0),
            ))
        }
    }
    impl LayerProgress for Layer {
        fn status(&self, msg: &str) {
            self.0.lock().unwrap().push(format!("{} {msg}", self.1));
        }
        fn set_position(&self, n: u64) {
            self.2.store(n as usize, Ordering::Relaxed);
        }
        fn inc(&self, n: u64) {
            self.2.fetch_add(n as usize, Ordering::Relaxed);
        }
        fn done(&self, msg: &str) {
            let n = self.2.load(Ordering::Relaxed);
            self.0.lock().unwrap().push(format!("{} {msg} {n}", self.1));
        }
    }
    let root = env.root();
    let store = Arc::new(image::store::Store::open(&root).map_err(|e| format!("{e:#}"))?);
    let opts = image::pull::PullOptions {
        registry: image::registry::RegistryOptions {
            mirrors: vec![env.mirror()],
            ..Default::default()
        },
        ..Default::default()
    };
    let log: Log = Arc::default();
    image::pull::resolve_or_pull(store, "busybox", &opts, &Rec(log.clone()))
        .map_err(|e| format!("{e:#}"))?;
    let log = log.lock().unwrap().clone();
    let all = log.join("\n");
    let (digest, size) = log
        .iter()
        .find_map(|l| l.strip_prefix("layer "))
        .and_then(|l| l.split_once(' '))
        .ok_or_else(|| format!("no layer reported:\n{all}"))?;
    let want = [
        "line Using default tag: latest".to_string(),
        "line latest: Pulling from library/busybox".to_string(),
        format!("layer {digest} {size}"),
        format!("{digest} Downloading"),
        format!("{digest} Download complete"),
        format!("{digest} Extracting"),
        format!("{digest} Pull complete {size}"),
    ];
    check!(log.len() == 9 && log[..7] == want, "got:\n{all}");
    check!(
        log[7].starts_with("line Digest: sha256:")
            && log[8] == "line Status: Downloaded newer image for busybox:latest",
        "got:\n{all}"
    );
    Ok(())
}

fn mirror_from_environment_falls_back_to_next_endpoint(env: &Env) -> TestResult {
    let root = env.root();
    // The first mirror is down; the second serves the image.
    let mirrors = format!("http://127.0.0.1:{},{}", free_port(), env.mirror());
    let out = ok(&rdock(
        &root,
        &["pull", "-q", "hello-world"],
        &[("RDOCK_REGISTRY_MIRROR", &mirrors)],
    ))?;
    check!(
        out.trim() == "docker.io/library/hello-world:latest",
        "-q prints only the name: {out:?}"
    );
    Ok(())
}

fn layers_are_shared_between_images(env: &Env) -> TestResult {
    let root = env.root();
    ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "busybox"],
        &[],
    ))?;
    let out = ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "hello-world"],
        &[],
    ))?;
    check!(out.contains("Already exists"), "{out}");
    check!(
        layer_dirs(&root).len() == 1,
        "layer not shared: {:?}",
        layer_dirs(&root)
    );
    Ok(())
}

fn whiteouts_and_opaque_dirs_work_under_overlayfs(env: &Env) -> TestResult {
    let root = env.root();
    ok(&rdock(
        &root,
        &["pull", &format!("{}/library/layers", env.plain.host())],
        &[],
    ))?;
    let inspect = ok(&rdock(
        &root,
        &[
            "image",
            "inspect",
            &format!("{}/library/layers", env.plain.host()),
        ],
        &[],
    ))?;
    let v: serde_json::Value = serde_json::from_str(&inspect).map_err(|e| e.to_string())?;
    let lower = v[0]["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .ok_or("no LowerDir")?
        .to_string();
    check!(lower.split(':').count() == 4, "expected 4 layers: {lower}");
    let mnt = root.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("lowerdir={lower}"))
        .arg(&mnt)
        .status()
        .unwrap();
    check!(st.success(), "overlay mount failed");
    let seen = (|| -> TestResult {
        check!(mnt.join("data/keep/file").is_file(), "kept file missing");
        check!(!mnt.join("data/gone").exists(), "whited-out file visible");
        check!(!mnt.join("data/gonedir").exists(), "whited-out dir visible");
        check!(
            mnt.join("opq/new").is_file(),
            "new file in opaque dir missing"
        );
        check!(
            !mnt.join("opq/old1").exists(),
            "opaque dir shows lower content"
        );
        check!(
            std::fs::read_link(mnt.join("data/abs-link")).unwrap() == Path::new("/bin/busybox"),
            "abs link"
        );
        check!(mnt.join("bin/busybox").is_file(), "base layer missing");
        Ok(())
    })();
    let _ = Command::new("umount").arg(&mnt).status();
    seen
}

fn multi_arch_index_picks_the_platform(env: &Env) -> TestResult {
    let name = format!("{}/library/multiarch", env.plain.host());
    let root = env.root();
    ok(&rdock(&root, &["pull", &name], &[]))?;
    let layers = layer_dirs(&root);
    check!(
        layers.len() == 1 && layers[0].join("bin/busybox").exists(),
        "amd64 image expected"
    );
    let root = env.root();
    ok(&rdock(
        &root,
        &["pull", "--platform", "linux/arm64", &name],
        &[],
    ))?;
    let layers = layer_dirs(&root);
    check!(
        layers.len() == 1
            && std::fs::read_to_string(layers[0].join("ARCH")).unwrap_or_default() == "arm64\n",
        "arm64 image expected"
    );
    let err = fails(&rdock(
        &env.root(),
        &["pull", &format!("{}/library/armonly", env.plain.host())],
        &[],
    ))?;
    check!(
        err.contains("no matching manifest for linux/amd64") && err.contains("linux/arm64/v8"),
        "{err}"
    );
    Ok(())
}

fn zstd_layers_unpack(env: &Env) -> TestResult {
    let root = env.root();
    ok(&rdock(
        &root,
        &["pull", &format!("{}/library/zstd", env.plain.host())],
        &[],
    ))?;
    check!(
        layer_dirs(&root)[0].join("bin/busybox").is_file(),
        "zstd layer not unpacked"
    );
    Ok(())
}

fn unknown_images_tags_and_digests_fail_clearly(env: &Env) -> TestResult {
    let h = env.plain.host();
    for name in [
        format!("{h}/library/nope"),
        format!("{h}/library/busybox:nope"),
        format!("{h}/library/busybox@sha256:{}", "0".repeat(64)),
    ] {
        let root = env.root();
        let err = fails(&rdock(&root, &["pull", &name], &[]))?;
        check!(
            err.contains("manifest unknown") && err.contains(&name),
            "{err}"
        );
        check!(count(&root.join("layers")) == 0, "layers left behind");
    }
    Ok(())
}

fn rmi_removes_only_what_nothing_else_uses(env: &Env) -> TestResult {
    let root = env.root();
    let m = env.mirror();
    ok(&rdock(
        &root,
        &["--registry-mirror", &m, "pull", "busybox"],
        &[],
    ))?;
    ok(&rdock(
        &root,
        &["--registry-mirror", &m, "pull", "hello-world"],
        &[],
    ))?;
    ok(&rdock(
        &root,
        &["pull", &format!("{}/library/layers", env.plain.host())],
        &[],
    ))?;
    check!(layer_dirs(&root).len() == 4, "{:?}", layer_dirs(&root));
    let out = ok(&rdock(
        &root,
        &[
            "rmi",
            &format!("{}/library/layers:latest", env.plain.host()),
        ],
        &[],
    ))?;
    check!(out.contains("Deleted: sha256:"), "{out}");
    check!(
        layer_dirs(&root).len() == 1,
        "shared base layer must stay: {:?}",
        layer_dirs(&root)
    );
    // A container using hello-world blocks its removal unless forced.
    let id = ok(&rdock(
        &root,
        &["images", "-q", "--no-trunc", "hello-world"],
        &[],
    ))?
    .trim()
    .to_string();
    std::fs::create_dir_all(root.join("containers/c1")).unwrap();
    std::fs::write(root.join("containers/c1/image"), &id).unwrap();
    let err = fails(&rdock(&root, &["rmi", "hello-world"], &[]))?;
    check!(err.contains("being used by a container"), "{err}");
    ok(&rdock(&root, &["rmi", "-f", &id[7..19]], &[]))?;
    check!(layer_dirs(&root).len() == 1, "busybox still uses the layer");
    ok(&rdock(&root, &["image", "rm", "busybox"], &[]))?;
    check!(
        layer_dirs(&root).is_empty(),
        "layers left: {:?}",
        layer_dirs(&root)
    );
    check!(count(&root.join("blobs/sha256")) == 0, "blobs left");
    Ok(())
}

fn tag_images_flags_and_prune(env: &Env) -> TestResult {
    let root = env.root();
    ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "busybox"],
        &[],
    ))?;
    ok(&rdock(
        &root,
        &["tag", "busybox", "localhost:5000/mine:v1"],
        &[],
    ))?;
    let images = ok(&rdock(&root, &["images"], &[]))?;
    check!(
        images
            .lines()
            .any(|l| l.starts_with("localhost:5000/mine") && l.contains("v1")),
        "{images}"
    );
    let q = ok(&rdock(&root, &["images", "-q"], &[]))?;
    check!(
        q.lines().count() == 1 && q.trim().len() == 12,
        "one short id expected: {q:?}"
    );
    let d = ok(&rdock(
        &root,
        &["images", "--digests", "--no-trunc", "busybox"],
        &[],
    ))?;
    check!(
        d.lines().next().unwrap_or_default().contains("DIGEST") && d.contains("sha256:"),
        "{d}"
    );
    // By digest and by short ID, as docker accepts them.
    let digest = d
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_default()
        .to_string();
    ok(&rdock(
        &root,
        &["image", "inspect", &format!("busybox@{digest}")],
        &[],
    ))?;
    let short = q.trim().to_string();
    ok(&rdock(&root, &["image", "inspect", &short], &[]))?;
    // Untagging one name keeps the image.
    let out = ok(&rdock(&root, &["rmi", "localhost:5000/mine:v1"], &[]))?;
    check!(out.trim() == "Untagged: localhost:5000/mine:v1", "{out}");
    let out = ok(&rdock(&root, &["image", "prune", "-a", "-f"], &[]))?;
    check!(out.contains("deleted: sha256:"), "{out}");
    check!(layer_dirs(&root).is_empty(), "prune -a leaves nothing");
    Ok(())
}

fn concurrent_pulls_of_one_image_both_succeed(env: &Env) -> TestResult {
    let root = env.root();
    let name = format!("{}/library/layers", env.plain.host());
    let spawn = || {
        Command::new(products::product("rdock"))
            .arg("--root")
            .arg(&root)
            .args(["pull", "-q", &name])
            .env("DOCKER_CONFIG", root.join(".docker"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    ok(&a.wait_with_output().unwrap())?;
    ok(&b.wait_with_output().unwrap())?;
    check!(layer_dirs(&root).len() == 4, "{:?}", layer_dirs(&root));
    let images = ok(&rdock(&root, &["images", "-q"], &[]))?;
    check!(images.lines().count() == 1, "{images}");
    check!(
        count(&root.join("tmp")) == count_locks(&root.join("tmp")),
        "temp files left behind"
    );
    Ok(())
}

fn count_locks(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".lock")
        })
        .count()
}

/// A proxy in front of the registry that cuts every first response for a
/// blob halfway through, and notes whether a Range request came after.
fn cutting_proxy(upstream: u16, saw_range: Arc<AtomicBool>) -> u16 {
    proxy(upstream, saw_range, true, Arc::new(AtomicBool::new(false)))
}

/// The proxy behind [`cutting_proxy`]; with `slow` set it trickles blob
/// bodies out (4 KiB every 20 ms) instead of cutting them.
fn proxy(upstream: u16, saw_range: Arc<AtomicBool>, cut_blobs: bool, slow: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let cut_done = Arc::new(std::sync::Mutex::new(
            std::collections::HashSet::<String>::new(),
        ));
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { break };
            let cut_done = cut_done.clone();
            let saw_range = saw_range.clone();
            let slow = slow.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    // 0x16 opens a TLS handshake (rdock tries HTTPS first): hang up.
                    if client.read(&mut byte).unwrap_or(0) == 0
                        || (head.is_empty() && byte[0] == 0x16)
                    {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                if text.to_lowercase().contains("\r\nrange:") {
                    saw_range.store(true, Ordering::SeqCst);
                }
                let text = text.replacen("\r\n", "\r\nConnection: close\r\n", 1);
                let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                up.write_all(text.as_bytes()).unwrap();
                let mut resp = Vec::new();
                let _ = up.read_to_end(&mut resp);
                if path.contains("/blobs/sha256:") && slow.load(Ordering::SeqCst) {
                    for chunk in resp.chunks(4096) {
                        if client.write_all(chunk).is_err() {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    return;
                }
                let cut = cut_blobs
                    && path.contains("/blobs/sha256:")
                    && !text.to_lowercase().contains("\r\nrange:")
                    && resp.starts_with(b"HTTP/1.1 200")
                    && cut_done.lock().unwrap().insert(path);
                if cut {
                    let body_at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    let half = body_at + (resp.len() - body_at) / 2;
                    let _ = client.write_all(&resp[..half]);
                } else {
                    let _ = client.write_all(&resp);
                }
            });
        }
    });
    port
}

fn dropped_connections_are_resumed_with_range(env: &Env) -> TestResult {
    let saw_range = Arc::new(AtomicBool::new(false));
    let port = cutting_proxy(env.plain.port, saw_range.clone());
    let root = env.root();
    let out = rdock(
        &root,
        &["pull", &format!("127.0.0.1:{port}/library/layers")],
        &[],
    );
    ok(&out)?;
    check!(
        saw_range.load(Ordering::SeqCst),
        "no Range request was made"
    );
    check!(layer_dirs(&root).len() == 4, "{:?}", layer_dirs(&root));
    Ok(())
}

fn an_interrupted_pull_is_invisible_and_resumes(env: &Env) -> TestResult {
    let saw_range = Arc::new(AtomicBool::new(false));
    let slow = Arc::new(AtomicBool::new(true));
    let port = proxy(env.plain.port, saw_range.clone(), false, slow.clone());
    let root = env.root();
    let name = format!("127.0.0.1:{port}/library/busybox");
    let mut child = Command::new(products::product("rdock"))
        .arg("--root")
        .arg(&root)
        .args(["pull", "-q", &name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until part of the layer has arrived, then kill the pull.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let partial_size = || -> u64 {
        std::fs::read_dir(root.join("tmp"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
                    .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    };
    while partial_size() < 64 * 1024 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let have = partial_size();
    check!(
        have >= 64 * 1024,
        "no partial download to resume ({have} bytes)"
    );
    check!(
        ok(&rdock(&root, &["images", "-q"], &[]))?.trim().is_empty(),
        "a killed pull shows an image"
    );
    check!(layer_dirs(&root).is_empty(), "a killed pull left a layer");
    slow.store(false, Ordering::SeqCst);
    ok(&rdock(&root, &["pull", "-q", &name], &[]))?;
    check!(
        saw_range.load(Ordering::SeqCst),
        "the second pull did not resume with a Range request"
    );
    check!(layer_dirs(&root).len() == 1, "{:?}", layer_dirs(&root));
    check!(partial_size() == 0, "partial files left after the pull");
    Ok(())
}

fn tampered_blobs_fail_with_clear_errors(env: &Env) -> TestResult {
    let reg = Registry::start(env.base.path().join("tamper-registry"), &[]);
    let h = reg.host();
    let wrong = push_image(
        env.base.path(),
        &h,
        "t/wrong",
        &[raw_tar(&[(
            "a",
            tar::EntryType::Regular,
            "",
            b"content of wrong",
        )])],
    );
    let trunc = push_image(
        env.base.path(),
        &h,
        "t/trunc",
        &[raw_tar(&[(
            "b",
            tar::EntryType::Regular,
            "",
            b"content of trunc",
        )])],
    );
    // Same size, other bytes: the registry serves them as they are.
    let p = reg.blob_data(&wrong[0]);
    let mut data = std::fs::read(&p).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&p, data).unwrap();
    let p = reg.blob_data(&trunc[0]);
    let data = std::fs::read(&p).unwrap();
    std::fs::write(&p, &data[..data.len() / 2]).unwrap();

    let root = env.root();
    let err = fails(&rdock(&root, &["pull", &format!("{h}/t/wrong")], &[]))?;
    check!(
        err.contains("digest mismatch") && err.contains(&wrong[0]),
        "{err}"
    );
    let err = fails(&rdock(&root, &["pull", &format!("{h}/t/trunc")], &[]))?;
    check!(
        err.contains(&trunc[0]) && (err.contains("connection ended") || err.contains("bytes")),
        "{err}"
    );
    check!(layer_dirs(&root).is_empty(), "no layer from a bad blob");
    let images = ok(&rdock(&root, &["images", "-q"], &[]))?;
    check!(images.trim().is_empty(), "no half-visible image: {images}");
    Ok(())
}

fn hostile_layers_fail_naming_the_entry(env: &Env) -> TestResult {
    let h = env.plain.host();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "evil/dotdot",
            raw_tar(&[(
                "../../../../tmp/rdock-escape",
                tar::EntryType::Regular,
                "",
                b"x",
            )]),
            "../../../../tmp/rdock-escape",
        ),
        (
            "evil/abs",
            raw_tar(&[("/tmp/rdock-escape", tar::EntryType::Regular, "", b"x")]),
            "/tmp/rdock-escape",
        ),
        (
            "evil/symlink",
            raw_tar(&[
                ("l", tar::EntryType::Symlink, "/tmp", b""),
                ("l/rdock-escape", tar::EntryType::Regular, "", b"x"),
            ]),
            "l/rdock-escape",
        ),
        (
            "evil/hardlink",
            raw_tar(&[("h", tar::EntryType::Link, "../../../../etc/passwd", b"")]),
            "../../../../etc/passwd",
        ),
        (
            "evil/whiteout-dotdot",
            raw_tar(&[
                ("d/", tar::EntryType::Directory, "", b""),
                ("d/.wh...", tar::EntryType::Regular, "", b""),
            ]),
            "refusing whiteout entry \".wh...\"",
        ),
    ];
    for (repo, tar, entry) in cases {
        push_image(env.base.path(), &h, repo, &[tar]);
        let root = env.root();
        let err = fails(&rdock(&root, &["pull", &format!("{h}/{repo}")], &[]))?;
        check!(
            err.contains(entry),
            "{repo}: error does not name {entry}: {err}"
        );
        check!(!Path::new("/tmp/rdock-escape").exists(), "{repo} escaped");
        check!(layer_dirs(&root).is_empty(), "{repo}: layer kept");
        check!(
            ok(&rdock(&root, &["images", "-q"], &[]))?.trim().is_empty(),
            "{repo}: image recorded"
        );
    }
    Ok(())
}

fn a_full_disk_fails_cleanly(env: &Env) -> TestResult {
    let root = env.root();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&root)
        .status()
        .unwrap();
    check!(st.success(), "tmpfs mount failed");
    let res = (|| -> TestResult {
        let err = fails(&rdock(
            &root,
            &["--registry-mirror", &env.mirror(), "pull", "busybox"],
            &[],
        ))?;
        check!(err.contains("No space left on device"), "{err}");
        check!(
            ok(&rdock(&root, &["images", "-q"], &[]))?.trim().is_empty(),
            "image recorded on a full disk"
        );
        Ok(())
    })();
    let _ = Command::new("umount").arg(&root).status();
    res
}

/// What a hostile registry does with manifest requests.
#[derive(Clone, Copy)]
enum Hostile {
    /// Streams manifest bytes without end (until the client hangs up).
    EndlessManifest,
    /// Takes the request and never answers.
    Stall,
    /// A manifest whose config claims 100 MiB.
    HugeConfig,
}

/// A registry on 127.0.0.1 that answers `/v2/` and then misbehaves as
/// `mode` says; counts the manifest bytes it sent. It refuses TLS (rdock
/// tries HTTPS first on loopback) and stops with the test process.
fn hostile_registry(mode: Hostile, sent: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { break };
            let sent = sent.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if c.read(&mut byte).unwrap_or(0) == 0 || (head.is_empty() && byte[0] == 0x16) {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                if !path.contains("/manifests/") {
                    let _ = c.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    );
                    return;
                }
                let ct = "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n";
                match mode {
                    Hostile::Stall => std::thread::sleep(std::time::Duration::from_secs(30)),
                    Hostile::EndlessManifest => {
                        let _ = c.write_all(
                            format!("HTTP/1.1 200 OK\r\n{ct}Connection: close\r\n\r\n").as_bytes(),
                        );
                        let _ = c.write_all(b"{\"schemaVersion\": 2, \"pad\": \"");
                        let chunk = vec![b'a'; 64 << 10];
                        // Bounded: 1 GiB at most, then the test's own limit is reached.
                        for _ in 0..(1 << 14) {
                            if c.write_all(&chunk).is_err() {
                                return;
                            }
                            sent.fetch_add(chunk.len(), Ordering::SeqCst);
                        }
                    }
                    Hostile::HugeConfig => {
                        let m = serde_json::json!({
                            "schemaVersion": 2,
                            "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                       "digest": format!("sha256:{}", "ab".repeat(32)), "size": 100 << 20},
                            "layers": []
                        });
                        let body = serde_json::to_vec(&m).unwrap();
                        let _ = c.write_all(format!("HTTP/1.1 200 OK\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes());
                        let _ = c.write_all(&body);
                    }
                }
            });
        }
    });
    port
}

fn an_endless_manifest_is_refused_at_the_cap(env: &Env) -> TestResult {
    let sent = Arc::new(AtomicUsize::new(0));
    let port = hostile_registry(Hostile::EndlessManifest, sent.clone());
    let t = std::time::Instant::now();
    let err = fails(&rdock(
        &env.root(),
        &["pull", &format!("127.0.0.1:{port}/endless/manifest")],
        &[],
    ))?;
    let took = t.elapsed();
    check!(err.contains("is larger than 4.0MiB"), "{err}");
    check!(took.as_secs() < 20, "refused only after {took:?}");
    let n = sent.load(Ordering::SeqCst);
    check!(n < 64 << 20, "{n} bytes were read before the refusal");
    println!("    refused after {} MiB in {took:?}", n >> 20);
    Ok(())
}

fn a_stalled_registry_fails_at_the_stall_deadline(env: &Env) -> TestResult {
    let port = hostile_registry(Hostile::Stall, Arc::new(AtomicUsize::new(0)));
    let t = std::time::Instant::now();
    let err = fails(&rdock(
        &env.root(),
        &["pull", &format!("127.0.0.1:{port}/stalled/repo")],
        &[("RDOCK_PULL_STALL_TIMEOUT", "2")],
    ))?;
    let took = t.elapsed();
    check!(
        err.contains("nothing received from the registry for 2s"),
        "{err}"
    );
    check!(took.as_secs() < 10, "gave up only after {took:?}");
    Ok(())
}

fn an_oversized_config_is_refused_before_download(env: &Env) -> TestResult {
    let port = hostile_registry(Hostile::HugeConfig, Arc::new(AtomicUsize::new(0)));
    let err = fails(&rdock(
        &env.root(),
        &["pull", &format!("127.0.0.1:{port}/huge/config")],
        &[],
    ))?;
    check!(
        err.contains("is 100.0MiB, over the 8.0MiB an image config may have"),
        "{err}"
    );
    Ok(())
}

fn layer_bombs_stop_at_the_cap_and_the_free_space_margin(env: &Env) -> TestResult {
    let h = env.plain.host();
    let zeros = vec![0u8; 64 << 20];
    let tar = raw_tar(&[("zeros", tar::EntryType::Regular, "", &zeros)]);
    push_image(env.base.path(), &h, "bomb/layer", &[tar]);
    let name = format!("{h}/bomb/layer");
    let leftovers = |root: &Path| -> usize {
        std::fs::read_dir(root.join("tmp"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("layer-"))
                    .count()
            })
            .unwrap_or(0)
    };
    let root = env.root();
    let err = fails(&rdock(
        &root,
        &["pull", &name],
        &[("RDOCK_MAX_LAYER_SIZE", "8m")],
    ))?;
    check!(err.contains("unpacks to more than 8.0MiB"), "{err}");
    check!(
        layer_dirs(&root).is_empty() && leftovers(&root) == 0,
        "a layer was left"
    );
    let root = env.root();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=40m", "tmpfs"])
        .arg(&root)
        .status()
        .unwrap();
    check!(st.success(), "tmpfs mount failed");
    let res = (|| -> TestResult {
        let err = fails(&rdock(
            &root,
            &["pull", &name],
            &[("RDOCK_MIN_FREE_SPACE", "16m")],
        ))?;
        check!(
            err.contains("stopped unpacking") && err.contains("rdock leaves 16.0MiB free"),
            "{err}"
        );
        check!(
            layer_dirs(&root).is_empty() && leftovers(&root) == 0,
            "a layer was left"
        );
        ok(&rdock(&root, &["images"], &[]))?;
        Ok(())
    })();
    let _ = Command::new("umount").arg(&root).status();
    res
}

fn https_basic_auth_login_pull_logout(env: &Env) -> TestResult {
    let d = env.base.path().join("tls");
    std::fs::create_dir_all(&d).unwrap();
    let sh = |script: &str| {
        let st = Command::new("sh")
            .arg("-ec")
            .arg(script)
            .current_dir(&d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "{script}");
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rdock-test-ca -keyout ca.key -out ca.crt");
    sh("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr");
    sh("printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out server.crt");
    sh("htpasswd -Bbn tester s3cret > htpasswd");
    let s = |f: &str| d.join(f).display().to_string();
    let reg = Registry::start(
        d.join("registry"),
        &[
            "--tls",
            &s("server.crt"),
            &s("server.key"),
            "--htpasswd",
            &s("htpasswd"),
        ],
    );
    let h = reg.host();
    let st = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            "tester:s3cret",
        ])
        .arg(format!(
            "docker://{}/library/busybox:latest",
            env.plain.host()
        ))
        .arg(format!("docker://{h}/private/busybox:latest"))
        .args(["--src-tls-verify=false"])
        .status()
        .unwrap();
    check!(st.success(), "push to the TLS registry failed");
    let certs = env.base.path().join("certs.d");
    std::fs::create_dir_all(certs.join(&h)).unwrap();
    std::fs::copy(d.join("ca.crt"), certs.join(&h).join("ca.crt")).unwrap();
    let certs_s = certs.display().to_string();
    let e = [("RDOCK_CERTS_D", certs_s.as_str())];
    let root = env.root();
    let name = format!("{h}/private/busybox");
    let err = fails(&rdock(&root, &["pull", &name], &e))?;
    check!(
        err.to_lowercase().contains("unauthorized") || err.contains("401"),
        "{err}"
    );
    let err = fails(&rdock(
        &root,
        &["login", "-u", "tester", "-p", "wrong", &h],
        &e,
    ))?;
    check!(err.contains("incorrect username or password"), "{err}");
    let out = ok(&rdock(
        &root,
        &["login", "-u", "tester", "-p", "s3cret", &h],
        &e,
    ))?;
    check!(out.contains("Login Succeeded"), "{out}");
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join(".docker/config.json")).unwrap()).unwrap();
    check!(
        cfg["auths"][&h]["auth"] == "dGVzdGVyOnMzY3JldA==",
        "config.json: {cfg}"
    );
    ok(&rdock(&root, &["pull", &name], &e))?;
    check!(layer_dirs(&root).len() == 1, "image not unpacked");
    let out = ok(&rdock(&root, &["logout", &h], &e))?;
    check!(out.contains("Removing login credentials"), "{out}");
    let err = fails(&rdock(&env.root(), &["pull", &name], &e))?;
    check!(
        err.to_lowercase().contains("unauthorized") || err.contains("401"),
        "{err}"
    );
    Ok(())
}

fn save_and_load_round_trip_docker_and_oci_archives(env: &Env) -> TestResult {
    let root = env.root();
    let layers = format!("{}/library/layers:latest", env.plain.host());
    ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "-q", "busybox"],
        &[],
    ))?;
    ok(&rdock(&root, &["pull", "-q", &layers], &[]))?;
    let tarball = root.join("images.tar");
    ok(&rdock(
        &root,
        &["save", "-o", tarball.to_str().unwrap(), "busybox", &layers],
        &[],
    ))?;
    // Other tools read it as a docker archive and as an OCI archive.
    let st = Command::new("skopeo")
        .arg("inspect")
        .arg(format!(
            "docker-archive:{}:busybox:latest",
            tarball.display()
        ))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    check!(st.success(), "skopeo cannot read the docker-archive");
    let before = ok(&rdock(&root, &["images", "-q", "--no-trunc"], &[]))?;
    ok(&rdock(&root, &["rmi", "busybox", &layers], &[]))?;
    check!(layer_dirs(&root).is_empty(), "rmi left layers");
    let out = ok(&rdock(
        &root,
        &["load", "-i", tarball.to_str().unwrap()],
        &[],
    ))?;
    check!(
        out.contains("Loaded image: busybox:latest")
            && out.contains(&format!("Loaded image: {layers}")),
        "{out}"
    );
    let after = ok(&rdock(&root, &["images", "-q", "--no-trunc"], &[]))?;
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(String::from).collect();
        v.sort();
        v
    };
    check!(
        sorted(&before) == sorted(&after),
        "IDs differ: {before} vs {after}"
    );
    check!(layer_dirs(&root).len() == 4, "{:?}", layer_dirs(&root));
    // An OCI archive made by skopeo loads too.
    let root2 = env.root();
    let oci = root2.join("oci.tar");
    let st = Command::new("skopeo")
        .args(["copy", "-q", "--src-tls-verify=false"])
        .arg(format!(
            "docker://{}/library/hello-world:latest",
            env.plain.host()
        ))
        .arg(format!(
            "oci-archive:{}:docker.io/library/hello-world:latest",
            oci.display()
        ))
        .status()
        .unwrap();
    check!(st.success(), "skopeo oci-archive failed");
    let out = ok(&rdock(&root2, &["load", "-i", oci.to_str().unwrap()], &[]))?;
    check!(out.contains("Loaded image: hello-world:latest"), "{out}");
    Ok(())
}

/// A token server like Docker Hub's auth service: hands anyone a JWT signed
/// with `key` (its certificate `cert_der` rides in the `x5c` header) granting
/// pull and push on the requested repository.
fn token_server(key: PathBuf, cert_der: Vec<u8>, requests: Arc<AtomicUsize>) -> u16 {
    use base64::Engine as _;
    let b64 = |d: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
    let std64 = base64::engine::general_purpose::STANDARD.encode(&cert_der);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { break };
            let mut buf = vec![0u8; 8192];
            let n = c.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            requests.fetch_add(1, Ordering::SeqCst);
            let target = req.split_whitespace().nth(1).unwrap_or("/").to_string();
            let query = target.split_once('?').map(|x| x.1).unwrap_or("");
            let mut service = String::new();
            let mut access = Vec::new();
            for kv in query.split('&') {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                let v = v
                    .replace("%3A", ":")
                    .replace("%2F", "/")
                    .replace("%2C", ",");
                match k {
                    "service" => service = v,
                    "scope" => {
                        let parts: Vec<&str> = v.split(':').collect();
                        if parts.len() == 3 {
                            access.push(serde_json::json!({"type": parts[0], "name": parts[1], "actions": ["pull", "push"]}));
                        }
                    }
                    _ => {}
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [std64]});
            let claims = serde_json::json!({"iss": "rdock-test-issuer", "sub": "", "aud": service, "exp": now + 600,
                "nbf": now - 10, "iat": now, "jti": format!("{now}-{n}"), "access": access});
            let signing_input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let mut sign = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(&key)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            sign.stdin
                .take()
                .unwrap()
                .write_all(signing_input.as_bytes())
                .unwrap();
            let sig = sign.wait_with_output().unwrap().stdout;
            let jwt = format!("{signing_input}.{}", b64(&sig));
            let body = serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 600})
                .to_string();
            let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

fn docker_hub_style_bearer_token_flow(env: &Env) -> TestResult {
    let d = env.base.path().join("token");
    std::fs::create_dir_all(&d).unwrap();
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=rdock-token-signer",
        ])
        .arg("-keyout")
        .arg(d.join("signer.key"))
        .arg("-out")
        .arg(d.join("signer.crt"))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    check!(st.success(), "openssl failed");
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(d.join("signer.crt"))
        .output()
        .unwrap()
        .stdout;
    let requests = Arc::new(AtomicUsize::new(0));
    let tport = token_server(d.join("signer.key"), der, requests.clone());
    let realm = format!("http://127.0.0.1:{tport}/token");
    let bundle = d.join("signer.crt").display().to_string();
    let reg = Registry::start(
        d.join("registry"),
        &[
            "--token",
            &realm,
            "rdock-test-issuer",
            "rdock-test-registry",
            &bundle,
        ],
    );
    let h = reg.host();
    let st = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ])
        .arg(format!(
            "docker://{}/library/busybox:latest",
            env.plain.host()
        ))
        .arg(format!("docker://{h}/library/busybox:latest"))
        .status()
        .unwrap();
    check!(st.success(), "push through the token flow failed");
    let before = requests.load(Ordering::SeqCst);
    // The registry as a Docker Hub mirror, reached anonymously with a bearer token.
    let root = env.root();
    ok(&rdock(
        &root,
        &[
            "--registry-mirror",
            &format!("http://{h}"),
            "pull",
            "busybox",
        ],
        &[],
    ))?;
    check!(
        requests.load(Ordering::SeqCst) > before,
        "rdock never asked the token server"
    );
    check!(layer_dirs(&root).len() == 1, "{:?}", layer_dirs(&root));
    Ok(())
}

fn a_large_layer_pulls(env: &Env) -> TestResult {
    if std::env::var_os("RDOCK_TEST_LARGE").is_none() {
        println!("    (skipped: set RDOCK_TEST_LARGE=1)");
        return Ok(());
    }
    let mut big = vec![0u8; 200 << 20];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2654435761) >> 13) as u8;
    }
    let tar = raw_tar(&[("big", tar::EntryType::Regular, "", &big)]);
    push_image(env.base.path(), &env.plain.host(), "big/layer", &[tar]);
    let root = env.root();
    let t = std::time::Instant::now();
    ok(&rdock(
        &root,
        &["pull", &format!("{}/big/layer", env.plain.host())],
        &[],
    ))?;
    println!("    200 MB layer pulled in {:?}", t.elapsed());
    check!(
        std::fs::metadata(layer_dirs(&root)[0].join("big"))
            .unwrap()
            .len()
            == 200 << 20,
        "size"
    );
    Ok(())
}

/// A fresh registry for tests that write to one.
fn scratch_registry(env: &Env, name: &str, extra: &[&str]) -> Registry {
    Registry::start(env.base.path().join(name), extra)
}

fn push_layers_mounts_tags_and_errors_like_docker(env: &Env) -> TestResult {
    let reg = scratch_registry(env, "push-registry", &[]);
    let h = reg.host();
    let root = env.root();
    ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "-q", "layers"],
        &[],
    ))?;
    let x = format!("{h}/rdtest/x");
    ok(&rdock(&root, &["tag", "layers", &format!("{x}:tag")], &[]))?;
    ok(&rdock(&root, &["tag", "layers", &format!("{x}:t2")], &[]))?;
    let out = ok(&rdock(&root, &["push", &format!("{x}:tag")], &[]))?;
    let lines: Vec<&str> = out.lines().collect();
    check!(
        lines[0] == format!("The push refers to repository [{x}]"),
        "{out}"
    );
    let layers = 4;
    check!(
        out.matches(": Preparing").count() == layers && out.matches(": Pushed").count() == layers,
        "{out}"
    );
    check!(
        lines[1..=layers]
            .iter()
            .all(|l| { l.len() == 12 + ": Preparing".len() && l.ends_with(": Preparing") }),
        "short ids first: {out}"
    );
    let last = lines.last().unwrap();
    check!(
        last.starts_with("tag: digest: sha256:") && last.contains(" size: "),
        "{out}"
    );
    // What the registry holds pulls back, with the digest pushed.
    let digest = last.split(' ').nth(2).unwrap().to_string();
    let other = env.root();
    let pulled = ok(&rdock(&other, &["pull", &format!("{x}:tag")], &[]))?;
    check!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    let again = ok(&rdock(&root, &["push", &format!("{x}:tag")], &[]))?;
    check!(
        again.matches(": Layer already exists").count() == layers
            && again.ends_with(&format!("{last}\n")),
        "{again}"
    );
    // Another repository of the same registry: the layers are mounted.
    let y = format!("{h}/rdtest/y:1");
    ok(&rdock(&root, &["tag", "layers", &y], &[]))?;
    let mounted = ok(&rdock(&root, &["push", &y], &[]))?;
    check!(
        mounted.matches(": Mounted from rdtest/x").count() == layers,
        "{mounted}"
    );
    let all = ok(&rdock(&root, &["push", "-a", &x], &[]))?;
    let digests: Vec<&str> = all.lines().filter(|l| l.contains(": digest: ")).collect();
    check!(
        digests.len() == 2 && digests[0].starts_with("t2: ") && digests[1].starts_with("tag: "),
        "{all}"
    );
    check!(all.matches("The push refers").count() == 1, "{all}");
    let err = fails(&rdock(&root, &["push", "-a", &format!("{x}:tag")], &[]))?;
    check!(
        err.trim() == "tag can't be used with --all-tags/-a",
        "{err}"
    );
    let out = rdock(&root, &["push", &format!("{h}/rdtest/nosuch:tag")], &[]);
    let err = fails(&out)?;
    check!(
        err.trim() == format!("An image does not exist locally with the tag: {h}/rdtest/nosuch"),
        "{err}"
    );
    check!(
        String::from_utf8_lossy(&out.stdout).contains("The push refers to repository"),
        "header first"
    );
    let err = fails(&rdock(&root, &["push", &format!("{x}:nosuchtag")], &[]))?;
    check!(
        err.trim() == format!("tag does not exist: {x}:nosuchtag"),
        "{err}"
    );
    let out = rdock(&root, &["push", &x], &[]);
    let err = fails(&out)?;
    check!(
        err.trim() == format!("tag does not exist: {x}:latest"),
        "{err}"
    );
    check!(
        String::from_utf8_lossy(&out.stdout).starts_with("Using default tag: latest\n"),
        "default tag line"
    );
    // The repo digest is recorded as after a pull.
    let ins = ok(&rdock(
        &root,
        &["image", "inspect", &format!("{x}:tag")],
        &[],
    ))?;
    check!(ins.contains(&format!("{x}@{digest}")), "{ins}");

    // pull -a: every tag, in the registry's order, one status line.
    let fresh = env.root();
    let out = ok(&rdock(&fresh, &["pull", "-a", &x], &[]))?;
    let lines: Vec<&str> = out.lines().collect();
    check!(lines[0] == "t2: Pulling from rdtest/x", "{out}");
    check!(
        out.contains("\ntag: Pulling from rdtest/x\n")
            && out.matches("Digest: sha256:").count() == 2,
        "{out}"
    );
    check!(
        lines[lines.len() - 2] == format!("Status: Downloaded newer image for {x}")
            && lines[lines.len() - 1] == x
            && out.matches("Status:").count() == 1,
        "{out}"
    );
    let images = ok(&rdock(&fresh, &["images"], &[]))?;
    check!(
        images.contains(" t2 ") && images.contains(" tag "),
        "{images}"
    );
    let again = ok(&rdock(&fresh, &["pull", "-a", &x], &[]))?;
    check!(
        again.contains(&format!("Status: Image is up to date for {x}\n")),
        "{again}"
    );
    let err = fails(&rdock(&fresh, &["pull", "-a", &format!("{x}:tag")], &[]))?;
    check!(
        err.trim() == "tag can't be used with --all-tags/-a",
        "{err}"
    );
    Ok(())
}

/// A docker credential helper in shell: keeps one login in DIR/store.json
/// and logs each verb to DIR/calls.
const FAKE_HELPER: &str = r#"#!/bin/sh
d=${RDTEST_CRED_DIR:?}
echo "$1" >> "$d/calls"
case "$1" in
store) cat > "$d/store.json" ;;
get) url=$(cat)
     if [ -f "$d/store.json" ] && grep -q "\"ServerURL\":\"$url\"" "$d/store.json"; then cat "$d/store.json"
     else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) cat >/dev/null; rm -f "$d/store.json" ;;
*) exit 1 ;;
esac
"#;

fn credential_helpers_for_login_push_pull_logout(env: &Env) -> TestResult {
    let d = env.base.path().join("helper");
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-rdtest");
    std::fs::write(&helper, FAKE_HELPER).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let st = Command::new("sh")
        .arg("-c")
        .arg("htpasswd -Bbn tester s3cret > htpasswd")
        .current_dir(&d)
        .status()
        .unwrap();
    check!(st.success(), "htpasswd");
    let reg = scratch_registry(
        env,
        "helper-registry",
        &["--htpasswd", &d.join("htpasswd").display().to_string()],
    );
    let h = reg.host();
    let conf = d.join("docker");
    std::fs::create_dir_all(&conf).unwrap();
    let write_conf = |v: serde_json::Value| {
        std::fs::write(conf.join("config.json"), v.to_string()).unwrap();
    };
    write_conf(serde_json::json!({"credsStore": "rdtest"}));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir_s = d.display().to_string();
    let conf_s = conf.display().to_string();
    let e = [
        ("PATH", path.as_str()),
        ("RDTEST_CRED_DIR", dir_s.as_str()),
        ("DOCKER_CONFIG", conf_s.as_str()),
    ];
    let calls = || std::fs::read_to_string(d.join("calls")).unwrap_or_default();
    let root = env.root();
    ok(&rdock(
        &root,
        &["--registry-mirror", &env.mirror(), "pull", "-q", "busybox"],
        &e,
    ))?;
    let name = format!("{h}/private/busybox:latest");
    ok(&rdock(&root, &["tag", "busybox", &name], &e))?;
    let err = fails(&rdock(&root, &["push", &name], &e))?;
    check!(err.to_lowercase().contains("unauthorized"), "{err}");
    check!(
        calls().contains("get"),
        "the helper was not asked: {}",
        calls()
    );
    let out = ok(&rdock(
        &root,
        &["login", "-u", "tester", "-p", "s3cret", &h],
        &e,
    ))?;
    check!(out.contains("Login Succeeded"), "{out}");
    let stored = std::fs::read_to_string(d.join("store.json")).unwrap_or_default();
    check!(
        stored.contains("\"Secret\":\"s3cret\"") && stored.contains("\"Username\":\"tester\""),
        "the helper got: {stored}"
    );
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(conf.join("config.json")).unwrap()).unwrap();
    check!(
        cfg["auths"][&h] == serde_json::json!({}) && cfg["credsStore"] == "rdtest",
        "config.json keeps no secret: {cfg}"
    );
    let out = ok(&rdock(&root, &["push", &name], &e))?;
    check!(out.contains(": Pushed"), "{out}");
    ok(&rdock(&env.root(), &["pull", &name], &e))?;
    // credHelpers wins over credsStore for its registry.
    let mut per_registry =
        serde_json::json!({"credsStore": "nosuch", "credHelpers": {}, "auths": {}});
    per_registry["credHelpers"][&h] = serde_json::json!("rdtest");
    per_registry["auths"][&h] = serde_json::json!({});
    write_conf(per_registry);
    ok(&rdock(&env.root(), &["pull", &name], &e))?;
    let out = ok(&rdock(&root, &["logout", &h], &e))?;
    check!(
        out.contains(&format!("Removing login credentials for {h}")),
        "{out}"
    );
    check!(calls().contains("erase"), "{}", calls());
    check!(
        !d.join("store.json").exists(),
        "the helper still holds the login"
    );
    let err = fails(&rdock(&env.root(), &["pull", &name], &e))?;
    check!(err.to_lowercase().contains("unauthorized"), "{err}");
    // A helper that is missing is an error naming it.
    write_conf(serde_json::json!({"credsStore": "nosuch"}));
    let err = fails(&rdock(&env.root(), &["pull", &name], &e))?;
    check!(err.contains("docker-credential-nosuch"), "{err}");
    Ok(())
}

/// A relay to the registry that answers the first blob PUT with a 500,
/// counting PUTs in `puts`.
fn failing_put_proxy(upstream: u16, puts: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { break };
            let puts = puts.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    // 0x16 opens a TLS handshake (rdock tries HTTPS first): hang up.
                    if client.read(&mut byte).unwrap_or(0) == 0
                        || (head.is_empty() && byte[0] == 0x16)
                    {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                if text.starts_with("PUT ")
                    && text.contains("/blobs/uploads/")
                    && puts.fetch_add(1, Ordering::SeqCst) == 0
                {
                    let _ = client.write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                let text = text.replacen("\r\n", "\r\nConnection: close\r\n", 1);
                let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                up.write_all(text.as_bytes()).unwrap();
                let (mut up_w, mut client_r) =
                    (up.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_r, &mut up_w);
                });
                let _ = std::io::copy(&mut up, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = up.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

fn a_failed_blob_upload_is_tried_again(env: &Env) -> TestResult {
    let puts = Arc::new(AtomicUsize::new(0));
    let port = failing_put_proxy(env.plain.port, puts.clone());
    let root = env.root();
    let src = root.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("unique"),
        format!("{:?}", std::time::SystemTime::now()),
    )
    .unwrap();
    let tarball = root.join("u.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&src)
        .arg("-cf")
        .arg(&tarball)
        .arg(".")
        .status()
        .unwrap();
    check!(st.success(), "tar");
    let name = format!("127.0.0.1:{port}/rdtest/retry:1");
    ok(&rdock(
        &root,
        &["import", &tarball.display().to_string(), &name],
        &[],
    ))?;
    let out = rdock(&root, &["push", &name], &[]);
    let stdout = ok(&out)?;
    check!(stdout.contains(": Pushed"), "{stdout}");
    check!(
        puts.load(Ordering::SeqCst) >= 3,
        "the refused upload was not tried again ({} PUTs)",
        puts.load(Ordering::SeqCst)
    );
    let digest = stdout
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .nth(2)
        .unwrap()
        .to_string();
    let pulled = ok(&rdock(
        &env.root(),
        &["pull", &format!("{}/rdtest/retry:1", env.plain.host())],
        &[],
    ))?;
    check!(pulled.contains(&format!("Digest: {digest}")), "{pulled}");
    Ok(())
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tests: &[(&str, TestFn)] = &[
        (
            "pull_docker_hub_name_through_mirror",
            pull_docker_hub_name_through_mirror,
        ),
        (
            "pull_prints_dockers_plain_lines",
            pull_prints_dockers_plain_lines,
        ),
        (
            "the_library_reports_a_pull_through_progress",
            the_library_reports_a_pull_through_progress,
        ),
        (
            "mirror_from_environment_falls_back_to_next_endpoint",
            mirror_from_environment_falls_back_to_next_endpoint,
        ),
        (
            "layers_are_shared_between_images",
            layers_are_shared_between_images,
        ),
        (
            "whiteouts_and_opaque_dirs_work_under_overlayfs",
            whiteouts_and_opaque_dirs_work_under_overlayfs,
        ),
        (
            "multi_arch_index_picks_the_platform",
            multi_arch_index_picks_the_platform,
        ),
        ("zstd_layers_unpack", zstd_layers_unpack),
        (
            "unknown_images_tags_and_digests_fail_clearly",
            unknown_images_tags_and_digests_fail_clearly,
        ),
        (
            "rmi_removes_only_what_nothing_else_uses",
            rmi_removes_only_what_nothing_else_uses,
        ),
        ("tag_images_flags_and_prune", tag_images_flags_and_prune),
        (
            "concurrent_pulls_of_one_image_both_succeed",
            concurrent_pulls_of_one_image_both_succeed,
        ),
        (
            "dropped_connections_are_resumed_with_range",
            dropped_connections_are_resumed_with_range,
        ),
        (
            "an_interrupted_pull_is_invisible_and_resumes",
            an_interrupted_pull_is_invisible_and_resumes,
        ),
        (
            "tampered_blobs_fail_with_clear_errors",
            tampered_blobs_fail_with_clear_errors,
        ),
        (
            "hostile_layers_fail_naming_the_entry",
            hostile_layers_fail_naming_the_entry,
        ),
        ("a_full_disk_fails_cleanly", a_full_disk_fails_cleanly),
        (
            "an_endless_manifest_is_refused_at_the_cap",
            an_endless_manifest_is_refused_at_the_cap,
        ),
        (
            "a_stalled_registry_fails_at_the_stall_deadline",
            a_stalled_registry_fails_at_the_stall_deadline,
        ),
        (
            "an_oversized_config_is_refused_before_download",
            an_oversized_config_is_refused_before_download,
        ),
        (
            "layer_bombs_stop_at_the_cap_and_the_free_space_margin",
            layer_bombs_stop_at_the_cap_and_the_free_space_margin,
        ),
        (
            "https_basic_auth_login_pull_logout",
            https_basic_auth_login_pull_logout,
        ),
        (
            "docker_hub_style_bearer_token_flow",
            docker_hub_style_bearer_token_flow,
        ),
        (
            "save_and_load_round_trip_docker_and_oci_archives",
            save_and_load_round_trip_docker_and_oci_archives,
        ),
        (
            "push_layers_mounts_tags_and_errors_like_docker",
            push_layers_mounts_tags_and_errors_like_docker,
        ),
        (
            "a_failed_blob_upload_is_tried_again",
            a_failed_blob_upload_is_tried_again,
        ),
        (
            "credential_helpers_for_login_push_pull_logout",
            credential_helpers_for_login_push_pull_logout,
        ),
        ("a_large_layer_pulls", a_large_layer_pulls),
    ];
    let selected: Vec<_> = tests
        .iter()
        .filter(|(n, _)| filter.as_deref().is_none_or(|f| n.contains(f)))
        .collect();
    if selected.is_empty() {
        println!("test result: ok. 0 passed; 0 failed; 0 ignored");
        return;
    }
    let base = tempfile::Builder::new()
        .prefix("rdock-image-test")
        .tempdir()
        .unwrap();
    let plain = Registry::start(base.path().join("registry"), &[]);
    let st = Command::new(products::repo().join("hack/test-images.sh"))
        .arg(plain.host())
        .arg(base.path().join("images"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "hack/test-images.sh failed");
    let env = Env {
        base,
        plain,
        counter: AtomicUsize::new(0),
    };
    println!("\nrunning {} tests", selected.len());
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, f) in selected {
        let t = std::time::Instant::now();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&env)))
            .unwrap_or_else(|p| {
                Err(p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default())
            });
        match res {
            Ok(()) => {
                println!("test {name} ... ok ({:.1}s)", t.elapsed().as_secs_f64());
                passed += 1;
            }
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed.push(*name);
            }
        }
    }
    drop(env);
    let _ = std::fs::remove_file("/tmp/rdock-escape");
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(101);
    }
}
