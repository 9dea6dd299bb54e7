//! Runs the commands of a plan: each node's commands in order, stopping at
//! that node's first failure; nodes side by side, a bounded number at a time,
//! so one slow or unreachable node delays no other.

use crate::process::{redact, run_one, Cmd};

/// How many nodes are deployed at once.
const PARALLEL_NODES: usize = 8;

/// What happened on one node.
#[derive(Debug)]
pub struct NodeOutcome {
    /// The node's label (its name, or `local`).
    pub node: String,
    /// Everything the commands printed on stdout, secrets redacted.
    pub stdout: String,
    /// The first command that failed, if any.
    pub failure: Option<Failure>,
}

/// A command that failed.
#[derive(Debug)]
pub struct Failure {
    /// The command's purpose (`rsync`, `postcmd 1`).
    pub purpose: String,
    /// The program (`rsync`, `ssh`).
    pub program: String,
    /// The exit status, or why there is none (not started, killed).
    pub status: String,
    /// Its standard error, secrets redacted.
    pub stderr: String,
}

/// Runs every node's commands and returns the outcomes in plan order.
pub fn run(nodes: &[(String, Vec<Cmd>)], secrets: &[String]) -> Vec<NodeOutcome> {
    let mut outcomes = Vec::with_capacity(nodes.len());
    for chunk in nodes.chunks(PARALLEL_NODES) {
        std::thread::scope(|scope| {
            let handles: Vec<_> =
                chunk.iter().map(|(node, cmds)| scope.spawn(move || run_node(node, cmds, secrets))).collect();
            for (handle, (node, _)) in handles.into_iter().zip(chunk) {
                outcomes.push(handle.join().unwrap_or_else(|_| NodeOutcome {
                    node: node.clone(),
                    stdout: String::new(),
                    failure: Some(Failure {
                        purpose: "deploy".into(),
                        program: String::new(),
                        status: "internal error".into(),
                        stderr: String::new(),
                    }),
                }));
            }
        });
    }
    outcomes
}

fn run_node(node: &str, cmds: &[Cmd], secrets: &[String]) -> NodeOutcome {
    let mut stdout = String::new();
    for cmd in cmds {
        match run_one(cmd) {
            Ok((out, _)) => stdout.push_str(&redact(&out, secrets)),
            Err((out, status, err)) => {
                stdout.push_str(&redact(&out, secrets));
                let failure = Failure {
                    purpose: cmd.purpose.clone(),
                    program: cmd.program().to_string(),
                    status,
                    stderr: redact(&err, secrets),
                };
                return NodeOutcome { node: node.to_string(), stdout, failure: Some(failure) };
            }
        }
    }
    NodeOutcome { node: node.to_string(), stdout, failure: None }
}
