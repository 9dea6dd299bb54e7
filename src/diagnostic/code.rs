//! The registry of diagnostic codes (spec §11). Never renumber a code: users
//! search for them and scripts match on them.

use std::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $summary:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as printed (`E007`).
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// One line saying what the code means (the spec's table).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    /// What it does: reports a bug in facs itself (the parser and the
    /// grammar disagree, the formatter's output would change a file's
    /// meaning), never a mistake in the input.
    /// Why: an internal failure must not borrow a user's code: E001 would
    /// send the user looking for a syntax error that is not there.
    /// Example: none; any input that triggers it is a bug to report.
    E000 = "E000", "internal error in facs (a bug to report)";
    /// What it does: reports text that is not valid `.facs`.
    /// Why: nothing else can be checked in a file that does not parse.
    /// Example: `home: = "/srv"` (a value is missing after `:`).
    E001 = "E001", "syntax error";
    /// What it does: flags a second declaration of one name, or a second `project`.
    /// Why: names are how declarations refer to each other.
    /// Example: two `instance dev { }` blocks.
    E002 = "E002", "duplicate declaration";
    /// What it does: flags an `inherits` or `on` name that no instance declares.
    /// Example: `instance beta inherits nope { }`.
    E003 = "E003", "unknown instance in `inherits` or `on`";
    /// What it does: flags instances that inherit from themselves through a chain.
    /// Example: `instance a inherits b {}` and `instance b inherits a {}`.
    E004 = "E004", "inheritance cycle";
    /// What it does: flags multiple inheritance with no consistent C3 order.
    /// Example: `x inherits a, b` while `y inherits b, a` and `z inherits x, y`.
    E005 = "E005", "no consistent (C3) inheritance order";
    /// What it does: flags one body setting the same leaf twice.
    /// Example: `instance beta { home: "/a", home: "/b" }`.
    E006 = "E006", "the same field set twice in one body";
    /// What it does: flags a value whose type differs from the declared or inferred one.
    /// Example: `port: "8080"` where the schema says `port: int`.
    E007 = "E007", "type mismatch";
    /// What it does: flags a field a closed schema does not declare.
    /// Example: `regoin: "eu"` when the schema has `region`.
    E008 = "E008", "unknown field in a closed schema";
    /// What it does: flags a required field that no body sets, or a missing `project`.
    /// Example: `schema Instance { db: Db }` and an instance without `db`.
    E009 = "E009", "required field missing";
    /// What it does: flags a reference or interpolation that names nothing.
    /// Example: `url: "pg://${db.host}"` with no `db.host` anywhere.
    E010 = "E010", "unresolved reference or interpolation";
    /// What it does: flags references that depend on themselves.
    /// Example: `a: b, b: a`.
    E011 = "E011", "reference cycle";
    /// What it does: flags `+=` onto something that is not a list.
    /// Example: `home += ["x"]` where `home` is a string.
    E012 = "E012", "`+=` on something that is not a list";
    /// What it does: flags a field named like a reserved root or derived key.
    /// Example: `env: "staging"` in an instance.
    E013 = "E013", "reserved name used as a field";
    /// What it does: flags an instance that inherits from an overlay.
    /// Why: overlays share their base's state; inheriting one would make ownership ambiguous.
    E014 = "E014", "instance inherits from an overlay";
    /// What it does: reports a template that does not parse or render.
    /// Example: `{{instance.port}}` when the instance has no `port`.
    E015 = "E015", "template error";
    /// What it does: flags `module NAME { }` in an instance for a module the project lacks.
    E016 = "E016", "module overlay for an unknown module";
    /// What it does: flags a type name no schema declares.
    /// Example: `db: Databse`.
    E017 = "E017", "unknown type name";
    /// What it does: refuses a path that would leave the allowed directories.
    /// Why: a definition must never write or read outside the release, deploy,
    /// definition and source directories.
    E018 = "E018", "path would leave the allowed directories";
    /// What it does: flags an invalid regular expression in `skip` or `pattern`.
    E019 = "E019", "invalid regular expression";
    /// What it does: flags `${x}` where `x` is a list, a map or null.
    E020 = "E020", "interpolating a list, map or null";
    /// What it does: flags a service instance whose uiid would pass 255.
    E021 = "E021", "uiid space exhausted";
    /// What it does: flags a `copy` group's listed file that does not exist.
    E022 = "E022", "a listed file to copy, or a template `dir`, does not exist";
    /// What it does: refuses a deploy setting or request that cannot be carried
    /// out safely: a node or user name that is not a plain host or login name
    /// (one starting with `-` would be read as an ssh option), an unknown
    /// `--target`, an instance with nothing to deploy, a local destination
    /// that would overwrite facs's own directories.
    /// Example: `nodes: ["-oProxyCommand=sh"]`.
    E023 = "E023", "invalid deploy setting or request";
    /// What it does: stops a run whose input or output passes a size limit: a
    /// source file or template over `FACS_MAX_FILE_SIZE`, more templates than
    /// `FACS_MAX_TEMPLATES`, a tree over `FACS_MAX_TREE_SIZE`.
    /// Why: a generated or hostile directory must fail clearly, not exhaust
    /// memory or fill the disk.
    E024 = "E024", "input or output over a size limit";
    /// What it does: flags a value that breaks a constraint of its field: a
    /// schema's range, pattern, length or `unique` (spec §7), and the builtin
    /// one of `project.state_recipients` (age X25519 public keys, `age1...`).
    /// Why: two developers given one port, or a replica count of 0, should
    /// fail `check`, not the deploy; a mistyped recipient would encrypt the
    /// state to nobody.
    E025 = "E025", "a value violates a schema constraint";
    /// What it does: stops an arithmetic operation that has no correct
    /// result: an int overflow (`+ - * -x`, `sum`, `int(1e300)`), a
    /// division or remainder by zero, a float that is not finite.
    /// Why: a wrapped-around port or an infinity in JSON is worse than no
    /// build; ints are checked 64-bit like Rust's, never silently wrapped.
    /// Example: `ports: 8000 + 9223372036854775807`.
    E026 = "E026", "arithmetic error (integer overflow, division by zero)";
    /// What it does: flags a call to a function that does not exist, with the
    /// wrong number of arguments, or with arguments of the wrong kind
    /// (`join(["a"], 1)`, `min([])`, `int("x")`); the help names the closest
    /// function or prints the signature.
    /// Why: there are no user functions; the built-in ones are few, and a
    /// misspelled `lenght(x)` should say `len`.
    E027 = "E027", "unknown function, or wrong number or types of arguments";
    /// What it does: refuses a generator (`for who in LIST { ... }`) whose
    /// list is not known before evaluation: anything but a literal list, or
    /// a `project` field holding one, or a list with a computed element.
    /// Why: generators decide which instances exist, so they run before
    /// any instance is evaluated (and state owners are named after them).
    /// Example: `for who in instance.devs { ... }`.
    E028 = "E028", "a generator's list depends on a value known only after evaluation";
    /// What it does: warns about a key set once whose name is close to a sibling's.
    /// Why: `regoin` next to `region` is almost always a typo.
    W001 = "W001", "field introduced once whose name is close to a sibling's";
    /// What it does: warns about a `tmpl/<name>` or `extra/<name>` folder whose
    /// name is neither `_ALL_` nor an instance or overlay.
    /// Why: its files would never be used; `tmpl/stagign` is a typo that
    /// otherwise ships a tree without them.
    W002 = "W002", "a `tmpl/<name>` or `extra/<name>` folder that matches no instance";
    /// What it does: reports a state file or directory that others could read,
    /// and that the build made private (0600 files, 0700 directory).
    /// Why: the original facsimile wrote state 0644; a copied state directory
    /// hands every user of the machine every password.
    W003 = "W003", "state that others could read was tightened to 0600";
    /// What it does: warns when a build wrote state into a git work tree
    /// where no ignore rule covers it.
    /// Why: state holds every password; `git add .` would publish them.
    W004 = "W004", "the state directory is in a git work tree and not ignored";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
