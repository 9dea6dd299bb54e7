//! Components (spec §4, issue 17): a conglomerate of three components (one
//! checked out from a real local git repository at a tag, one with its own
//! instance overrides, one standalone project that also builds alone
//! unchanged) sharing one set of environments and one state per
//! environment. See `docs/decisions/components.md`.

use crate::common::{self, git};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PLATFORM: &str = r#"project platform {
  version: "2.3.0"
  component shop { dir: "../shop" }
  component billing { repo: "../billing-repo", version: "1.4.0", dir: "config/facs" }
  component web { dir: "../web", targets: ["front"] }
}

/// Shared by every component: one password in all of them.
module db { service { logical_name: "db" } }

abstract instance base {
  domain: "example.org"
  deploy { user: "deployer" }
  target front { nodes: ["f1", "f2"] }
  target back { nodes: ["b1"] }
}
instance dev inherits base { tier: "dev" }
instance prod inherits base { tier: "prod" }
"#;

/// A standalone project: it builds alone, and in the conglomerate its
/// `instance prod` overrides the conglomerate's.
const SHOP: &str = r#"project shop { version: "1.0.0" }

module shopd {}
module db { service { logical_name: "db" } }

abstract instance common {
  install: [{ type: "tmpl", dir: "tmpl" }]
  domain: "shop.example.org"
  tier: "standalone"
  home: "/srv/shop"
}
instance dev inherits common {}
instance prod inherits common { replicas: 4 }
"#;

/// A standalone project that builds alone; in the conglomerate it also
/// gets the shared module `db` (its template guards it).
const WEB: &str = r#"project web { version: "0.1.0" }

module www { daemon: "nginx" }

abstract instance site {
  install: [{ type: "tmpl", dir: "tmpl" }]
  home: "/srv/web"
}
instance dev inherits site {}
instance prod inherits site {}
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The conglomerate `platform/` and its three components beside it;
/// `billing-repo/` is a git repository whose tag 1.4.0 holds the billing
/// definitions (a later commit changes them, so only the tag can explain
/// what is built).
fn setup(work: &Path) -> PathBuf {
    write(&work.join("platform/main.facs"), PLATFORM);
    write(&work.join("shop/main.facs"), SHOP);
    write(
        &work.join("shop/tmpl/_ALL_/shop.conf"),
        "shop {{instance.name}} tier={{instance.tier}} domain={{instance.domain}}\n\
         db={{module.db.password}} shopd={{module.shopd.password}}\n",
    );
    write(&work.join("shop/tmpl/prod/replicas.conf"), "replicas={{instance.replicas}}\n");
    write(&work.join("web/main.facs"), WEB);
    write(
        &work.join("web/tmpl/_ALL_/web.conf"),
        "web {{instance.name}} {{default instance.tier \"none\"}}{{#if module.db}} db={{module.db.password}}{{/if}}\n",
    );
    let repo = work.join("billing-repo");
    write(
        &repo.join("config/facs/main.facs"),
        "project billing { version: \"1.4.0\" }\n\
         module billingd { daemon: \"bill\" }\n\
         instance prod { install: [{ type: \"tmpl\", dir: \"tmpl\" }] tier: \"billing-prod\" }\n",
    );
    write(
        &repo.join("config/facs/tmpl/_ALL_/billing.conf"),
        "billing {{instance.name}} {{instance.tier}} db={{module.db.password}} bill={{module.billingd.password}}\n",
    );
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "billing 1.4.0"]);
    git(&repo, &["tag", "1.4.0"]);
    write(&repo.join("config/facs/main.facs"), "project billing { version: \"1.5.0-dev\" }\n");
    git(&repo, &["commit", "-q", "-am", "after the tag"]);
    work.join("platform")
}

fn facs(dir: &Path, args: &[&str]) -> Output {
    common::facs_env(dir, args, &[])
}

fn build(dir: &Path, out: &str, state: &Path) -> Output {
    let out_dir = dir.join(out);
    let (o, s) = (out_dir.to_string_lossy().into_owned(), state.to_string_lossy().into_owned());
    facs(dir, &["build", "--out", &o, "--state", &s])
}

fn ok(out: &Output) {
    assert!(out.status.success(), "facs failed:\n{}", common::text(out));
}

/// Every file below `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut map = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let name = entry.path().strip_prefix(dir).expect("below").to_string_lossy().into_owned();
            map.insert(name, std::fs::read(entry.path()).expect("read"));
        }
    }
    map
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// The output as one text: every file with a `//// path` header, the
/// marker file left out, generated values replaced by `<uuid4>`.
fn overview(out: &Path) -> String {
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}").expect("re");
    let mut text = String::new();
    for (name, bytes) in files(out) {
        if name.starts_with('.') {
            continue;
        }
        text.push_str(&format!("//// {name}\n{}", String::from_utf8_lossy(&bytes)));
    }
    uuid.replace_all(&text, "<uuid4>").into_owned()
}

#[test]
fn three_components_share_one_set_of_environments() {
    if !common::have_tools("three_components_share_one_set_of_environments", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platform = setup(work.path());
    let state = work.path().join("state");
    let out = build(&platform, "out", &state);
    ok(&out);
    let out_dir = platform.join("out");
    insta::assert_snapshot!("components_output", overview(&out_dir));

    // One password per username across the conglomerate and every component.
    let prod = json(&out_dir.join("prod.json"));
    let db = &prod["module"]["db"]["password"];
    assert!(db.as_str().is_some_and(|p| p.len() == 36), "{prod}");
    for component in ["shop", "billing", "web"] {
        assert_eq!(&prod["component"][component]["module"]["db"]["password"], db, "{component}");
    }
    let saved = json(&state.join("prod/state.json"));
    assert_eq!(&saved["passwd"]["db"], db);
    assert_eq!(saved["passwd"]["bill"], prod["component"]["billing"]["module"]["billingd"]["password"]);
    let tree = files(&out_dir.join("prod"));
    let db = db.as_str().expect("str");
    for file in ["shop/shop.conf", "billing/billing.conf", "web/web.conf"] {
        let text =
            String::from_utf8_lossy(tree.get(file).unwrap_or_else(|| panic!("no {file}: {tree:?}"))).into_owned();
        assert!(text.contains(&format!("db={db}")), "{file}: {text}");
    }
    // One state owner per conglomerate instance; nothing written in the components.
    let mut owners: Vec<String> = std::fs::read_dir(&state)
        .expect("state")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    owners.sort();
    assert_eq!(owners, ["dev", "prod"]);
    assert!(!work.path().join("shop/.facsimile").exists());
    assert!(!work.path().join("web/.facsimile").exists());

    // A second build reproduces every byte.
    ok(&build(&platform, "again", &state));
    assert_eq!(files(&platform.join("again")), files(&out_dir));
    assert_eq!(json(&state.join("prod/state.json")), saved);
}

#[test]
fn a_component_builds_alone_unchanged() {
    if !common::have_tools("a_component_builds_alone_unchanged", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platform = setup(work.path());
    let mut alone = BTreeMap::new();
    for name in ["shop", "web"] {
        let dir = work.path().join(name);
        let state = work.path().join(format!("{name}-state"));
        ok(&build(&dir, "alone", &state));
        alone.insert(name, (files(&dir.join("alone")), files(&state), files(&dir)));
    }
    let (shop_out, _, _) = &alone["shop"];
    assert!(shop_out.contains_key("prod/shop/replicas.conf"), "{:?}", shop_out.keys());
    let web_conf = String::from_utf8_lossy(&alone["web"].0["prod/web/web.conf"]).into_owned();
    assert_eq!(web_conf, "web prod none\n");

    ok(&build(&platform, "out", &work.path().join("state")));
    for name in ["shop", "web"] {
        let dir = work.path().join(name);
        let state = work.path().join(format!("{name}-state"));
        let (out_before, state_before, dir_before) = &alone[name];
        // The conglomerate's build wrote nothing into the component.
        assert_eq!(&files(&dir), dir_before, "{name}: the conglomerate's build changed its directory");
        std::fs::remove_dir_all(dir.join("alone")).expect("rm");
        ok(&build(&dir, "alone", &state));
        assert_eq!(&files(&dir.join("alone")), out_before, "the conglomerate changed how {name} builds alone");
        assert_eq!(&files(&state), state_before);
    }
    let conf = String::from_utf8_lossy(&alone["shop"].0["prod/shop/shop.conf"]).into_owned();
    assert!(conf.starts_with("shop prod tier=standalone domain=shop.example.org\n"), "{conf}");
}

#[test]
fn concurrent_builds_of_a_conglomerate_keep_one_set_of_passwords() {
    if !common::have_tools("concurrent_builds_of_a_conglomerate_keep_one_set_of_passwords", &["git"]) {
        return;
    }
    for round in 0..3 {
        let work = tempfile::tempdir().expect("tempdir");
        let platform = setup(work.path());
        // The checkout is made once, before the race (it has its own lock).
        ok(&facs(&platform, &["check"]));
        let state = work.path().join("state");
        let spawn = |out: &str| {
            Command::new(env!("CARGO_BIN_EXE_facs"))
                .arg("-p")
                .arg(&platform)
                .args(["build", "--out"])
                .arg(platform.join(out))
                .arg("--state")
                .arg(&state)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn facs")
        };
        let children = [spawn("out0"), spawn("out1")];
        for child in children {
            let output = child.wait_with_output().expect("wait");
            assert!(output.status.success(), "round {round}: {}", String::from_utf8_lossy(&output.stderr));
        }
        for name in ["dev", "prod"] {
            let first = json(&platform.join(format!("out0/{name}.json")));
            assert_eq!(json(&platform.join(format!("out1/{name}.json"))), first, "round {round}: {name}");
            let saved = json(&state.join(format!("{name}/state.json")));
            assert_eq!(saved["passwd"]["db"], first["module"]["db"]["password"]);
            assert_eq!(saved["passwd"]["shopd"], first["component"]["shop"]["module"]["shopd"]["password"]);
        }
        assert_eq!(files(&platform.join("out0/prod")), files(&platform.join("out1/prod")));
    }
}

#[test]
fn a_failed_state_write_keeps_the_shared_state_and_the_next_build_agrees() {
    if !common::have_tools("a_failed_state_write_keeps_the_shared_state_and_the_next_build_agrees", &["git", "strace"])
    {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platform = setup(work.path());
    let state = work.path().join("state");
    ok(&build(&platform, "out", &state));
    let saved = json(&state.join("prod/state.json"));
    // A new shared module: every owner gets a value; the first rename of a
    // state file fails as on a full disk.
    let text = PLATFORM.replace("module db {", "module cache {}\nmodule db {");
    write(&platform.join("main.facs"), &text);
    let traced = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2"])
        .args(["-e", "inject=rename,renameat,renameat2:error=ENOSPC:when=1"])
        .arg(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(&platform)
        .args(["build", "--out"])
        .arg(platform.join("out"))
        .arg("--state")
        .arg(&state)
        .env("NO_COLOR", "1")
        .output()
        .expect("strace");
    assert!(!traced.status.success(), "the injected failure went unnoticed:\n{}", common::text(&traced));
    // The previous state is intact (or the new one is complete).
    let after = json(&state.join("prod/state.json"));
    assert_eq!(after["passwd"]["db"], saved["passwd"]["db"]);
    ok(&build(&platform, "out", &state));
    let prod = json(&platform.join("out/prod.json"));
    let finally = json(&state.join("prod/state.json"));
    assert_eq!(finally["passwd"]["db"], saved["passwd"]["db"]);
    assert_eq!(prod["module"]["cache"]["password"], finally["passwd"]["cache"]);
    assert_eq!(prod["component"]["shop"]["module"]["cache"]["password"], finally["passwd"]["cache"]);
}

#[test]
fn a_component_cycle_is_e004() {
    let work = tempfile::tempdir().expect("tempdir");
    write(&work.path().join("a/main.facs"), "project a { component b { dir: \"../b\" } }\ninstance dev {}\n");
    write(&work.path().join("b/main.facs"), "project b { component c { dir: \"../c\" } }\n");
    write(&work.path().join("c/main.facs"), "project c { component a { dir: \"../a\" } }\n");
    let out = facs(&work.path().join("a"), &["check"]);
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("error[E004]: component cycle: `a` → `b` → `c` → `a`"), "{text}");
    assert!(text.contains("../b/main.facs:1:23"), "the label names b's file: {text}");
}

#[test]
fn a_missing_component_directory_is_e022() {
    let work = tempfile::tempdir().expect("tempdir");
    write(&work.path().join("a/main.facs"), "project a { component gone { dir: \"../gone\" } }\ninstance dev {}\n");
    let out = facs(&work.path().join("a"), &["check", "--message-format", "json"]);
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(r#""code":"E022","message":"component `gone`: directory `../gone` cannot be read"#),
        "{text}"
    );
}

#[test]
fn errors_in_a_component_name_its_files_by_path() {
    if !common::have_tools("errors_in_a_component_name_its_files_by_path", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platform = setup(work.path());
    write(&work.path().join("shop/broken.facs"), "abstract instance extra {\n  x: 1\n  y: nothere\n}\n");
    write(&work.path().join("shop/more.facs"), "instance dev inherits extra {}\n");
    write(&work.path().join("shop/tmpl/dev/bad.conf"), "{{instance.missing}}\n");
    let out = facs(&platform, &["check", "--message-format", "json"]);
    let text = common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // E002: shop now declares `instance dev` twice, in its own files.
    assert!(text.contains(r#""code":"E002","message":"instance `dev` is declared twice","file":"../shop/more.facs","line":1,"column":10"#), "{text}");
    let out = {
        std::fs::remove_file(work.path().join("shop/more.facs")).expect("rm");
        write(
            &work.path().join("shop/main.facs"),
            &SHOP.replace("instance dev inherits common {}", "instance dev inherits common, extra {}"),
        );
        facs(&platform, &["check", "--message-format", "json"])
    };
    let text = common::text(&out);
    assert!(text.contains(r#""code":"E010","message":"unresolved reference `nothere`","file":"../shop/broken.facs","line":3,"column":6"#), "{text}");
    std::fs::write(work.path().join("shop/broken.facs"), "abstract instance extra {}\n").expect("write");
    let out = facs(&platform, &["check"]);
    let text = common::text(&out);
    assert!(text.contains("┌─ ../shop/tmpl/dev/bad.conf:1:"), "{text}");
}

/// `explain`, `list` and `graph` show the components (issue 17): a value
/// as a component sees an instance, with the steps from both directories.
#[test]
fn explain_list_and_graph_understand_components() {
    if !common::have_tools("explain_list_and_graph_understand_components", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platform = setup(work.path());
    let state = work.path().join("state");
    ok(&build(&platform, "out", &state));
    let state = state.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        if args[0] != "graph" {
            all.extend(["--state", &state]);
        }
        let out = facs(&platform, &all);
        format!("$ facs {}\n{}", args.join(" "), common::text(&out))
    };
    let mut shown = String::new();
    for args in [
        &["explain", "prod", "component.shop.instance.tier"][..],
        &["explain", "dev", "component.shop.tier"],
        &["explain", "prod", "component.billing.instance.tier"],
        &["explain", "prod", "component.billing.module.db.password"],
        &["explain", "prod", "component.shp.tier"],
        &["explain", "prod", "component.web"],
        &["list", "components"],
        &["list", "modules"],
        &["graph"],
        &["graph", "--format", "mermaid"],
    ] {
        shown.push_str(&run(args));
        shown.push('\n');
    }
    // No secret in any of it: the password is the same in the state.
    let saved = json(&work.path().join("state/prod/state.json"));
    let password = saved["passwd"]["db"].as_str().expect("password");
    assert!(!shown.contains(password), "{shown}");
    insta::assert_snapshot!("components_inspected", shown);

    let graph: serde_json::Value =
        serde_json::from_str(&common::text(&facs(&platform, &["graph", "--format", "json"]))).expect("json");
    let edges = graph["edges"].as_array().expect("edges");
    assert!(edges.iter().any(|e| e["from"] == "shop:prod" && e["to"] == "prod" && e["kind"] == "component"), "{graph}");
    assert!(
        edges.iter().any(|e| e["from"] == "web:dev" && e["to"] == "web:site" && e["kind"] == "inherits"),
        "{graph}"
    );
    let nodes = graph["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().any(|n| n["name"] == "billing:prod" && n["component"] == "billing"), "{graph}");

    // A project without components says so.
    let alone = facs(&work.path().join("shop"), &["list", "components"]);
    assert!(alone.status.success());
    assert!(common::text(&alone).contains("declares no components"), "{}", common::text(&alone));
}

/// `unique` holds among the instances as each component sees them: a
/// component's own `instance prod` giving prod dev's port is E025 under
/// `component.web...`; a clash of the conglomerate's own values is reported
/// once, not once more per component.
#[test]
fn unique_holds_in_each_components_view() {
    if !common::have_tools("unique_holds_in_each_components_view", &["git"]) {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let platform = setup(work.path());
    let main = platform.join("main.facs");
    let text = std::fs::read_to_string(&main)
        .expect("read")
        .replace("{ tier: \"dev\" }", "{ tier: \"dev\" http_port: 8001 }")
        .replace("{ tier: \"prod\" }", "{ tier: \"prod\" http_port: 8002 }")
        + "schema Instance {\n  http_port: int unique = 8000\n  ...\n}\n";
    write(&main, &text);
    let check = |dir: &Path| facs(dir, &["check"]);
    ok(&check(&platform));

    let web = work.path().join("web/main.facs");
    let text = std::fs::read_to_string(&web)
        .expect("read")
        .replace("instance prod inherits site {}", "instance prod inherits site { http_port: 8001 }");
    write(&web, &text);
    let out = check(&platform);
    let shown = common::text(&out);
    assert!(!out.status.success(), "{shown}");
    assert_eq!(shown.matches("error[E025]").count(), 1, "{shown}");
    assert!(
        shown.contains("`component.web.instance.http_port` must be unique, but `dev` and `prod` both have `8001`"),
        "{shown}"
    );
    assert!(shown.contains("../web/main.facs"), "{shown}");

    // The conglomerate's own clash: one error, not one per component.
    write(&web, &text.replace(" http_port: 8001 ", ""));
    write(&main, &std::fs::read_to_string(&main).expect("read").replace("http_port: 8002", "http_port: 8001"));
    let out = check(&platform);
    let shown = common::text(&out);
    assert_eq!(shown.matches("error[E025]").count(), 1, "{shown}");
    assert!(shown.contains("`instance.http_port` must be unique"), "{shown}");
}
