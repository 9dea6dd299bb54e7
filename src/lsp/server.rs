//! The server loop: documents in, analysis, diagnostics and answers out.

use super::analysis::{self, Analysis};
use super::convert;
use super::features::{self, Found, Root};
use crate::source::FileId;
use crate::syntax::ast::{Decl, File};
use crate::types::Type;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// Runs the language server on stdio until the client shuts it down.
pub fn run() -> i32 {
    let (connection, io_threads) = Connection::stdio();
    let capabilities = lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(lsp::TextDocumentSyncKind::FULL)),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let params = match serde_json::to_value(capabilities).map(|c| connection.initialize(c)) {
        Ok(Ok(p)) => p,
        _ => return 1,
    };
    let init: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    #[allow(deprecated)]
    let root = init
        .root_uri
        .and_then(|u| u.to_file_path().ok())
        .or_else(|| init.workspace_folders.and_then(|w| w.first().and_then(|f| f.uri.to_file_path().ok())))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let mut server = Server {
        analysis: analysis::analyse(&root, &BTreeMap::new(), None, None),
        root,
        open: BTreeMap::new(),
        published: HashSet::new(),
    };
    server.publish(&connection);
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request).unwrap_or(true) {
                    break;
                }
                let response = server.handle(request);
                if connection.sender.send(Message::Response(response)).is_err() {
                    break;
                }
            }
            Message::Notification(n) => {
                if let Some(changed) = server.notify(n) {
                    let next =
                        analysis::analyse(&server.root, &server.open, Some(&server.analysis), changed.as_deref());
                    server.analysis = next;
                    server.publish(&connection);
                }
            }
            Message::Response(_) => {}
        }
    }
    // The writer thread ends when every sender is gone: drop ours first.
    drop(connection);
    let _ = io_threads.join();
    0
}

struct Server {
    root: PathBuf,
    /// Open buffers by path relative to the root.
    open: BTreeMap<String, String>,
    analysis: Analysis,
    published: HashSet<lsp::Url>,
}

impl Server {
    fn relative(&self, uri: &lsp::Url) -> Option<String> {
        analysis::relative(&self.root, &uri.to_file_path().ok()?)
    }

    fn uri_of(&self, file: FileId) -> Option<lsp::Url> {
        let name = &self.analysis.sources().get(file)?.name;
        lsp::Url::from_file_path(analysis::absolute(&self.root, name)).ok()
    }

    /// Applies a notification. `Some(Some(file))`: that file changed;
    /// `Some(None)`: analyse everything again; `None`: nothing changed.
    fn notify(&mut self, n: Notification) -> Option<Option<String>> {
        match n.method.as_str() {
            lsp::notification::DidOpenTextDocument::METHOD => {
                let p = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params).ok()?;
                let rel = self.relative(&p.text_document.uri)?;
                self.open.insert(rel.clone(), p.text_document.text);
                Some(Some(rel))
            }
            lsp::notification::DidChangeTextDocument::METHOD => {
                let p = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params).ok()?;
                let rel = self.relative(&p.text_document.uri)?;
                let change = p.content_changes.into_iter().last()?;
                self.open.insert(rel.clone(), change.text);
                Some(Some(rel))
            }
            lsp::notification::DidCloseTextDocument::METHOD => {
                let p = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params).ok()?;
                let rel = self.relative(&p.text_document.uri)?;
                self.open.remove(&rel)?;
                Some(Some(rel))
            }
            // A save may come with changes to templates or other files: start over.
            lsp::notification::DidSaveTextDocument::METHOD => Some(None),
            _ => None,
        }
    }

    /// Publishes every file's diagnostics, clearing files that have none now;
    /// a workspace that cannot be read is shown as an error message.
    fn publish(&mut self, connection: &Connection) {
        if let Some(why) = &self.analysis.failure {
            let params = lsp::ShowMessageParams { typ: lsp::MessageType::ERROR, message: format!("facs: {why}") };
            let note = Notification::new(lsp::notification::ShowMessage::METHOD.to_string(), params);
            let _ = connection.sender.send(Message::Notification(note));
        }
        let mut by_uri: BTreeMap<lsp::Url, Vec<lsp::Diagnostic>> = BTreeMap::new();
        let fallback = self.analysis.sources().ids().next();
        for d in &self.analysis.diagnostics {
            let file = d.primary.as_ref().map(|p| p.span.file).or(fallback);
            let Some(uri) = file.and_then(|f| self.uri_of(f)) else { continue };
            let converted = features::to_lsp(&self.analysis, d, &|f| self.uri_of(f));
            by_uri.entry(uri).or_default().push(converted);
        }
        let stale: Vec<lsp::Url> = self.published.iter().filter(|u| !by_uri.contains_key(*u)).cloned().collect();
        for uri in stale {
            by_uri.insert(uri, Vec::new());
        }
        self.published = by_uri.iter().filter(|(_, d)| !d.is_empty()).map(|(u, _)| u.clone()).collect();
        for (uri, diagnostics) in by_uri {
            let params = lsp::PublishDiagnosticsParams { uri, diagnostics, version: None };
            let note = Notification::new(lsp::notification::PublishDiagnostics::METHOD.to_string(), params);
            let _ = connection.sender.send(Message::Notification(note));
        }
    }

    fn handle(&self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            lsp::request::HoverRequest::METHOD => serde_json::from_value::<lsp::HoverParams>(request.params)
                .ok()
                .map(|p| serde_json::to_value(self.hover(&p.text_document_position_params)).unwrap_or_default()),
            lsp::request::GotoDefinition::METHOD => serde_json::from_value::<lsp::GotoDefinitionParams>(request.params)
                .ok()
                .map(|p| serde_json::to_value(self.definition(&p.text_document_position_params)).unwrap_or_default()),
            lsp::request::Completion::METHOD => serde_json::from_value::<lsp::CompletionParams>(request.params)
                .ok()
                .map(|p| serde_json::to_value(self.completion(&p.text_document_position)).unwrap_or_default()),
            lsp::request::Formatting::METHOD => serde_json::from_value::<lsp::DocumentFormattingParams>(request.params)
                .ok()
                .map(|p| serde_json::to_value(self.format(&p.text_document.uri)).unwrap_or_default()),
            lsp::request::DocumentSymbolRequest::METHOD => {
                serde_json::from_value::<lsp::DocumentSymbolParams>(request.params).ok().map(|p| {
                    let symbols = self
                        .file_of(&p.text_document.uri)
                        .map(|f| features::symbols(&self.analysis, f))
                        .unwrap_or_default();
                    serde_json::to_value(lsp::DocumentSymbolResponse::Nested(symbols)).unwrap_or_default()
                })
            }
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("unsupported: {}", request.method),
                );
            }
        };
        match result {
            Some(value) => Response::new_ok(id, value),
            None => Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, "invalid parameters".into()),
        }
    }

    /// The whole buffer replaced by `facs fmt`'s layout; nothing when the
    /// buffer does not parse (its syntax errors are already published).
    fn format(&self, uri: &lsp::Url) -> Option<Vec<lsp::TextEdit>> {
        let rel = self.relative(uri)?;
        let text = self
            .open
            .get(&rel)
            .cloned()
            .or_else(|| std::fs::read_to_string(analysis::absolute(&self.root, &rel)).ok())?;
        let mut sources = crate::source::SourceMap::new();
        let id = sources.add(rel, text.clone());
        let formatted = crate::fmt::format_file(&sources, id).ok()?;
        if formatted == text {
            return Some(Vec::new());
        }
        let file = sources.get(id)?;
        let end = convert::position(file, text.len());
        Some(vec![lsp::TextEdit { range: lsp::Range { start: lsp::Position::default(), end }, new_text: formatted }])
    }

    fn file_of(&self, uri: &lsp::Url) -> Option<&File> {
        let rel = self.relative(uri)?;
        let id = self.analysis.sources().find(&rel)?;
        self.analysis.files().iter().find(|f| f.id == id)
    }

    fn at(&self, pos: &lsp::TextDocumentPositionParams) -> Option<(&File, usize)> {
        let file = self.file_of(&pos.text_document.uri)?;
        let source = self.analysis.sources().get(file.id)?;
        Some((file, convert::offset(source, pos.position)))
    }

    fn hover(&self, pos: &lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
        let (file, offset) = self.at(pos)?;
        let found = features::locate(file, offset)?;
        let crate::build::Front { resolved, schemas, .. } = self.analysis.front();
        let lineage_text = |name: &str| {
            let info = resolved.by_name.get(name).map(|&i| &resolved.instances[i])?;
            let kind = info.decl.kind();
            let lineage: Vec<&str> = resolved.instances.names(info.lineage.as_deref().unwrap_or_default()).collect();
            let owner = resolved.instances[info.state_owner].name();
            let mut text = format!("**{kind}** `{name}`\n\nlineage: {}", lineage.join(" → "));
            if !info.decl.is_abstract {
                text.push_str(&format!("\n\nstate: `{owner}`"));
            }
            if let Some(doc) = &info.decl.doc {
                text.push_str(&format!("\n\n{doc}"));
            }
            Some(text)
        };
        let markdown = match found {
            Found::DeclName(Decl::Instance(i)) => lineage_text(&i.name.text)?,
            Found::Parent(name) => lineage_text(&name.text)?,
            Found::DeclName(d) => {
                let doc = match d {
                    Decl::Project(p) | Decl::Module(p) => p.doc.clone(),
                    Decl::Schema(s) => s.doc.clone(),
                    Decl::Instance(i) => i.doc.clone(),
                    Decl::Generator(_) => None,
                };
                format!("`{}`{}", d.name().text, doc.map(|d| format!("\n\n{d}")).unwrap_or_default())
            }
            Found::ModuleRef(name) => {
                let doc = resolved.modules.get(name.text.as_str()).and_then(|m| m.doc.clone());
                format!("**module** `{}`{}", name.text, doc.map(|d| format!("\n\n{d}")).unwrap_or_default())
            }
            Found::Function(name) => match crate::syntax::functions::lookup(&name.text) {
                Some(f) => format!("```facs\n{}\n```\n\n{}", f.signature, f.doc),
                None => format!("`{}` is not a built-in function (E027)", name.text),
            },
            Found::TypeName(name) => {
                let doc = resolved.schemas.get(name).and_then(|s| s.doc.clone());
                format!("**type** `{name}`{}", doc.map(|d| format!("\n\n{d}")).unwrap_or_default())
            }
            found @ (Found::Key(..) | Found::Reference(..)) => {
                let (root, path, own_doc) = match found {
                    Found::Key(root, path, doc) => (root, path, doc),
                    Found::Reference(root, path) => (root, path, None),
                    _ => return None,
                };
                let doc = match &found_doc(doc_of(&root, &path, schemas), own_doc) {
                    Some(d) => format!("\n\n{d}"),
                    None => String::new(),
                };
                let (base, values_path, owner): (Type, Vec<String>, Option<&str>) = match root {
                    Root::Instance(i) => {
                        (Type::Record(schemas.instance), prefixed("instance", &path), Some(i.name.text.as_str()))
                    }
                    Root::Module(m, owner) => (
                        Type::Record(schemas.module),
                        prefixed(&format!("module.{m}"), &path),
                        owner.map(|o| o.name.text.as_str()),
                    ),
                    Root::Project => (Type::Record(schemas.project), prefixed("project", &path), None),
                    Root::Schema => (Type::Any, Vec::new(), None),
                };
                let type_path = values_path
                    .iter()
                    .skip(if matches!(root, Root::Module(..)) { 2 } else { 1 })
                    .cloned()
                    .collect::<Vec<_>>();
                let type_text =
                    features::type_of(schemas, base, &type_path).map(|t| format!(": {t}")).unwrap_or_default();
                let mut text = format!("`{}`{type_text}{doc}", path.join("."));
                let mut rows = Vec::new();
                for (name, (lineage, manifest)) in &self.analysis.instances {
                    if owner.is_some_and(|o| !lineage.iter().any(|l| l == o)) {
                        continue;
                    }
                    let segments: Vec<&str> = values_path.iter().map(String::as_str).collect();
                    if let Some(v) = manifest.get_path(&segments) {
                        let shown = serde_json::to_string(&v.json(false)).unwrap_or_default();
                        rows.push(format!("- `{name}`: `{}`", truncate(&shown)));
                    }
                }
                if !rows.is_empty() {
                    let shown = rows.len().min(12);
                    text.push_str("\n\n**values**\n\n");
                    text.push_str(&rows.get(..shown).unwrap_or_default().join("\n"));
                    if rows.len() > shown {
                        text.push_str(&format!("\n- … and {} more instances", rows.len() - shown));
                    }
                }
                text
            }
        };
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: markdown,
            }),
            range: None,
        })
    }

    fn definition(&self, pos: &lsp::TextDocumentPositionParams) -> Option<lsp::GotoDefinitionResponse> {
        let (file, offset) = self.at(pos)?;
        let found = features::locate(file, offset)?;
        let resolved = &self.analysis.front().resolved;
        let span = match found {
            Found::Parent(name) => {
                resolved.by_name.get(name.text.as_str()).map(|&i| resolved.instances[i].decl.name.span)
            }
            Found::ModuleRef(name) => resolved.modules.get(name.text.as_str()).map(|m| m.name.span),
            Found::TypeName(name) => resolved.schemas.get(name).map(|s| s.name.span),
            Found::Reference(root, path) => {
                let (head, rest) = path.split_first()?;
                match (head.as_str(), root) {
                    ("module", _) => {
                        let (module, rest) = rest.split_first()?;
                        let decl = resolved.modules.get(module.as_str())?;
                        features::find_key(&decl.body, rest).or(Some(decl.name.span))
                    }
                    ("project", _) => resolved.project.and_then(|p| features::find_key(&p.body, rest)),
                    ("instance" | "env", Root::Instance(i)) => self.in_lineage(resolved, i, rest),
                    (_, Root::Instance(i)) => self.in_lineage(resolved, i, &path),
                    (_, Root::Module(m, _)) => resolved.modules.get(m).and_then(|d| features::find_key(&d.body, &path)),
                    _ => None,
                }
            }
            _ => None,
        }?;
        let uri = self.uri_of(span.file)?;
        let source = self.analysis.sources().get(span.file)?;
        Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location { uri, range: convert::range(source, span) }))
    }

    /// Where the value of `path` that `decl` sees was set: the last body of
    /// its lineage that sets it.
    fn in_lineage(
        &self,
        resolved: &crate::resolve::Resolved<'_>,
        decl: &crate::syntax::ast::InstanceDecl,
        path: &[String],
    ) -> Option<crate::source::Span> {
        let id = *resolved.by_name.get(decl.name.text.as_str())?;
        let setter = |lineage: &[crate::resolve::InstanceId]| {
            lineage.iter().rev().map(|&i| &resolved.instances[i]).find_map(|i| features::find_key(&i.decl.body, path))
        };
        if let Some(span) = resolved.instances[id].lineage.as_deref().and_then(setter) {
            return Some(span);
        }
        // References are late-bound: in a parent, the value comes from the
        // instances that inherit it. Take the first descendant that sets it.
        resolved.instances.iter().filter_map(|i| i.lineage.as_deref()).filter(|l| l.contains(&id)).find_map(setter)
    }

    fn completion(&self, pos: &lsp::TextDocumentPositionParams) -> Option<lsp::CompletionResponse> {
        let rel = self.relative(&pos.text_document.uri)?;
        let text = self
            .open
            .get(&rel)
            .cloned()
            .or_else(|| std::fs::read_to_string(analysis::absolute(&self.root, &rel)).ok())?;
        let line = text.lines().nth(pos.position.line as usize).unwrap_or("");
        let before: String = line
            .encode_utf16()
            .take(pos.position.character as usize)
            .collect::<Vec<u16>>()
            .iter()
            .map(|&u| char::from_u32(u32::from(u)).unwrap_or(' '))
            .collect();
        let words: Vec<&str> =
            before.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
        let crate::build::Front { resolved, schemas, .. } = self.analysis.front();
        let item = |label: &str, kind, detail: &str| lsp::CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail: Some(detail.to_string()),
            ..Default::default()
        };
        let instances = || {
            resolved
                .instances
                .iter()
                .map(|i| item(i.name(), lsp::CompletionItemKind::CLASS, "instance"))
                .collect::<Vec<_>>()
        };
        let in_header =
            before.contains(" inherits ") || words.iter().rev().take(2).any(|w| *w == "inherits" || *w == "on");
        let items = if in_header {
            instances()
        } else if words.last() == Some(&"module")
            || (words.len() >= 2 && words.get(words.len() - 2) == Some(&"module") && !before.ends_with(' '))
        {
            resolved.modules.keys().map(|m| item(m, lsp::CompletionItemKind::MODULE, "module")).collect()
        } else if before.trim_end().ends_with(':') && self.in_schema(&rel, pos) {
            crate::resolve::PRIMITIVE_TYPES
                .iter()
                .map(|t| item(t, lsp::CompletionItemKind::KEYWORD, "type"))
                .chain(schemas.by_name.keys().map(|s| item(s, lsp::CompletionItemKind::STRUCT, "schema")))
                .collect()
        } else {
            let record = match self.at(pos).and_then(|(f, o)| {
                f.decls.iter().find(|d| (d.span().start as usize) <= o && o <= d.span().end as usize)
            }) {
                Some(Decl::Module(_)) => schemas.module,
                Some(Decl::Project(_)) => schemas.project,
                _ => schemas.instance,
            };
            let mut out: Vec<lsp::CompletionItem> = schemas
                .record(record)
                .fields
                .iter()
                .filter(|(_, f)| !f.derived)
                .map(|(k, f)| lsp::CompletionItem {
                    label: k.clone(),
                    kind: Some(lsp::CompletionItemKind::FIELD),
                    detail: Some(f.type_.describe(schemas)),
                    documentation: f.doc.map(|d| lsp::Documentation::String(d.to_string())),
                    ..Default::default()
                })
                .collect();
            // In value position (after `:`, an operator, `(` or `,`), the
            // built-in functions too, with their signatures.
            let word_start = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
            if word_start
                .trim_end()
                .ends_with([':', '(', ',', '+', '-', '*', '/', '%', '=', '&', '|', '!', '[', '<', '>'])
                && !self.in_schema(&rel, pos)
            {
                out.extend(crate::syntax::functions::FUNCTIONS.iter().map(|f| lsp::CompletionItem {
                    label: f.name.to_string(),
                    kind: Some(lsp::CompletionItemKind::FUNCTION),
                    detail: Some(f.signature.to_string()),
                    documentation: Some(lsp::Documentation::String(f.doc.to_string())),
                    ..Default::default()
                }));
            }
            // Keys other bodies already use (inferred fields have no schema).
            for (_, manifest) in self.analysis.instances.values().take(1) {
                if let Some(crate::eval::Value::Map(m)) = manifest.get_path(&["instance"]) {
                    let known: Vec<String> = out.iter().map(|i| i.label.clone()).collect();
                    for k in m.keys().filter(|k| !known.contains(k) && k.as_str() != "name") {
                        out.push(item(k, lsp::CompletionItemKind::FIELD, "field"));
                    }
                }
            }
            out
        };
        Some(lsp::CompletionResponse::Array(items))
    }

    fn in_schema(&self, rel: &str, pos: &lsp::TextDocumentPositionParams) -> bool {
        let _ = rel;
        self.at(pos).is_some_and(|(f, o)| {
            f.decls
                .iter()
                .any(|d| matches!(d, Decl::Schema(_)) && (d.span().start as usize) <= o && o <= d.span().end as usize)
        })
    }
}

fn prefixed(root: &str, path: &[String]) -> Vec<String> {
    root.split('.').map(str::to_string).chain(path.iter().cloned()).collect()
}

fn truncate(text: &str) -> String {
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text.to_string()
    }
}

fn found_doc(schema_doc: Option<String>, own: Option<&str>) -> Option<String> {
    own.map(str::to_string).or(schema_doc)
}

/// The doc comment a schema gives a key path.
fn doc_of(root: &Root<'_>, path: &[String], schemas: &crate::types::Schemas<'_>) -> Option<String> {
    let base = match root {
        Root::Instance(_) => Type::Record(schemas.instance),
        Root::Module(..) => Type::Record(schemas.module),
        Root::Project => Type::Record(schemas.project),
        Root::Schema => return None,
    };
    let (last, parents) = path.split_last()?;
    let parent = parents.iter().fold(base, |t, seg| schemas.child_type(&t, seg));
    match parent {
        Type::Record(id) => schemas.record(id).fields.get(last)?.doc.map(str::to_string),
        _ => None,
    }
}
