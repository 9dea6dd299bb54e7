//! Eval's output for every later stage: the manifest value and where its
//! parts were written. Render points its errors at `install` entries, deploy
//! at `home`, `deploy.*` and `targets.*`; both ask [`Spans::span`] with a
//! path below `instance`, so neither keeps a span map of its own.

use super::merge::{Node, NodeKind};
use super::Value;
use crate::source::Span;
use std::collections::HashMap;

/// One instance's manifest (secrets wrapped) and the spans of its parts.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest: `facs`, `project`, `instance`, `module` (and
    /// `component` in a conglomerate). `Null` when the instance failed, or
    /// once a build no longer needs it (see `build::compile_group`).
    pub value: Value,
    /// Where the parts of `instance` that later stages report on were written.
    pub spans: Spans,
}

impl Manifest {
    /// A manifest with no value (the instance failed): every span is `root`.
    pub fn failed(spans: Spans) -> Self {
        Manifest { value: Value::Null, spans }
    }

    /// Drops the value and keeps the spans: at 10,000 instances the values
    /// would dominate a build's memory once serialized.
    pub fn forget_value(&mut self) {
        self.value = Value::Null;
    }
}

/// The instance fields whose parts get spans: those render and deploy check
/// after evaluation (every other field's errors come from eval itself).
const SPANNED: [&str; 4] = ["install", "home", "deploy", "targets"];

/// Source spans of a manifest's parts by dotted path below `instance`
/// (`install`, `install.0.files.1`, `home`, `targets.web.nodes.0`).
#[derive(Debug, Clone)]
pub struct Spans {
    by_path: HashMap<String, Span>,
    /// The instance's name, for a part with no span of its own.
    root: Span,
}

impl Spans {
    /// Only the instance's span (an instance that failed before merging).
    pub fn root(root: Span) -> Self {
        Spans { by_path: HashMap::new(), root }
    }

    /// The spans of `instance`'s merged tree.
    pub(super) fn of(instance: &Node<'_>, root: Span) -> Self {
        let mut spans = Spans::root(root);
        for key in SPANNED {
            if let Some(node) = instance.map().and_then(|m| m.get(key)) {
                collect(node, key.to_string(), &mut spans.by_path);
            }
        }
        spans
    }

    /// Where `path` was written, else its nearest written ancestor (a
    /// default has no span of its own), else the instance's name.
    pub fn span(&self, path: &str) -> Span {
        let mut key = path;
        loop {
            if let Some(span) = self.by_path.get(key) {
                return *span;
            }
            match key.rfind('.') {
                Some(dot) => key = key.get(..dot).unwrap_or_default(),
                None => return self.root,
            }
        }
    }

    /// The instance's name.
    pub fn instance(&self) -> Span {
        self.root
    }

    /// Records where `path` was written (tests build manifests by hand).
    #[cfg(test)]
    pub(crate) fn insert(&mut self, path: &str, span: Span) {
        self.by_path.insert(path.to_string(), span);
    }
}

/// Records the span of `node` under `path` and of every map entry and list
/// item below it (nesting is bounded by the parser's depth limit).
fn collect(node: &Node<'_>, path: String, out: &mut HashMap<String, Span>) {
    match &node.kind {
        NodeKind::Map(map) => {
            for (key, value) in map {
                collect(value, format!("{path}.{key}"), out);
            }
        }
        NodeKind::List(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, format!("{path}.{i}"), out);
            }
        }
        _ => {}
    }
    out.insert(path, node.span);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn span(start: usize) -> Span {
        Span::new(FileId(0), start, start + 1)
    }

    #[test]
    fn a_path_without_a_span_gets_its_nearest_ancestors() {
        let mut spans = Spans::root(span(0));
        spans.by_path.insert("targets".into(), span(10));
        spans.by_path.insert("targets.web.nodes.0".into(), span(20));
        assert_eq!(spans.span("targets.web.nodes.0"), span(20));
        assert_eq!(spans.span("targets.web.nodes.1"), span(10));
        assert_eq!(spans.span("targets.web.port"), span(10));
        assert_eq!(spans.span("home"), span(0));
        assert_eq!(spans.instance(), span(0));
    }
}
