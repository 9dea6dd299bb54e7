//! Runs the commands of a plan: each node's commands in order, stopping at
//! that node's first failure; nodes side by side, a bounded number at a time,
//! so one slow or unreachable node delays no other. A rolling deploy
//! (`--batch N`, `--serial`) runs N nodes at a time and touches no node of a
//! later batch once one of a batch failed.

use crate::process::{redact, run_one, Cmd};

/// How many nodes are deployed at once by default.
const PARALLEL_NODES: usize = 8;

/// How the nodes are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Every node, [`PARALLEL_NODES`] at a time; a failed node stops no other.
    All,
    /// Batches of this many nodes (at least 1), one batch after the other;
    /// the first batch with a failed node is the last one run.
    Rolling(usize),
}

/// What happened on one node.
#[derive(Debug)]
pub struct NodeOutcome {
    /// The node's label (its name, or `local`).
    pub node: String,
    /// Everything the commands printed on stdout, secrets redacted.
    pub stdout: String,
    /// The stdout of each command that ran, in order, secrets redacted.
    pub outputs: Vec<String>,
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

/// What a run did.
#[derive(Debug)]
pub struct Outcomes {
    /// The nodes that ran, in plan order.
    pub ran: Vec<NodeOutcome>,
    /// The nodes left untouched because an earlier batch failed, in plan order.
    pub skipped: Vec<String>,
    /// How many batches ran, and how many there were.
    pub batches: (usize, usize),
}

/// Runs every node's commands (as `pace` says) and returns the outcomes in
/// plan order. `done` is called on this thread as each node finishes, in
/// the order they finish (for progress).
pub fn run(
    nodes: &[(String, Vec<Cmd>)],
    secrets: &[String],
    pace: Pace,
    done: &mut dyn FnMut(&NodeOutcome),
) -> Outcomes {
    let size = match pace {
        Pace::All => PARALLEL_NODES,
        Pace::Rolling(n) => n.max(1),
    };
    let total = nodes.len().div_ceil(size);
    let mut ran = Vec::with_capacity(nodes.len());
    let mut batches = 0;
    for chunk in nodes.chunks(size) {
        batches += 1;
        let outcomes = run_chunk(chunk, secrets, done);
        let failed = outcomes.iter().any(|o| o.failure.is_some());
        ran.extend(outcomes);
        if failed && matches!(pace, Pace::Rolling(_)) {
            break;
        }
    }
    let skipped = nodes.iter().skip(ran.len()).map(|(node, _)| node.clone()).collect();
    Outcomes { ran, skipped, batches: (batches, total) }
}

/// Runs the nodes of one chunk side by side.
fn run_chunk(chunk: &[(String, Vec<Cmd>)], secrets: &[String], done: &mut dyn FnMut(&NodeOutcome)) -> Vec<NodeOutcome> {
    let mut slots: Vec<Option<NodeOutcome>> = chunk.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut handles: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, (node, cmds))| {
                let tx = tx.clone();
                Some(scope.spawn(move || {
                    let outcome = run_node(node, cmds, secrets);
                    let _ = tx.send(i);
                    outcome
                }))
            })
            .collect();
        drop(tx);
        // Ends when every thread has finished (a panicked one sends nothing).
        while let Ok(i) = rx.recv() {
            let outcome = handles.get_mut(i).and_then(Option::take).and_then(|h| h.join().ok());
            if let (Some(outcome), Some(slot)) = (outcome, slots.get_mut(i)) {
                done(&outcome);
                *slot = Some(outcome);
            }
        }
        for ((handle, slot), (node, _)) in handles.iter_mut().zip(slots.iter_mut()).zip(chunk) {
            if let Some(handle) = handle.take() {
                let _ = handle.join();
            }
            if slot.is_none() {
                let outcome = internal_error(node);
                done(&outcome);
                *slot = Some(outcome);
            }
        }
    });
    slots.into_iter().zip(chunk).map(|(slot, (node, _))| slot.unwrap_or_else(|| internal_error(node))).collect()
}

fn internal_error(node: &str) -> NodeOutcome {
    NodeOutcome {
        node: node.to_string(),
        stdout: String::new(),
        outputs: Vec::new(),
        failure: Some(Failure {
            purpose: "deploy".into(),
            program: String::new(),
            status: "internal error".into(),
            stderr: String::new(),
        }),
    }
}

fn run_node(node: &str, cmds: &[Cmd], secrets: &[String]) -> NodeOutcome {
    let mut stdout = String::new();
    let mut outputs = Vec::new();
    for cmd in cmds {
        match run_one(cmd) {
            Ok((out, _)) => {
                let out = redact(&out, secrets);
                stdout.push_str(&out);
                outputs.push(out);
            }
            Err((out, status, err)) => {
                let out = redact(&out, secrets);
                stdout.push_str(&out);
                outputs.push(out);
                let failure = Failure {
                    purpose: cmd.purpose.clone(),
                    program: cmd.program().to_string(),
                    status,
                    stderr: redact(&err, secrets),
                };
                return NodeOutcome { node: node.to_string(), stdout, outputs, failure: Some(failure) };
            }
        }
    }
    NodeOutcome { node: node.to_string(), stdout, outputs, failure: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Word;

    fn node(name: &str, script: &str) -> (String, Vec<Cmd>) {
        let cmd = Cmd::new("postcmd 1", ["sh", "-c", script].map(Word::plain));
        (name.to_string(), vec![cmd])
    }

    #[test]
    fn a_rolling_run_stops_after_the_first_failed_batch() {
        let nodes = [node("a", "echo a"), node("b", "exit 3"), node("c", "echo c"), node("d", "echo d")];
        let mut seen = Vec::new();
        let out = run(&nodes, &[], Pace::Rolling(2), &mut |o| seen.push(o.node.clone()));
        let ran: Vec<&str> = out.ran.iter().map(|o| o.node.as_str()).collect();
        assert_eq!(ran, ["a", "b"]);
        assert_eq!(out.skipped, ["c", "d"]);
        assert_eq!(out.batches, (1, 2));
        seen.sort();
        assert_eq!(seen, ["a", "b"]);
        assert!(out.ran[1].failure.as_ref().is_some_and(|f| f.status.contains('3')), "{:?}", out.ran[1]);
    }

    #[test]
    fn the_default_pace_runs_every_node_whatever_fails() {
        let nodes = [node("a", "exit 1"), node("b", "echo b")];
        let out = run(&nodes, &[], Pace::All, &mut |_| {});
        assert_eq!(out.ran.len(), 2);
        assert!(out.skipped.is_empty());
        assert_eq!(out.ran[1].stdout, "b\n");
        assert_eq!(out.ran[1].outputs, ["b\n"]);
    }

    #[test]
    fn serial_runs_one_node_at_a_time() {
        // Each node fails if another one is running: a marker file is the lock.
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("lock");
        let script =
            format!("set -C; : > {0} || exit 9; sleep 0.5; rm {0}", crate::process::quote(&lock.to_string_lossy()));
        let nodes: Vec<_> = (0..3).map(|i| node(&format!("n{i}"), &script)).collect();
        let out = run(&nodes, &[], Pace::Rolling(1), &mut |_| {});
        assert!(out.ran.iter().all(|o| o.failure.is_none()), "{:?}", out.ran);
        assert_eq!(out.batches, (3, 3));
        // The same nodes side by side do collide: the test can fail.
        let out = run(&nodes, &[], Pace::All, &mut |_| {});
        assert!(out.ran.iter().any(|o| o.failure.is_some()), "{:?}", out.ran);
    }
}
