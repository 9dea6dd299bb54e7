//! A build killed with SIGKILL at any moment leaves every previous tree
//! intact and complete, and no staging directory a later build trips over
//! (spec §10).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

const N_INSTANCES: usize = 40;
const N_TEMPLATES: usize = 30;

fn write_project(dir: &Path, generation: &str) {
    std::fs::create_dir_all(dir.join("tmpl/_ALL_/_DEPLOY_/etc")).expect("mkdir");
    let mut facs = String::from("project demo { version: \"1.0\" }\nmodule app {}\n");
    facs.push_str("abstract instance base { install: [ { type: \"tmpl\", dir: \"tmpl\" } ] }\n");
    for i in 0..N_INSTANCES {
        facs.push_str(&format!("instance i{i} inherits base {{ n: {i} }}\n"));
    }
    std::fs::write(dir.join("main.facs"), facs).expect("main.facs");
    for t in 0..N_TEMPLATES {
        let body = format!("{generation} {{{{instance.name}}}} {t}\n").repeat(200);
        std::fs::write(dir.join(format!("tmpl/_ALL_/_DEPLOY_/etc/f{t}.conf")), body).expect("template");
    }
}

fn build(dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_facs"))
        .arg("-p")
        .arg(dir)
        .arg("build")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Every tree holds all its files, each entirely of one generation, and all
/// files of one tree are of the same generation.
fn assert_trees_whole(dir: &Path) -> Vec<String> {
    let out = dir.join(".facsimile/out");
    let mut generations = Vec::new();
    for i in 0..N_INSTANCES {
        let etc = out.join(format!("i{i}/demo/_DEPLOY_/etc"));
        let mut seen = None;
        for t in 0..N_TEMPLATES {
            let text = std::fs::read_to_string(etc.join(format!("f{t}.conf"))).expect("a complete tree");
            let generation = text.split_whitespace().next().expect("content").to_string();
            assert_eq!(text, format!("{generation} i{i} {t}\n").repeat(200), "file f{t} of i{i} is partial");
            assert!(seen.as_ref().is_none_or(|g| *g == generation), "tree i{i} mixes generations");
            seen = Some(generation);
        }
        generations.push(seen.expect("files"));
    }
    generations
}

#[test]
fn killed_builds_leave_the_previous_tree_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    write_project(&dir, "old");
    assert!(build(&dir).wait().expect("wait").success());
    assert!(assert_trees_whole(&dir).iter().all(|g| g == "old"));
    for (round, delay_ms) in [0u64, 2, 5, 8, 12, 16, 20, 25, 30, 40, 60, 80].iter().enumerate() {
        write_project(&dir, &format!("gen{round}"));
        let mut child = build(&dir);
        std::thread::sleep(Duration::from_millis(*delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_trees_whole(&dir);
    }
    // A later build sweeps what the killed ones left and completes.
    write_project(&dir, "final");
    assert!(build(&dir).wait().expect("wait").success());
    assert!(assert_trees_whole(&dir).iter().all(|g| g == "final"));
    let leftovers: Vec<String> = std::fs::read_dir(dir.join(".facsimile/out"))
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "stray staging files: {leftovers:?}");
}
