//! `project { include: [...] }` (spec §2): shared definitions from another
//! directory, with their `tmpl/` and `extra/` joining the project's.

use std::path::Path;

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// A platform repository beside the project: its schema, module and abstract
/// instance are the project's, its templates and extra files render, and the
/// project's own template of the same path wins.
#[test]
fn an_included_directory_shares_definitions_templates_and_extra_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let platform = tmp.path().join("platform");
    let shop = tmp.path().join("shop");
    write(
        &platform.join("schemas.facs"),
        "schema Instance { region: string  tier: string = \"dev\" }\nmodule logger { level: \"info\" }\n\
         abstract instance platform-base {\n  install: [{ type: \"tmpl\", dir: \"tmpl\" }]\n}\n",
    );
    write(&platform.join("tmpl/_ALL_/platform.conf"), "region={{instance.region}} tier={{instance.tier}}\n");
    write(&platform.join("tmpl/_ALL_/override.txt"), "from platform\n");
    write(&platform.join("extra/_ALL_/motd"), "extra from platform\n");
    write(
        &shop.join("main.facs"),
        "project shop {\n  version: \"1.0\"\n  include: [\"../platform\"]\n}\n\
         instance prod inherits platform-base { region: \"eu\" home: \"/srv/shop\" }\n",
    );
    write(&shop.join("tmpl/_ALL_/override.txt"), "from shop\n");
    let (code, stdout, stderr) = crate::common::facs_run(&shop, &["list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("../platform/schemas.facs:3"),
        "included files are named from the definition directory: {stdout}"
    );
    let (code, _, stderr) = crate::common::facs_run(&shop, &["build"]);
    assert_eq!(code, Some(0), "{stderr}");
    let tree = shop.join(".facsimile/out/prod/shop");
    let read = |rel: &str| std::fs::read_to_string(tree.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(read("platform.conf"), "region=eu tier=dev\n");
    assert_eq!(read("override.txt"), "from shop\n", "the project's own template wins");
    assert_eq!(read("_DEPLOY_/motd"), "extra from platform\n");
    let manifest = std::fs::read_to_string(shop.join(".facsimile/out/prod.json")).expect("manifest");
    assert!(manifest.contains("\"logger\""), "the included module is the project's: {manifest}");

    // An included directory may not declare `project`; a missing one is E022.
    write(&platform.join("second.facs"), "project other {}\n");
    write(
        &shop.join("main.facs"),
        "project shop {\n  include: [\"../platform\", \"../nowhere\"]\n}\ninstance prod inherits platform-base { region: \"eu\" }\n",
    );
    let (code, _, stderr) = crate::common::facs_run(&shop, &["check"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error[E002]: an included directory may not declare `project`"), "{stderr}");
    assert!(stderr.contains("../platform/second.facs:1:9"), "{stderr}");
    assert!(stderr.contains("error[E022]: included directory `../nowhere` cannot be read"), "{stderr}");
}
