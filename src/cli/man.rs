//! `facs man`: the facs(1) page in roff. clap_mangen renders the title,
//! synopsis and options from the clap definition; the rest is ours. Its own
//! SUBCOMMANDS section names one page per subcommand (`facs-build(1)`), which
//! facs does not ship, so the commands are listed here instead, with the
//! sections a man page needs (spec §12): EXIT STATUS, ENVIRONMENT (the limit
//! variables come from [`crate::limits::VARS`], so a new limit is documented
//! by adding it there), FILES and EXAMPLES. No other page is named.

use super::Cli;
use clap::CommandFactory;

/// The whole page.
pub fn page() -> std::io::Result<Vec<u8>> {
    let mut command = Cli::command();
    command.build();
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    commands(&mut text, &command);
    exit_status(&mut text);
    environment(&mut text);
    files(&mut text);
    examples(&mut text);
    section(&mut text, "VERSION");
    paragraph(&mut text, &format!("v{}", env!("CARGO_PKG_VERSION")));
    Ok(text.into_bytes())
}

/// Text made safe for roff: backslashes and hyphens escaped, and a line that
/// would start with a control character (`.` or `'`) guarded.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn section(out: &mut String, title: &str) {
    out.push_str(&format!(".SH {title}\n"));
}

fn paragraph(out: &mut String, text: &str) {
    out.push_str(&format!("{}\n", escape(text)));
}

/// One `.TP` item: a bold tag, then its description.
fn item(out: &mut String, tag: &str, text: &str) {
    out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", escape(tag), escape(text)));
}

/// Every visible subcommand with its usage line and summary.
fn commands(out: &mut String, command: &clap::Command) {
    section(out, "COMMANDS");
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        item(out, usage, &about);
    }
    out.push_str(".PP\n");
    paragraph(out, "Run facs COMMAND --help for the options of each command.");
}

fn exit_status(out: &mut String) {
    section(out, "EXIT STATUS");
    item(out, "0", "Success (warnings allowed).");
    item(out, "1", "Errors were reported (diagnostics, or failures with no source place such as an unreadable directory); also no definition directory found, and `fmt --check` finding an unformatted file.");
    item(out, "2", "Usage error: an unknown command or option, a bad option value, a -p directory that does not exist, or an unreadable FACS_MAX_* value.");
}

fn environment(out: &mut String) {
    section(out, "ENVIRONMENT");
    item(out, "FACS_SSH", "The ssh command deploy runs instead of `ssh`, split like a shell would (for example `ssh -F ~/.ssh/deploy_config`).");
    for (var, text) in crate::limits::VARS {
        item(out, var, text);
    }
    item(out, "NO_COLOR", "When set and not empty, diagnostics are not coloured (unless --color always).");
    item(out, "CLICOLOR_FORCE", "When set, not empty and not 0, diagnostics are coloured even when stderr is not a terminal (unless --color never or NO_COLOR).");
    out.push_str(".PP\n");
    paragraph(
        out,
        "Sizes take a K, M or G suffix (powers of 1024). A FACS_MAX_* value that cannot be read is a usage error.",
    );
}

fn files(out: &mut String) {
    section(out, "FILES");
    paragraph(out, "Paths are relative to the definition directory (DIR).");
    item(out, "*.facs, **/*.facs", "The definitions, all loaded together. Without -p, DIR is the nearest of the current directory and its ancestors holding a *.facs file that declares project.");
    item(
        out,
        ".facsimile/out/",
        "The default output directory (-o): <instance>.json and <instance>/<project>/ per instance.",
    );
    item(out, ".facsimile/state/<owner>/state.json", "The default state (--state): generated passwords, secrets and ids. Keep it; every later build reproduces them from it.");
    item(out, "tmpl/", "Templates: tmpl/_ALL_/ for every instance, tmpl/<name>/ for one instance and those below it.");
    item(out, "extra/", "Files copied verbatim into _DEPLOY_/: extra/_ALL_/ and extra/<name>/.");
    item(out, "exclude.rsync", "Optional rsync exclude file that deploy passes with --exclude-from.");
}

fn examples(out: &mut String) {
    section(out, "EXAMPLES");
    item(out, "facs check", "Type-check and evaluate the project found from the current directory.");
    item(out, "facs -p examples/shop build prod", "Build one instance of another directory's project.");
    item(out, "facs manifest prod | jq .db", "Print a manifest (secrets redacted) and look at one part of it.");
    item(out, "facs explain prod db.url", "Show a value and every place that set it.");
    item(out, "facs deploy prod --dry-run", "Print the rsync and ssh commands a deploy would run.");
    item(out, "facs --color never --message-format json check", "Diagnostics for a script: one JSON object per line.");
}
