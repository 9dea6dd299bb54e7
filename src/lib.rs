//! facsimile: the `.facs` compiler.
#![warn(missing_docs)]
// Every system call goes through std or rustix's safe wrappers.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::indexing_slicing)]
// Tests index freely: a panic there is a failing test, not a crash.
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used))]

pub mod build;
pub mod checkout;
pub mod cli;
pub mod deploy;
pub mod diagnostic;
pub mod eval;
pub mod fmt;
pub mod import;
pub mod layout;
pub mod limits;
pub mod lsp;
pub mod map;
pub mod process;
pub mod render;
pub mod resolve;
pub mod source;
pub mod state;
pub mod syntax;
pub mod types;
