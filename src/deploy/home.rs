//! Where a deploy goes: a `home` or `deploy.destdir` normalised lexically,
//! and the destinations facs refuses (spec §12, E023).
//!
//! Input: the field's text and whether the destination is on a node.
//! Output: the normalised destination, or why it is refused.
//!
//! Invariant: no file system access. A remote path names a directory on a
//! machine facs cannot see, and a local one is normalised the same way before
//! `deploy::local_plan` resolves symlinks; so `check` and `build` can refuse
//! a destination without touching anything.

/// A destination after normalisation: no empty, `.` or `..` components left
/// (except the leading `..`s of a path relative to the definition directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// An absolute path, such as `/srv/shop`.
    Absolute(String),
    /// A path below the home directory, never empty: the login's home on a
    /// node (a relative `home`, or one starting with `~/`), the user's home
    /// locally (`~/`).
    InHome(String),
    /// Locally, a path relative to the definition directory, never empty;
    /// it may start with `..` (`../deployed`).
    InProject(String),
}

/// Why a destination is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It normalises to `/`.
    Root,
    /// It is the home directory itself.
    Home,
    /// It leaves the home directory through `..`.
    LeavesHome,
    /// It is one of [`SYSTEM_DIRS`] itself.
    System(String),
    /// A component that looks like a variable or `~user`: nothing on the way
    /// expands it (rsync's `--secluded-args` keeps the remote shell out of it,
    /// and the postcmd's `cd` quotes it), so it would be a literal name.
    NotExpanded(String),
    /// Locally, the definition directory or one of its ancestors.
    HoldsProject,
}

/// Directories of the operating system itself. A tree rsynced into one of
/// them mixes with the system's own files, and a postcmd runs among them;
/// a directory below them (`/etc/shop`) is fine. `/srv`, `/opt` and `/tmp`
/// are not listed: they hold other programs' directories, not the system.
pub const SYSTEM_DIRS: [&str; 33] = [
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/spool",
    "/var/tmp",
];

/// Normalises `text`, a `home` (remote when `remote`) or a local `home` or
/// `deploy.destdir`.
pub fn normalise(text: &str, remote: bool) -> Result<Dest, Refusal> {
    let mut parts = text.split('/').peekable();
    let absolute = text.starts_with('/');
    if absolute {
        parts.next();
    }
    let in_home = match parts.peek() {
        Some(&"~") => {
            parts.next();
            true
        }
        _ => !absolute && remote,
    };
    let mut stack: Vec<&str> = Vec::new();
    for part in parts {
        match part {
            "" | "." => {}
            ".." => match stack.last() {
                Some(&top) if top != ".." => {
                    stack.pop();
                }
                // `/..` is `/`.
                _ if absolute => {}
                _ if in_home => return Err(Refusal::LeavesHome),
                _ => stack.push(".."),
            },
            _ if part.starts_with('$') || part.starts_with('~') => return Err(Refusal::NotExpanded(part.into())),
            _ => stack.push(part),
        }
    }
    let joined = stack.join("/");
    if absolute {
        let path = format!("/{joined}");
        return match system_dir(&path) {
            Some(refusal) => Err(refusal),
            None => Ok(Dest::Absolute(path)),
        };
    }
    if in_home {
        return if joined.is_empty() { Err(Refusal::Home) } else { Ok(Dest::InHome(joined)) };
    }
    if stack.iter().all(|p| *p == "..") {
        return Err(Refusal::HoldsProject);
    }
    Ok(Dest::InProject(joined))
}

/// `Root` or `System` when the normalised absolute `path` is one of those.
pub fn system_dir(path: &str) -> Option<Refusal> {
    if path == "/" {
        Some(Refusal::Root)
    } else if SYSTEM_DIRS.contains(&path) {
        Some(Refusal::System(path.to_string()))
    } else {
        None
    }
}

impl Refusal {
    /// Why, as the end of "refusing to deploy into `x`: ...".
    pub fn why(&self, remote: bool) -> String {
        let whose = if remote { "the login's" } else { "your" };
        match self {
            Refusal::Root => "it is the root directory `/`".into(),
            Refusal::Home => format!("it is {whose} home directory itself"),
            Refusal::LeavesHome => format!("it leaves {whose} home directory through `..`"),
            Refusal::System(dir) => format!("`{dir}` is a system directory"),
            Refusal::NotExpanded(part) => {
                format!("`{}` would not be expanded: facs passes the path as written", part.escape_debug())
            }
            Refusal::HoldsProject => "it is or holds the definition directory".into(),
        }
    }

    /// What the label under the field says.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Root => "this normalises to `/`",
            Refusal::Home => "this is the home directory itself",
            Refusal::LeavesHome => "this goes above the home directory",
            Refusal::System(_) => "this is a system directory",
            Refusal::NotExpanded(_) => "this is not expanded",
            Refusal::HoldsProject => "this holds the definition directory",
        }
    }

    /// A sentence on why the destination is dangerous and what to write.
    pub fn help(&self, remote: bool) -> String {
        let instead = if remote {
            "Deploy into a directory of its own: an absolute path such as `/srv/<name>`, or a path relative \
             to the login's home directory such as `<name>` (`~/<name>` means the same)."
        } else {
            "Deploy into a directory of its own, such as `/srv/<name>`, `~/<name>` or a path relative to the \
             definition directory."
        };
        let why = match self {
            Refusal::NotExpanded(_) => {
                "Neither rsync (run with `--secluded-args`) nor the postcmd's `cd` expands variables or `~user` \
                 in `home`, so this would create a directory with that literal name."
            }
            Refusal::HoldsProject => {
                "`rsync --delete` would prune the definition directory's files and the postcmd would run \
                 among them."
            }
            _ => {
                "`facs deploy` rsyncs the tree into this directory, makes its `<project>/` subdirectory an \
                 exact copy (`rsync --delete` removes what the tree does not have) and runs each postcmd \
                 there: in `/`, a system directory or a whole home directory that mixes the tree with \
                 everything else and can delete files that are not facs's."
            }
        };
        format!("{why} {instead}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_spellings_normalise_or_are_refused() {
        let ok = |text: &str, dest: Dest| assert_eq!(normalise(text, true), Ok(dest), "{text:?}");
        ok("/srv/shop", Dest::Absolute("/srv/shop".into()));
        ok("/srv//shop/", Dest::Absolute("/srv/shop".into()));
        ok("/srv/./x/../shop", Dest::Absolute("/srv/shop".into()));
        ok("/etc/shop", Dest::Absolute("/etc/shop".into()));
        ok("/srv", Dest::Absolute("/srv".into()));
        ok("deploy/shop", Dest::InHome("deploy/shop".into()));
        ok("./deploy/shop", Dest::InHome("deploy/shop".into()));
        ok("~/deploy/shop/", Dest::InHome("deploy/shop".into()));
        ok("x/../shop", Dest::InHome("shop".into()));
        ok("shop~1/a$b", Dest::InHome("shop~1/a$b".into()));
        let refused = |text: &str, why: Refusal| assert_eq!(normalise(text, true), Err(why), "{text:?}");
        for root in ["/", "/.", "//", "///", "/srv/..", "/srv/../", "/..", "/../..", "/./srv/./../."] {
            refused(root, Refusal::Root);
        }
        for home in [".", "./", "x/..", "x/y/../..", "~", "~/", "~/.", "~/x/.."] {
            refused(home, Refusal::Home);
        }
        for outside in ["..", "../x", "x/../../y", "~/..", "~/../other", "./../x"] {
            refused(outside, Refusal::LeavesHome);
        }
        for system in ["/etc", "/etc/", "/usr/./", "/var/log/x/..", "/home", "/root", "//usr//local"] {
            assert!(matches!(normalise(system, true), Err(Refusal::System(_))), "{system:?}");
        }
        refused("$HOME", Refusal::NotExpanded("$HOME".into()));
        refused("$HOME/shop", Refusal::NotExpanded("$HOME".into()));
        refused("${HOME}/shop", Refusal::NotExpanded("${HOME}".into()));
        refused("~bob/shop", Refusal::NotExpanded("~bob".into()));
        refused("/srv/$APP", Refusal::NotExpanded("$APP".into()));
    }

    #[test]
    fn local_spellings_normalise_or_are_refused() {
        let ok = |text: &str, dest: Dest| assert_eq!(normalise(text, false), Ok(dest), "{text:?}");
        ok("deploy/shop", Dest::InProject("deploy/shop".into()));
        ok("./deploy/shop", Dest::InProject("deploy/shop".into()));
        ok("../deployed", Dest::InProject("../deployed".into()));
        ok("../../a/../b", Dest::InProject("../../b".into()));
        ok("~/shop", Dest::InHome("shop".into()));
        ok("/tmp/shop-local", Dest::Absolute("/tmp/shop-local".into()));
        let refused = |text: &str, why: Refusal| assert_eq!(normalise(text, false), Err(why), "{text:?}");
        for project in [".", "./", "..", "../..", "x/..", "x/../.."] {
            refused(project, Refusal::HoldsProject);
        }
        refused("~", Refusal::Home);
        refused("~/", Refusal::Home);
        refused("~/..", Refusal::LeavesHome);
        refused("/srv/../", Refusal::Root);
        refused("$HOME", Refusal::NotExpanded("$HOME".into()));
        assert!(matches!(normalise("/usr", false), Err(Refusal::System(_))));
    }
}
