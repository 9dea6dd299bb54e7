//! The language server, driven by a real JSON-RPC client over the spawned
//! `facs lsp`'s stdio (Content-Length framing, as editors do).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    stash: Vec<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_facs"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn facs lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(n) = header.strip_prefix("Content-Length: ") {
                        length = n.parse().expect("length");
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).expect("json")).is_err() {
                    return;
                }
            }
        });
        Client { child, stdin, incoming, stash: Vec::new(), next_id: 1 }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.incoming.recv_timeout(Duration::from_secs(20)).expect("a response");
            if message["id"] == id && message.get("method").is_none() {
                assert!(message.get("error").is_none(), "{method} failed: {message}");
                return message["result"].clone();
            }
            self.stash.push(message);
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics_for(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(pos) = self
                .stash
                .iter()
                .position(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
            {
                let m = self.stash.remove(pos);
                return m["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.incoming.recv_timeout(left).expect("diagnostics published");
            self.stash.push(message);
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

const BROKEN: &str = "project demo {}\nmodule app {}\n\n/// The shared base.\nabstract instance base {\n  home: \"/srv/base\"\n  url: \"http://${sevrer}/\"\n}\n\ninstance dev inherits base {\n  server: \"localhost\"\n  module app { port: 8080 }\n}\n";

#[test]
fn diagnostics_hover_definition_completion_symbols() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(tmp.path()).expect("root");
    let main = root.join("main.facs");
    std::fs::write(&main, BROKEN).expect("write");
    let root_uri = format!("file://{}", root.display());
    let uri = format!("file://{}", main.display());

    let mut client = Client::start();
    let init = client.request("initialize", json!({"processId": null, "rootUri": root_uri, "capabilities": {}}));
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    client.notify("initialized", json!({}));
    // The whole project is analysed at start: the file on disk has the error.
    assert!(client.diagnostics_for(&uri).iter().any(|d| d["code"] == "E010"));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "facs", "version": 1, "text": BROKEN}}),
    );

    // The unresolved interpolation is E010 on line 7 (0-based 6), the `${sevrer}`.
    let diagnostics = client.diagnostics_for(&uri);
    let e010 = diagnostics.iter().find(|d| d["code"] == "E010").expect("E010 published");
    assert_eq!(e010["range"]["start"]["line"], 6);
    assert_eq!(e010["range"]["start"]["character"], 15);
    assert!(e010["message"]
        .as_str()
        .is_some_and(|m| m.contains("sevrer") && m.contains("help: Did you mean `server`?")));

    // Fixing the buffer (not the disk) clears the diagnostics.
    let fixed = BROKEN.replace("${sevrer}", "${server}");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    assert!(client.diagnostics_for(&uri).is_empty(), "diagnostics cleared after the fix");

    // Hover on `url` in base: its value in the instance that inherits it.
    let at = |needle: &str, extra: u32| {
        let (line_idx, line) = fixed.lines().enumerate().find(|(_, l)| l.contains(needle)).expect("needle");
        json!({"textDocument": {"uri": uri}, "position": {"line": line_idx, "character": line.find(needle).expect("col") as u32 + extra}})
    };
    let hover = client.request("textDocument/hover", at("url:", 1));
    let text = hover["contents"]["value"].as_str().expect("markdown").to_string();
    assert!(text.contains("`url`") && text.contains("`dev`: `\"http://localhost/\"`"), "{text}");

    // Hover on the instance name shows its lineage and state owner.
    let hover = client.request("textDocument/hover", at("dev inherits", 0));
    let text = hover["contents"]["value"].as_str().expect("markdown").to_string();
    assert!(text.contains("lineage: base → dev") && text.contains("state: `dev`"), "{text}");
    let hover = client.request("textDocument/hover", at("base {", 0));
    assert!(hover["contents"]["value"].as_str().is_some_and(|t| t.contains("The shared base.")));

    // Go to definition: from `inherits base` to base's declaration, from
    // `${host}` to the body that sets `host`, from `module app` to the module.
    let def = client.request("textDocument/definition", {
        let (line_idx, line) = fixed.lines().enumerate().find(|(_, l)| l.starts_with("instance dev")).expect("line");
        json!({"textDocument": {"uri": uri}, "position": {"line": line_idx, "character": line.find("base").expect("base") as u32 + 1}})
    });
    assert_eq!(def["range"]["start"]["line"], 4, "base is declared on line 5: {def}");
    let def = client.request("textDocument/definition", at("${server}", 3));
    assert_eq!(def["range"]["start"]["line"], 10, "server is set on line 11: {def}");
    let def = client.request("textDocument/definition", at("module app { port", 8));
    assert_eq!(def["range"]["start"]["line"], 1, "module app is declared on line 2: {def}");

    // Completion: instance names after `inherits`, field names in a body.
    let completion = client.request("textDocument/completion", at("inherits base", 9));
    let labels: Vec<&str> = completion.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"base") && labels.contains(&"dev"), "{labels:?}");
    let completion = client.request("textDocument/completion", at("server:", 0));
    let labels: Vec<&str> = completion.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"home") && labels.contains(&"targets") && labels.contains(&"install"), "{labels:?}");

    // Document symbols.
    let symbols = client.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let names: Vec<&str> = symbols.as_array().expect("symbols").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["project demo", "module app", "abstract instance base", "instance dev"]);

    // Formatting goes through `facs fmt`: one edit replacing the buffer.
    let messy = "project demo {}\nmodule app {}\ninstance   dev{home:\"/x\"   // kept\n}\n";
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let new_text = edits[0]["newText"].as_str().expect("an edit");
    assert!(new_text.contains("instance dev {\n  home: \"/x\" // kept\n}"), "{new_text}");

    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = client.child.try_wait().expect("wait") {
            assert!(status.success());
            break;
        }
        assert!(Instant::now() < deadline, "facs lsp did not exit after `exit`");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const EXPRESSIONS: &str = "project demo {\n  devs: [\"alice\", \"bob\"]\n}\n\nabstract instance base {\n  port: 8000\n  hosts: [\"a\", \"b\"]\n  count: len(hosts) + port\n}\n\nfor who, i in project.devs {\n  instance \"dev-${who}\" inherits base {\n    port: 8001 + i\n  }\n}\n";

/// Hover on a built-in function shows its signature; completion in value
/// position offers the functions; references inside operators hover; a
/// generated instance has a state of its own name.
#[test]
fn expressions_and_generators_in_the_language_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(tmp.path()).expect("root");
    let main = root.join("main.facs");
    std::fs::write(&main, EXPRESSIONS).expect("write");
    let root_uri = format!("file://{}", root.display());
    let uri = format!("file://{}", main.display());
    let mut client = Client::start();
    client.request("initialize", json!({"processId": null, "rootUri": root_uri, "capabilities": {}}));
    client.notify("initialized", json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "facs", "version": 1, "text": EXPRESSIONS}}),
    );
    let at = |needle: &str, extra: u32| {
        let (line_idx, line) = EXPRESSIONS.lines().enumerate().find(|(_, l)| l.contains(needle)).expect("needle");
        json!({"textDocument": {"uri": uri}, "position": {"line": line_idx, "character": line.find(needle).expect("col") as u32 + extra}})
    };
    let hover = client.request("textDocument/hover", at("len(", 1));
    let text = hover["contents"]["value"].as_str().expect("markdown").to_string();
    assert!(text.contains("len(string | list | map) -> int"), "{text}");
    // `hosts` inside `len(hosts) + port`: its value in the instances.
    let hover = client.request("textDocument/hover", at("hosts) +", 1));
    let text = hover["contents"]["value"].as_str().expect("markdown").to_string();
    assert!(text.contains("hosts") && text.contains("dev-alice"), "{text}");
    // The generated instance's lineage and state owner.
    let hover = client.request("textDocument/hover", at("\"dev-${who}\"", 2));
    let text = hover["contents"]["value"].as_str().expect("markdown").to_string();
    assert!(text.contains("lineage: base → dev-alice") && text.contains("state: `dev-alice`"), "{text}");
    let completion = client.request("textDocument/completion", at("len(hosts) + ", 13));
    let items = completion.as_array().expect("items").clone();
    let len = items.iter().find(|i| i["label"] == "len").expect("len offered after an operator");
    assert_eq!(len["detail"], "len(string | list | map) -> int");
    let completion = client.request("textDocument/completion", at("  port: 8000", 2));
    let labels: Vec<&str> = completion.as_array().expect("items").iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(!labels.contains(&"len"), "no functions where a key goes: {labels:?}");
}
