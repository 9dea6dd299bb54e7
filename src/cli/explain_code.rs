//! `facs explain-code [CODE]` (spec §12), like `rustc --explain`: the error
//! index's section for a code, with its example and fix; without a code,
//! every code with its one-line meaning.

use super::Ui;
use crate::diagnostic::{closest, explain, Code};

/// `facs explain-code [CODE]`
pub fn run(code: Option<&str>, ui: &mut Ui) -> i32 {
    let Some(text) = code else {
        let mut out = String::from("Diagnostic codes (`facs explain-code CODE` explains one):\n");
        for code in Code::ALL {
            out.push_str(&format!("  {code}  {}\n", code.summary()));
        }
        return ui.out(out.as_bytes());
    };
    match explain::parse(text).and_then(|code| explain::long_text(code).map(|t| (code, t))) {
        Some((_, long)) => ui.out(format!("{long}\n").as_bytes()),
        None => {
            let wanted = text.trim().to_ascii_uppercase();
            let hint = closest(&wanted, Code::ALL.iter().map(|c| c.as_str()))
                .map_or_else(String::new, |c| format!("; did you mean `{c}`?"));
            ui.failure(&format!("no diagnostic code `{text}`{hint} (`facs explain-code` lists them all)"));
            1
        }
    }
}
