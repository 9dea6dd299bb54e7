use super::*;
use crate::map::IndexMap;
use crate::source::Span;

/// A manifest value from JSON; strings starting with `secret:` become secrets.
fn value(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap_or(0)),
        serde_json::Value::String(s) => match s.strip_prefix("secret:") {
            Some(rest) => Value::Secret(Box::new(Value::Str(rest.to_string()))),
            None => Value::Str(s),
        },
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(value).collect()),
        serde_json::Value::Object(map) => {
            Value::Map(map.into_iter().map(|(k, v)| (k, value(v))).collect::<IndexMap<_, _>>())
        }
    }
}

fn manifest(instance: serde_json::Value) -> Manifest {
    let value = value(serde_json::json!({
        "facs": { "instance": "dev", "project": "proj0" },
        "instance": instance,
    }));
    Manifest { value, spans: Spans::root(Span::new(crate::source::FileId(0), 0, 3)) }
}

fn request<'a>(manifest: &'a Manifest, target: Option<&'a str>) -> Request<'a> {
    Request {
        manifest,
        target,
        deploy_dir: PathBuf::from("/out/dev/proj0/_DEPLOY_"),
        has_project_dir: true,
        exclude_from: Some(PathBuf::from("/defs/exclude.rsync")),
        ssh: vec!["ssh".into()],
        project_dir: PathBuf::from("/defs"),
        protected: vec![PathBuf::from("/defs/.facsimile/out"), PathBuf::from("/defs/.facsimile/state")],
    }
}

fn lines(plan: &Plan) -> Vec<String> {
    plan.nodes
        .iter()
        .flat_map(|(node, cmds)| std::iter::once(format!("# {node}")).chain(cmds.iter().map(|c| c.display(false))))
        .collect()
}

const INSTALL: &str = "install";

#[test]
fn remote_plan_dedupes_nodes_and_prefers_the_target_user() {
    let m = manifest(serde_json::json!({
        "home": "/srv/dev",
        INSTALL: [{"type": "tmpl", "dir": "tmpl"}],
        "deploy": { "user": "deployer", "postcmd": ["systemctl --user restart proj0", "secret:echo pw"] },
        "targets": {
            "web": { "nodes": ["web1", "web2"], "user": "www" },
            "db": { "nodes": ["db1", "web1"] },
            "more": { "nodes": ["web2"], "user": "www" },
        }
    }));
    let plan = plan(&request(&m, None)).expect("plan");
    let labels: Vec<&str> = plan.nodes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(labels, ["www@web1", "www@web2", "deployer@db1", "deployer@web1"]);
    let text = lines(&plan).join("\n");
    assert!(text.contains(
        "rsync -aLp --secluded-args --exclude-from=/defs/exclude.rsync -e 'ssh -o BatchMode=yes -o ConnectTimeout=20' -- \
         /out/dev/proj0/_DEPLOY_/ www@web1:/srv/dev/"
    ));
    assert!(text.contains(
        "rsync -aLp --secluded-args --delete --exclude-from=/defs/exclude.rsync -e 'ssh -o BatchMode=yes -o ConnectTimeout=20' \
         -- /out/dev/proj0/_DEPLOY_/proj0/ www@web1:/srv/dev/proj0/"
    ));
    assert!(text.contains("ssh -o BatchMode=yes -o ConnectTimeout=20 -- deployer@db1 sh -s <<'EOF'\ncd -- /srv/dev || exit 1\nsystemctl --user restart proj0\nEOF"));
    // The secret postcmd is redacted, and never in an argv.
    assert!(text.contains("<<'EOF'\ncd -- /srv/dev || exit 1\n********\nEOF"));
    assert!(!text.contains("echo pw"));
    for (_, cmds) in &plan.nodes {
        assert!(cmds.iter().all(|c| c.argv.iter().all(|w| !w.text.contains("echo pw"))));
    }
}

#[test]
fn target_filter_and_unknown_target() {
    let m = manifest(serde_json::json!({
        "home": "/srv/dev", INSTALL: [{"type": "tmpl", "dir": "t"}],
        "targets": { "web": { "nodes": ["web1"] }, "db": { "nodes": ["db1"] } }
    }));
    let plan = plan(&request(&m, Some("db"))).expect("plan");
    assert_eq!(plan.nodes.len(), 1);
    let errors = super::plan(&request(&m, Some("wbe"))).expect_err("unknown target");
    let d = &errors[0];
    assert_eq!(d.code, Code::E023);
    assert!(d.help.as_deref().unwrap_or("").contains("Did you mean `web`?"), "{d:?}");
}

#[test]
fn remote_deploy_needs_a_home_and_refuses_the_root() {
    let m = manifest(
        serde_json::json!({ INSTALL: [{"type": "tmpl", "dir": "t"}], "targets": { "web": { "nodes": ["w"] } } }),
    );
    let errors = plan(&request(&m, None)).expect_err("no home");
    assert_eq!(errors[0].code, Code::E009);
    let m = manifest(
        serde_json::json!({ "home": "/", INSTALL: [{"type": "tmpl", "dir": "t"}], "targets": { "web": { "nodes": ["w"] } } }),
    );
    assert_eq!(plan(&request(&m, None)).expect_err("root")[0].code, Code::E023);
}

#[test]
fn local_plan_uses_destdir_and_refuses_facs_directories() {
    let m = manifest(serde_json::json!({
        "home": "/srv/x", INSTALL: [{"type": "tmpl", "dir": "t"}],
        "deploy": { "destdir": "deployed", "postcmd": ["touch done"] }
    }));
    let plan = plan(&request(&m, None)).expect("plan");
    let text = lines(&plan);
    assert_eq!(
        text,
        [
            "# local",
            "mkdir -p -- /defs/deployed",
            "rsync -aLp --exclude-from=/defs/exclude.rsync -- /out/dev/proj0/_DEPLOY_/ /defs/deployed/",
            "rsync -aLp --delete --exclude-from=/defs/exclude.rsync -- /out/dev/proj0/_DEPLOY_/proj0/ /defs/deployed/proj0/",
            "sh -s <<'EOF'\ncd -- /defs/deployed || exit 1\ntouch done\nEOF",
        ]
    );
    for bad in ["/", "/defs", ".", "..", ".facsimile/out/x", ".facsimile"] {
        let m = manifest(serde_json::json!({ "home": bad, INSTALL: [{"type": "tmpl", "dir": "t"}] }));
        let errors = super::plan(&request(&m, None)).expect_err(bad);
        assert_eq!(errors[0].code, Code::E023, "{bad}");
    }
}

#[test]
fn an_instance_without_install_has_nothing_to_deploy() {
    let m = manifest(serde_json::json!({ "home": "/srv/x", INSTALL: [] }));
    let errors = plan(&request(&m, None)).expect_err("nothing to deploy");
    assert_eq!(errors[0].code, Code::E023);
}

#[test]
fn a_target_port_is_the_ssh_port_of_its_nodes() {
    let m = manifest(serde_json::json!({
        "home": "/srv/dev", INSTALL: [{"type": "tmpl", "dir": "t"}],
        "targets": { "web": { "nodes": ["web1"], "port": 2222 }, "db": { "nodes": ["web1"] } }
    }));
    let plan = plan(&request(&m, None)).expect("plan");
    let labels: Vec<&str> = plan.nodes.iter().map(|(n, _)| n.as_str()).collect();
    // The same node on two ports is two destinations.
    assert_eq!(labels, ["web1 (port 2222)", "web1"]);
    let text = lines(&plan).join("\n");
    assert!(
        text.contains(
            "-e 'ssh -o BatchMode=yes -o ConnectTimeout=20 -p 2222' -- /out/dev/proj0/_DEPLOY_/ web1:/srv/dev/"
        ),
        "{text}"
    );
}

#[test]
fn destinations_are_checked_on_every_build_where_deploy_would_use_them() {
    let fallback = Span::new(crate::source::FileId(0), 0, 3);
    let home_span = Span::new(crate::source::FileId(0), 10, 20);
    let destdir_span = Span::new(crate::source::FileId(0), 30, 40);
    let mut spans = Spans::root(fallback);
    spans.insert("home", home_span);
    spans.insert("deploy.destdir", destdir_span);
    let check = |mut m: Manifest| {
        m.spans = spans.clone();
        check(&m)
    };
    let remote = |home: &str| {
        manifest(serde_json::json!({
            "home": home, INSTALL: [{"type": "tmpl", "dir": "t"}], "targets": { "web": { "nodes": ["w"] } }
        }))
    };
    for bad in ["/", "/srv/../", "//", "~", "./", "x/..", "../x", "/etc", "$HOME/shop"] {
        let found = check(remote(bad));
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        let d = &found[0];
        assert_eq!((d.code, d.primary.as_ref().map(|l| l.span)), (Code::E023, Some(home_span)), "{bad}");
        assert!(d.message.starts_with("refusing to deploy into `"), "{}", d.message);
        assert!(d.help.as_deref().is_some_and(|h| h.contains("directory of its own")), "{d:?}");
    }
    for good in ["/srv/shop", "deploy/shop", "./deploy/shop", "~/deploy/shop", "/etc/shop"] {
        assert!(check(remote(good)).is_empty(), "{good}");
    }
    // Locally `deploy.destdir` is the destination, so a `home` of `~` is only data.
    let local = manifest(serde_json::json!({
        "home": "~", INSTALL: [{"type": "tmpl", "dir": "t"}], "deploy": { "destdir": "/usr/./" }
    }));
    let found = check(local);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].primary.as_ref().map(|l| l.span), Some(destdir_span));
    assert!(found[0].message.contains("`/usr` is a system directory"), "{}", found[0].message);
    let local = manifest(serde_json::json!({ "home": "~/", INSTALL: [{"type": "tmpl", "dir": "t"}] }));
    assert!(check(local)[0].message.contains("your home directory itself"));
    // Nothing to install, nothing deployed: `home` is data.
    let data = manifest(serde_json::json!({ "home": "/", INSTALL: [], "targets": { "web": { "nodes": ["w"] } } }));
    assert!(check(data).is_empty());
    // A secret `home` is refused as a secret, never quoted.
    let secret = remote("secret:/");
    let found = check(secret);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("computed from a secret"));
}

#[test]
fn a_remote_home_reaches_rsync_and_the_shell_normalised() {
    let m = manifest(serde_json::json!({
        "home": "~/./deploy//shop/", INSTALL: [{"type": "tmpl", "dir": "t"}],
        "deploy": { "postcmd": ["true"] }, "targets": { "web": { "nodes": ["w"] } }
    }));
    let text = lines(&plan(&request(&m, None)).expect("plan")).join("\n");
    // `~` would be a literal directory to rsync with --secluded-args and
    // expanded by the shell: neither sees it.
    assert!(text.contains("-- /out/dev/proj0/_DEPLOY_/ w:deploy/shop/\n"), "{text}");
    assert!(text.contains("-- /out/dev/proj0/_DEPLOY_/proj0/ w:deploy/shop/proj0/\n"), "{text}");
    assert!(text.contains("cd -- deploy/shop || exit 1"), "{text}");
    assert!(!text.contains('~'), "{text}");
    for bad in ["/srv/..", "~/", "~/../x", "/var"] {
        let m = manifest(serde_json::json!({
            "home": bad, INSTALL: [{"type": "tmpl", "dir": "t"}], "targets": { "web": { "nodes": ["w"] } }
        }));
        assert_eq!(plan(&request(&m, None)).expect_err(bad)[0].code, Code::E023, "{bad}");
    }
}

#[test]
fn target_postcmds_run_after_the_instance_ones_on_that_targets_nodes() {
    let m = manifest(serde_json::json!({
        "home": "/srv/dev",
        INSTALL: [{"type": "tmpl", "dir": "tmpl"}],
        "deploy": { "postcmd": ["echo all"] },
        "targets": {
            "web": { "nodes": ["web1", "both", "web1"], "postcmd": ["systemctl --user restart web", "secret:echo pw"] },
            "db": { "nodes": ["db1", "both"], "postcmd": ["echo db"] },
            "plain": { "nodes": ["plain1"] },
        }
    }));
    let plan = plan(&request(&m, None)).expect("plan");
    let posts = |node: &str| -> Vec<(String, String)> {
        let (_, cmds) = plan.nodes.iter().find(|(n, _)| n == node).expect("node");
        cmds.iter()
            .filter(|c| c.purpose.starts_with("postcmd"))
            .map(|c| {
                (
                    c.purpose.clone(),
                    c.stdin
                        .last()
                        .map(|w| if w.secret { "<secret>".into() } else { w.text.clone() })
                        .unwrap_or_default(),
                )
            })
            .collect()
    };
    let pair = |p: &str, t: &str| (p.to_string(), t.to_string());
    assert_eq!(
        posts("web1"),
        [
            pair("postcmd 1", "echo all"),
            pair("postcmd 1 of target web", "systemctl --user restart web"),
            pair("postcmd 2 of target web", "<secret>"),
        ],
        "listed twice in one target, run once"
    );
    // In two targets: the instance's, then each target's in declaration order.
    assert_eq!(
        posts("both"),
        [
            pair("postcmd 1", "echo all"),
            pair("postcmd 1 of target web", "systemctl --user restart web"),
            pair("postcmd 2 of target web", "<secret>"),
            pair("postcmd 1 of target db", "echo db"),
        ]
    );
    assert_eq!(posts("plain1"), [pair("postcmd 1", "echo all")]);
    // The secret one is redacted when shown and never in an argv.
    let text = lines(&plan).join("\n");
    assert!(!text.contains("echo pw"), "{text}");
    assert!(plan.nodes.iter().flat_map(|(_, c)| c).all(|c| c.argv.iter().all(|w| !w.text.contains("echo pw"))));
    // `--target db` runs only db's postcmds.
    let only = super::plan(&request(&m, Some("db"))).expect("plan");
    let (_, cmds) = only.nodes.iter().find(|(n, _)| n == "both").expect("both");
    let purposes: Vec<&str> = cmds.iter().map(|c| c.purpose.as_str()).filter(|p| p.starts_with("postcmd")).collect();
    assert_eq!(purposes, ["postcmd 1", "postcmd 1 of target db"]);
}

#[test]
fn the_preview_is_the_rsync_commands_as_a_dry_run() {
    let m = manifest(serde_json::json!({
        "home": "/srv/dev",
        INSTALL: [{"type": "tmpl", "dir": "tmpl"}],
        "deploy": { "postcmd": ["echo all"] },
        "targets": { "web": { "nodes": ["web1"] } }
    }));
    let plan = plan(&request(&m, None)).expect("plan");
    let preview = preview(&plan.nodes[0].1);
    let purposes: Vec<&str> = preview.iter().map(|c| c.purpose.as_str()).collect();
    assert_eq!(purposes, [RSYNC, RSYNC_DELETE], "no postcmd, no mkdir");
    for cmd in &preview {
        let words: Vec<&str> = cmd.argv.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words[..4], ["rsync", "--dry-run", "--itemize-changes", "--checksum"]);
    }
}
