//! facsimile: the `.facs` compiler.
#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

pub mod build;
pub mod cli;
pub mod diagnostic;
pub mod eval;
pub mod fmt;
pub mod import;
pub mod lsp;
pub mod render;
pub mod resolve;
pub mod source;
pub mod state;
pub mod syntax;
pub mod types;
