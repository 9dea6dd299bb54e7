//! Child processes, a leaf module: one external command of a deploy or a
//! checkout, how it runs ([`run_one`]), and how it is shown to people with
//! secrets redacted. Stages call it; it calls no stage.

use crate::eval::value::REDACTED;
use std::io::Write;
use std::process::{Command, Stdio};

/// One argument; a secret one is shown as `********`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The argument as passed to the program.
    pub text: String,
    /// True when the argument holds a secret (or a value derived from one).
    pub secret: bool,
}

impl Word {
    /// A plain (non-secret) argument.
    pub fn plain(text: impl Into<String>) -> Word {
        Word { text: text.into(), secret: false }
    }
}

/// A program with its arguments and an optional script fed on standard input
/// (how `postcmd` reaches a shell: a command given on stdin never shows in
/// any process's argv).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    /// What the command is for, in messages: `rsync`, `postcmd 2`.
    pub purpose: String,
    /// The program and its arguments.
    pub argv: Vec<Word>,
    /// Lines written to the command's standard input.
    pub stdin: Vec<Word>,
    /// Variables set for this command only (git's credentials: a child's
    /// environment, unlike its argv, is private to its user). Never shown.
    pub env: Vec<(String, String)>,
}

impl Cmd {
    /// A command from plain words.
    pub fn new(purpose: impl Into<String>, argv: impl IntoIterator<Item = Word>) -> Cmd {
        Cmd { purpose: purpose.into(), argv: argv.into_iter().collect(), stdin: Vec::new(), env: Vec::new() }
    }

    /// The program's name.
    pub fn program(&self) -> &str {
        self.argv.first().map_or("", |w| w.text.as_str())
    }

    /// The command as a shell line a person could paste: words quoted, the
    /// stdin lines as a here-document, secrets replaced by `********`
    /// unless `reveal`.
    pub fn display(&self, reveal: bool) -> String {
        let words: Vec<String> = self.argv.iter().map(|w| show(w, reveal)).collect();
        let mut line = words.join(" ");
        if !self.stdin.is_empty() {
            let lines: Vec<String> = self
                .stdin
                .iter()
                .map(|l| if l.secret && !reveal { REDACTED.to_string() } else { l.text.clone() })
                .collect();
            line = format!("{line} <<'EOF'\n{}\nEOF", lines.join("\n"));
        }
        line
    }
}

fn show(word: &Word, reveal: bool) -> String {
    if word.secret && !reveal {
        REDACTED.to_string()
    } else {
        quote(&word.text)
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
        && !text.starts_with('=');
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Joins words into one shell line (for rsync's `-e`, which splits it again).
pub fn join(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// Replaces every secret string in `text` by `********`: the output of a
/// user's command may echo a value facs would never print itself.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// A finished command's stdout and stderr.
pub type Ran = (String, String);
/// A failed command's stdout, status (or why there is none) and stderr.
pub type Failed = (String, String, String);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_through_sh() {
        for text in ["plain", "with space", "it's", "", "$HOME", "a\nb", "-dash", "=x", "~/x"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(text)))
                .output()
                .expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), text, "{text:?}");
        }
    }

    #[test]
    fn display_redacts_secrets_and_shows_stdin() {
        let mut cmd = Cmd::new("postcmd 1", [Word::plain("ssh"), Word::plain("--"), Word::plain("web 1")]);
        cmd.stdin = vec![Word::plain("cd -- /srv"), Word { text: "echo hunter22".into(), secret: true }];
        assert_eq!(cmd.display(false), "ssh -- 'web 1' <<'EOF'\ncd -- /srv\n********\nEOF");
        assert_eq!(cmd.display(true), "ssh -- 'web 1' <<'EOF'\ncd -- /srv\necho hunter22\nEOF");
        assert_eq!(redact("pw=hunter22!", &["hunter22".into()]), "pw=********!");
    }
}
