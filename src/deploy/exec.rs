//! Runs the commands of a plan: each node's commands in order, stopping at
//! that node's first failure; nodes side by side, a bounded number at a time,
//! so one slow or unreachable node delays no other.

use super::command::{redact, Cmd};
use std::io::Write;
use std::process::{Command, Stdio};

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

type Ran = (String, String);
type Failed = (String, String, String);

/// Runs one command to completion, capturing its output.
pub fn run_one(cmd: &Cmd) -> Result<Ran, Failed> {
    let mut argv = cmd.argv.iter().map(|w| w.text.as_str());
    let program = argv.next().unwrap_or("");
    let mut command = Command::new(program);
    command.args(argv).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if cmd.stdin.is_empty() { Stdio::null() } else { Stdio::piped() });
    // Never wait for a password: a prompt nobody answers would hang the run.
    command.env("GIT_TERMINAL_PROMPT", "0");
    command.envs(cmd.env.iter().map(|(k, v)| (k, v)));
    let mut child = command.spawn().map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            format!("`{program}` is not installed (or not on PATH)")
        } else {
            format!("cannot start `{program}`: {e}")
        };
        (String::new(), "not started".to_string(), why)
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        let script: String = cmd.stdin.iter().map(|l| format!("{}\n", l.text)).collect();
        // A command that exits without reading its input is not an error here:
        // its exit status says what happened.
        let _ = stdin.write_all(script.as_bytes());
    }
    let output = child.wait_with_output().map_err(|e| (String::new(), "lost".to_string(), e.to_string()))?;
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        Ok((out, err))
    } else {
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                format!("killed by signal {}", output.status.signal().unwrap_or(0))
            }
        };
        Err((out, status, err))
    }
}
