//! The long explanation of each code (`facs explain-code CODE`, spec §12).
//!
//! The text is the error index, `docs/errors.md`, compiled into the binary:
//! one source for the page users read on the web and the text the command
//! prints, so the two cannot drift. `tests/it/docs.rs` compiles every
//! example in it, and a unit test below checks that every code has a section.

use super::Code;

/// The error index as shipped.
const INDEX: &str = include_str!("../../docs/errors.md");

/// The section of the error index for `code`: from its `## CODE: title`
/// heading up to the next heading of the same level, trimmed.
pub fn long_text(code: Code) -> Option<&'static str> {
    let heading = format!("## {}:", code.as_str());
    let start = INDEX.match_indices(&heading).map(|(i, _)| i).find(|&i| i == 0 || INDEX[..i].ends_with('\n'))?;
    let rest = &INDEX[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    Some(rest[..end].trim_end())
}

/// A code as typed by a user (`E007`, `e007`, `7` is not accepted: the
/// letter says whether it is an error or a warning).
pub fn parse(text: &str) -> Option<Code> {
    let wanted = text.trim().to_ascii_uppercase();
    Code::ALL.iter().copied().find(|c| c.as_str() == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_section_that_starts_with_its_heading() {
        for &code in Code::ALL {
            let text = long_text(code).unwrap_or_else(|| panic!("docs/errors.md has no section for {code}"));
            assert!(text.starts_with(&format!("## {code}: ")), "{code}: {}", &text[..40.min(text.len())]);
            // The section ends before the next code's heading.
            assert_eq!(text.matches("\n## ").count(), 0, "{code}'s section runs into the next one");
            assert!(text.lines().count() > 3, "{code}'s section has no explanation");
        }
    }

    #[test]
    fn codes_parse_in_either_case_and_unknown_ones_do_not() {
        assert_eq!(parse("e007"), Some(Code::E007));
        assert_eq!(parse(" W001 "), Some(Code::W001));
        assert_eq!(parse("E999"), None);
        assert_eq!(parse("7"), None);
    }
}
