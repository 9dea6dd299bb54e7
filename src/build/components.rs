//! Loading a conglomerate's components (spec §4, `docs/decisions/components.md`).
//!
//! Input: the conglomerate's parsed files, whose `project` block lists
//! `component NAME { dir | repo + version + dir, targets }`. Output: each
//! component's files, appended after the conglomerate's (named by their path
//! relative to the conglomerate's directory), and a [`Component`] saying
//! where they are. A `repo` is checked out at the tag `version` when no
//! checkout exists (the definitions cannot be read otherwise).
//!
//! Invariants: every component that cannot be loaded has one diagnostic
//! with a code on its `component` item (E022 unreadable, E009 no `project`,
//! E004 cycle, E002 twice); none is skipped silently.

use super::{load_dir, Include};
use crate::diagnostic::{closest, Code, Diagnostic, Sink};
use crate::source::{FileId, Fs, SourceMap, Span};
use crate::syntax::ast::{self, Item};
use std::path::{Path, PathBuf};

/// One component of a conglomerate, loaded.
#[derive(Clone, Debug)]
pub struct Component {
    /// `component NAME`.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// Its project's name.
    pub project: String,
    /// Its definition directory (absolute, canonical).
    pub dir: PathBuf,
    /// The directory as diagnostics name it, relative to the conglomerate's
    /// (`../shop`, `.facsimile/src/component-billing-1.4.0/config/facs`).
    pub shown: String,
    /// `repo @ version` (password hidden) for a component checked out from
    /// git; `None` for one given by `dir` alone.
    pub checkout: Option<String>,
    /// Its files: this range of the loaded files.
    pub files: std::ops::Range<usize>,
    /// The directories it includes.
    pub includes: Vec<Include>,
    /// `targets: [...]`: where its tree is deployed (`None`: every target).
    pub targets: Option<Vec<(String, Span)>>,
}

const SETTINGS: [&str; 4] = ["dir", "repo", "version", "targets"];

/// The settings of one `component` item, as literals.
#[derive(Default)]
struct Settings {
    dir: Option<(String, Span)>,
    repo: Option<(String, Span)>,
    version: Option<(String, Span)>,
    targets: Option<Vec<(String, Span)>>,
}

fn settings(item: &ast::NamedBlock, sink: &mut Sink) -> Option<Settings> {
    let mut out = Settings::default();
    let mut ok = true;
    for entry in &item.body.items {
        let Item::Field(field) = entry else {
            sink.push(
                Diagnostic::error(
                    Code::E008,
                    item.name.span,
                    "a component holds only `dir`, `repo`, `version` and `targets`",
                )
                .with_primary_label("in this component")
                .with_help("Write the component's settings as fields: `component shop { dir: \"../shop\" }`."),
            );
            ok = false;
            continue;
        };
        let key = field.path.iter().map(|n| n.text.as_str()).collect::<Vec<_>>().join(".");
        let at = field.path.first().map_or(field.span, |n| n.span);
        if !SETTINGS.contains(&key.as_str()) {
            let d = Diagnostic::error(Code::E008, at, format!("unknown component setting `{key}`"))
                .with_primary_label("not a component setting");
            sink.push(match closest(&key, SETTINGS.iter().copied()) {
                Some(s) => {
                    d.with_help(format!("Did you mean `{s}`? A component has `dir`, `repo`, `version` and `targets`."))
                }
                None => d.with_help("A component has `dir`, `repo`, `version` and `targets`."),
            });
            ok = false;
            continue;
        }
        let literal_help = "Component settings are read before anything is evaluated: write a string literal \
                            (`dir: \"../shop\"`), and for `targets` a list of them.";
        if key == "targets" {
            let ast::ExprKind::List(items) = &field.value.kind else {
                sink.push(
                    Diagnostic::error(Code::E007, field.value.span, "`targets` must be a list of target names")
                        .with_primary_label("not a literal list")
                        .with_help(literal_help),
                );
                ok = false;
                continue;
            };
            let mut names = Vec::new();
            for value in items {
                match value.as_plain_str() {
                    Some(name) => names.push((name, value.span)),
                    None => {
                        sink.push(
                            Diagnostic::error(Code::E007, value.span, "not a target name")
                                .with_primary_label("expected a string literal such as \"web\"")
                                .with_help(literal_help),
                        );
                        ok = false;
                    }
                }
            }
            out.targets = Some(names);
            continue;
        }
        let Some(text) = field.value.as_plain_str() else {
            sink.push(
                Diagnostic::error(Code::E007, field.value.span, format!("`{key}` must be a string literal"))
                    .with_primary_label("not a literal string")
                    .with_help(literal_help),
            );
            ok = false;
            continue;
        };
        let slot = match key.as_str() {
            "dir" => &mut out.dir,
            "repo" => &mut out.repo,
            _ => &mut out.version,
        };
        *slot = Some((text, field.value.span));
    }
    ok.then_some(out)
}

/// The `component` items of the first `project` among `files`.
fn items(files: &[ast::File]) -> Vec<&ast::NamedBlock> {
    files
        .iter()
        .flat_map(|f| &f.decls)
        .find_map(|d| match d {
            ast::Decl::Project(p) => Some(p),
            _ => None,
        })
        .map(|p| {
            p.body
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Component(c) => Some(c),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn unreadable(item: &ast::NamedBlock, what: String, help: &str) -> Diagnostic {
    Diagnostic::error(Code::E022, item.name.span, what)
        .with_primary_label(format!("component `{}`", item.name.text))
        .with_help(help.to_string())
}

/// Where a component's definitions are: a directory relative to the
/// conglomerate's, or one inside a checkout of `repo` at `version`. Returns
/// the path to open (relative to the conglomerate's directory) or reports why not.
fn location(item: &ast::NamedBlock, settings: &Settings, here: Option<&Path>, sink: &mut Sink) -> Option<String> {
    let dir = settings.dir.as_ref().map(|(d, _)| d.trim_end_matches('/').to_string());
    let Some((repo, repo_span)) = &settings.repo else {
        if settings.version.is_some() {
            sink.push(
                Diagnostic::error(
                    Code::E009,
                    item.name.span,
                    format!("component `{}` has a `version` but no `repo`", item.name.text),
                )
                .with_primary_label("`version` is the tag of `repo` to check out")
                .with_help("Add `repo: \"...\"` (a git URL or a local repository), or drop `version` and give `dir`."),
            );
            return None;
        }
        let Some(dir) = dir.filter(|d| !d.is_empty()) else {
            sink.push(
                Diagnostic::error(Code::E009, item.name.span, format!("component `{}` says neither `dir` nor `repo`", item.name.text))
                    .with_primary_label("where are its definitions?")
                    .with_help("Give its definition directory (`dir: \"../shop\"`, relative to this one), or `repo` and `version` to check it out."),
            );
            return None;
        };
        return Some(dir);
    };
    let Some((version, version_span)) = &settings.version else {
        sink.push(
            Diagnostic::error(
                Code::E009,
                item.name.span,
                format!("component `{}` has a `repo` but no `version`", item.name.text),
            )
            .with_primary_label("which tag?")
            .with_help("Add `version: \"1.4.0\"`: the tag of `repo` to check out, as `facs build --checkout` does."),
        );
        return None;
    };
    if let Some(why) = crate::checkout::tag_name_problem(version) {
        sink.push(
            Diagnostic::error(Code::E023, *version_span, format!("`{version}` is not a valid tag name: {why}"))
                .with_primary_label("checked out as a tag")
                .with_help("Name the tag of `repo` to check out, such as \"1.4.0\"."),
        );
        return None;
    }
    let Some(here) = here else {
        sink.push(unreadable(
            item,
            format!("component `{}` needs a checkout, and there is no directory on disk", item.name.text),
            "Build from a definition directory on disk.",
        ));
        return None;
    };
    let Some(source) = crate::checkout::git_source(repo, here) else {
        sink.push(
            Diagnostic::error(Code::E022, *repo_span, format!("`{}` is neither a git URL nor a local git repository", crate::checkout::hide_password(repo)))
                .with_primary_label("`repo` of this component")
                .with_help("Give a git URL (`git@host:team/shop.git`, `https://...`) or the path of a local repository, relative to the definition directory."),
        );
        return None;
    };
    let checkout = crate::checkout::checkout_dir(here, &format!("component-{}", item.name.text), version);
    if !checkout.join(".git").exists() {
        if let Err(why) = crate::checkout::checkout(&source, &checkout, version, false) {
            sink.push(unreadable(
                item,
                format!("component `{}` cannot be checked out at `{version}`: {why}", item.name.text),
                "Check `repo` and that the tag `version` exists there; the checkout goes to `.facsimile/src/`.",
            ));
            return None;
        }
    }
    let relative = checkout.strip_prefix(here).unwrap_or(&checkout).to_string_lossy().into_owned();
    Some(match dir.filter(|d| !d.is_empty() && d != ".") {
        Some(dir) => format!("{relative}/{dir}"),
        None => relative,
    })
}

/// Loads every component `files` (the conglomerate's) lists; their files
/// are appended to `files`.
pub(super) fn load(
    fs: &dyn Fs,
    files: &mut Vec<ast::File>,
    sources: &mut SourceMap,
    invalid_utf8: &mut Vec<(FileId, usize)>,
    sink: &mut Sink,
) -> Result<Vec<Component>, String> {
    let listed: Vec<ast::NamedBlock> = items(files).into_iter().cloned().collect();
    let conglomerate = files
        .iter()
        .flat_map(|f| &f.decls)
        .find_map(|d| match d {
            ast::Decl::Project(p) => Some(p.name.text.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let here = fs.location();
    let mut out: Vec<Component> = Vec::new();
    let mut seen: Vec<(String, Span)> = Vec::new();
    for item in &listed {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == item.name.text) {
            sink.push(
                Diagnostic::error(
                    Code::E002,
                    item.name.span,
                    format!("component `{}` is declared twice", item.name.text),
                )
                .with_primary_label("declared again here")
                .with_label(*first, "first declared here")
                .with_help("Give each component its own name, or drop one of the two."),
            );
            continue;
        }
        seen.push((item.name.text.clone(), item.name.span));
        let Some(settings) = settings(item, sink) else { continue };
        let Some(path) = location(item, &settings, here.as_deref(), sink) else { continue };
        let (sub, root) = match fs.include(&path) {
            Ok(found) => found,
            Err(e) => {
                sink.push(unreadable(
                    item,
                    format!("component `{}`: directory `{path}` cannot be read: {e}", item.name.text),
                    "`dir` is relative to the conglomerate's definition directory (or, with `repo`, to the checkout); check the path.",
                ));
                continue;
            }
        };
        if here.as_ref() == Some(&root) {
            sink.push(cycle(item, std::slice::from_ref(&item.name.text), None));
            continue;
        }
        if let Some(first) = out.iter().find(|c| c.dir == root) {
            sink.push(
                Diagnostic::error(
                    Code::E002,
                    item.name.span,
                    format!("component `{}` is the directory of component `{}` again", item.name.text, first.name),
                )
                .with_primary_label(format!("`{path}` again"))
                .with_label(first.span, "first listed here")
                .with_help("List each component directory once."),
            );
            continue;
        }
        let prefix = format!("{path}/");
        let (component_files, includes) = load_dir(sub.as_ref(), &prefix, sources, invalid_utf8, sink)?;
        let project = component_files.iter().flat_map(|f| &f.decls).find_map(|d| match d {
            ast::Decl::Project(p) => Some(p.clone()),
            _ => None,
        });
        let Some(project) = project else {
            sink.push(
                Diagnostic::error(Code::E009, item.name.span, format!("component `{}` declares no `project` in `{path}`", item.name.text))
                    .with_primary_label("a component is a definition directory of its own")
                    .with_help("Add a file with `project NAME { version: \"1.0.0\" }` to the component's directory, or point `dir` at the right one."),
            );
            continue;
        };
        if let Some(first) = out.iter().find(|c| c.project == project.name.text) {
            sink.push(
                Diagnostic::error(
                    Code::E002,
                    item.name.span,
                    format!(
                        "components `{}` and `{}` are both project `{}`",
                        first.name, item.name.text, project.name.text
                    ),
                )
                .with_primary_label("the same project again")
                .with_label(first.span, "first component of that project")
                .with_help("Their trees would share `<out>/<instance>/<project>/`: list each project once."),
            );
            continue;
        }
        // A component that is itself a conglomerate: a cycle back to this
        // one (or to itself) is E004; other nesting is not built.
        let nested_items = items(&component_files);
        if let Some(&nested) = nested_items.first() {
            let cyclic = nested_items.iter().find_map(|&n| {
                let mut chain = vec![format!("`{conglomerate}`"), format!("`{}`", item.name.text)];
                let back = here.as_ref().is_some_and(|h| leads_back(&root, n, h, &root, &mut chain, 0));
                back.then_some((n, chain))
            });
            if let Some((n, chain)) = cyclic {
                sink.push(cycle(item, &chain, Some(n)));
            } else {
                sink.push(
                    Diagnostic::error(
                        Code::E023,
                        nested.name.span,
                        format!("component `{}` has components of its own", item.name.text),
                    )
                    .with_primary_label("a nested component")
                    .with_label(item.name.span, "used as a component here")
                    .with_help(
                        "facs builds one level of components: list the nested component in the conglomerate itself.",
                    ),
                );
            }
            continue;
        }
        let start = files.len();
        files.extend(component_files);
        out.push(Component {
            name: item.name.text.clone(),
            span: item.name.span,
            project: project.name.text.clone(),
            dir: root,
            shown: path,
            checkout: settings.repo.as_ref().map(|(repo, _)| {
                let version = settings.version.as_ref().map_or("", |(v, _)| v.as_str());
                format!("{} @ {version}", crate::checkout::hide_password(repo))
            }),
            files: start..files.len(),
            includes,
            targets: settings.targets,
        });
    }
    Ok(out)
}

/// E004: a component cycle, at the conglomerate's `component` item; `chain`
/// holds the steps as shown (`` `platform` ``, `` `shop` ``...).
fn cycle(item: &ast::NamedBlock, chain: &[String], nested: Option<&ast::NamedBlock>) -> Diagnostic {
    let shown = if chain.len() <= 1 {
        format!("component `{}` is the conglomerate itself", item.name.text)
    } else {
        format!("component cycle: {}", chain.join(" → "))
    };
    let mut d = Diagnostic::error(Code::E004, item.name.span, shown).with_primary_label("this component");
    if let Some(nested) = nested {
        d = d.with_label(nested.name.span, "which lists this component");
    }
    d.with_help("A component is a definition directory of its own: it may not be, or list, the conglomerate or itself.")
}

/// True when `item` (a component listed in `dir`) leads back, through
/// components listed in its directory and theirs, to `conglomerate` or to
/// `start`; `chain` collects the names on the way.
fn leads_back(
    dir: &Path,
    item: &ast::NamedBlock,
    conglomerate: &Path,
    start: &Path,
    chain: &mut Vec<String>,
    depth: usize,
) -> bool {
    if depth > 16 {
        return false;
    }
    chain.push(format!("`{}`", item.name.text));
    let Some(Some(target)) =
        settings(item, &mut Sink::new()).map(|s| s.dir.and_then(|(d, _)| std::fs::canonicalize(dir.join(d)).ok()))
    else {
        chain.pop();
        return false;
    };
    if target == conglomerate || target == start {
        let what = if target == conglomerate { "the conglomerate" } else { "the component itself" };
        if let Some(last) = chain.last_mut() {
            last.push_str(&format!(" ({what})"));
        }
        return true;
    }
    for next in listed_components(&target) {
        if leads_back(&target, &next, conglomerate, start, chain, depth + 1) {
            return true;
        }
    }
    chain.pop();
    false
}

/// The `component` items of a directory's project, parsed on the side (for
/// the cycle check only).
fn listed_components(dir: &Path) -> Vec<ast::NamedBlock> {
    let fs = crate::source::DiskFs::new(dir, &[]);
    let mut sources = SourceMap::new();
    let mut files = Vec::new();
    for name in fs.facs_files().unwrap_or_default() {
        let Ok(bytes) = fs.read(&name) else { continue };
        let id = sources.add(name, String::from_utf8_lossy(&bytes).into_owned());
        files.push(crate::syntax::parse_file(&sources, id).0);
    }
    items(&files).into_iter().cloned().collect()
}
