//! The language server, `facs lsp` (Language Server Protocol over stdio).
//!
//! Input: the workspace's definition directory and the editor's open
//! buffers. Output: diagnostics for the whole project (the same codes and
//! messages as `facs check`), hover (resolved values per instance, type, doc
//! comment; lineage on instance names), go-to-definition, completion and
//! document symbols. Invariants: the server never writes state or outputs;
//! every request is answered from the last analysis, which is redone after
//! each change; JSON-RPC framing is rust-analyzer's `lsp-server`.

mod analysis;
mod convert;
mod features;
mod server;

pub use server::run;
