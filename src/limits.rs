//! Size limits on what facs reads and writes. A generated or hostile
//! definition directory must fail with a clear error naming the limit, not
//! exhaust memory or fill the disk. Each limit is set by an environment
//! variable (bytes take a `K`, `M` or `G` suffix, powers of 1024); the
//! defaults are far above any hand-written project.

use std::sync::OnceLock;

/// The limits of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest `.facs` file or template, in bytes (`FACS_MAX_FILE_SIZE`).
    pub file_bytes: u64,
    /// Most template files one build may read (`FACS_MAX_TEMPLATES`).
    pub templates: usize,
    /// Largest rendered tree of one instance, in bytes (`FACS_MAX_TREE_SIZE`).
    pub tree_bytes: u64,
}

/// The defaults: 16 MiB per file, 20,000 templates, 1 GiB per tree.
pub const DEFAULT: Limits = Limits { file_bytes: 16 << 20, templates: 20_000, tree_bytes: 1 << 30 };

/// The environment variable of each limit, for messages.
pub const FILE_VAR: &str = "FACS_MAX_FILE_SIZE";
/// See [`Limits::templates`].
pub const TEMPLATES_VAR: &str = "FACS_MAX_TEMPLATES";
/// See [`Limits::tree_bytes`].
pub const TREE_VAR: &str = "FACS_MAX_TREE_SIZE";

/// Every limit's variable with a line for people, in the order of [`Limits`]:
/// the man page's ENVIRONMENT section is generated from it, so a new limit
/// cannot be left out of the documentation.
pub const VARS: [(&str, &str); 3] = [
    (FILE_VAR, "Largest .facs file, template or rendered file (default 16M)."),
    (TEMPLATES_VAR, "Most template files one build may read (default 20000)."),
    (TREE_VAR, "Largest rendered tree of one instance (default 1G)."),
];

static CURRENT: OnceLock<Limits> = OnceLock::new();

/// Reads the limits from the environment once; an unreadable value is an
/// error (silently falling back to a default would hide a typo).
pub fn init_from_env() -> Result<Limits, String> {
    let read = |var: &str, default: u64| -> Result<u64, String> {
        match std::env::var(var) {
            Ok(text) => parse_size(&text).ok_or_else(|| {
                format!("{var}={text} is not a size: write a number of bytes, optionally with K, M or G (like 64M)")
            }),
            Err(_) => Ok(default),
        }
    };
    let limits = Limits {
        file_bytes: read(FILE_VAR, DEFAULT.file_bytes)?,
        templates: usize::try_from(read(TEMPLATES_VAR, DEFAULT.templates as u64)?).unwrap_or(usize::MAX),
        tree_bytes: read(TREE_VAR, DEFAULT.tree_bytes)?,
    };
    Ok(*CURRENT.get_or_init(|| limits))
}

/// The limits in force (the defaults until `init_from_env` ran).
pub fn current() -> Limits {
    CURRENT.get().copied().unwrap_or(DEFAULT)
}

/// `123`, `64K`, `16M`, `2G` (powers of 1024).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 10),
        (i, 'm' | 'M') => (&text[..i], 20),
        (i, 'g' | 'G') => (&text[..i], 30),
        _ => (text, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A size for people: `1.5 GiB`, `20.0 MiB`, `512 bytes`.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return format!("{:.1} {unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes} bytes")
}

/// The diagnostic for a file over the size limit (the error `source` reads
/// return for it is `ErrorKind::FileTooLarge`; `source` itself builds no
/// diagnostics, so the arrow goes one way).
pub fn too_large(name: &str, size: &str) -> crate::diagnostic::Diagnostic {
    let limit = current().file_bytes;
    crate::diagnostic::Diagnostic::global(
        crate::diagnostic::Code::E024,
        format!("`{name}` is {size}, over the {} limit for one file", human(limit)),
    )
    .with_help(format!(
        "A hand-written file is far smaller: check that `{name}` is the right file, or raise the limit with {FILE_VAR}=<size>."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size(" 16m "), Some(16 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
        assert_eq!(human(20 << 20), "20.0 MiB");
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        let defaults = [DEFAULT.file_bytes, DEFAULT.templates as u64, DEFAULT.tree_bytes];
        for ((var, text), default) in VARS.iter().zip(defaults) {
            let stated = text.split("(default ").nth(1).and_then(|rest| rest.strip_suffix(").")).and_then(parse_size);
            assert_eq!(stated, Some(default), "{var}: {text}");
        }
    }
}
