//! The tree-sitter grammar of `.facs` (language v2), for the tree-sitter
//! runtime crate:
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser.set_language(&tree_sitter_facs::LANGUAGE.into()).expect("load the facs grammar");
//! let tree = parser.parse("instance dev { port: 8080 }", None).expect("a tree");
//! assert!(!tree.root_node().has_error());
//! ```

use tree_sitter_language::LanguageFn;

extern "C" {
    fn tree_sitter_facs() -> *const ();
}

/// The tree-sitter [`LanguageFn`] of this grammar.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_facs) };

/// The content of the [`node-types.json`] file of this grammar.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// The syntax highlighting query.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// The local-variable query.
pub const LOCALS_QUERY: &str = include_str!("../../queries/locals.scm");

/// The injection query (interpolations and the text of multi-line strings).
pub const INJECTIONS_QUERY: &str = include_str!("../../queries/injections.scm");

#[cfg(test)]
mod tests {
    #[test]
    fn can_load_grammar() {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&super::LANGUAGE.into()).expect("Error loading facs parser");
    }
}
