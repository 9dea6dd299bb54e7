//! Where a build's outputs go: the original facsimile's release layout
//! (spec §10), a leaf module. Evaluation (`facs.release_dir`), render (tree
//! paths), the writer and deploy all ask here, so the layout is written once.
//!
//! ```text
//! <out>/<instance>.json                      the manifest
//! <out>/<instance>/<project>/                the release directory (the tree)
//! <out>/<instance>/<project>/_DEPLOY_/       what deploy sends to `home`
//! ```

use std::path::{Path, PathBuf};

/// The directory of the release that deploy sends.
pub const DEPLOY: &str = "_DEPLOY_";

/// `<out>/<instance>/<project>`, as `facs.release_dir` shows it.
pub fn release_dir(out_dir: &str, instance: &str, project: &str) -> String {
    format!("{out_dir}/{instance}/{project}")
}

/// `<release>/_DEPLOY_`, as `facs.deploy_dir` shows it.
pub fn deploy_dir(release_dir: &str) -> String {
    format!("{release_dir}/{DEPLOY}")
}

/// The deploy directory inside an instance's tree: `<project>/_DEPLOY_`
/// (tree paths are relative to `<out>/<instance>`).
pub fn tree_deploy_dir(project: &str) -> String {
    format!("{project}/{DEPLOY}")
}

/// `<out>/<instance>.json`.
pub fn manifest_path(out_dir: &Path, instance: &str) -> PathBuf {
    out_dir.join(format!("{instance}.json"))
}

/// `<out>/<instance>/<project>/_DEPLOY_` on disk.
pub fn deploy_path(out_dir: &Path, instance: &str, project: &str) -> PathBuf {
    out_dir.join(instance).join(project).join(DEPLOY)
}
