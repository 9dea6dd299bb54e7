//! Formatter tests: snapshots of messy inputs in the gleam layout
//! (`----- SOURCE CODE` / `----- FORMATTED`), comments in every position,
//! idempotence. Every case also checks that the output is a fixed point and
//! keeps each comment exactly once.

use super::format_file;
use crate::source::SourceMap;
use crate::syntax::scan;

fn format(text: &str) -> Result<String, Vec<String>> {
    let mut sources = SourceMap::new();
    let id = sources.add("main.facs", text);
    format_file(&sources, id).map_err(|ds| ds.iter().map(|d| format!("{} {}", d.code.as_str(), d.message)).collect())
}

/// Formats, checks idempotence and comments, and returns the output.
fn fmt(text: &str) -> String {
    let out = format(text).unwrap_or_else(|e| panic!("cannot format: {e:?}\n{text}"));
    assert_eq!(format(&out).as_deref(), Ok(out.as_str()), "not idempotent:\n{out}");
    let comments = |t: &str| -> Vec<String> {
        scan::scan(t).comments.iter().map(|&(_, s, e)| t.get(s..e).unwrap_or("").replace("\r\n", "\n")).collect()
    };
    assert_eq!(comments(text), comments(&out), "comments changed");
    out
}

fn snapshot(name: &str, text: &str) {
    let out = fmt(text);
    insta::assert_snapshot!(name, format!("----- SOURCE CODE\n{text}\n----- FORMATTED\n{out}"));
}

#[test]
fn messy_input() {
    snapshot(
        "messy_input",
        r#"project   p{version:"1.0",repo:"."},module app{port:80 service{logical_name:"app",n_instances:2}}
abstract   instance base{home:"/srv" db{host:"h",port:5432,} db.name:"x", list:[1,2,3,] nested:[[1,2],[3]] maps:[{a:1},{}]}
	instance dev0 inherits base,other{
		home:="/tmp"   admins+=["a@x"]
  target  t{nodes:["n1"]} module app{port:81}
	unset db.port
   empty{}
      empty_list: []
}
overlay o on dev0{home:"/o"}"#,
    );
}

#[test]
fn comments_in_every_position() {
    snapshot(
        "comments_in_every_position",
        r#"// file header

/* block header */ project p { version: "1" } // after project
/// doc of base
abstract /* a */ instance /* b */ base /* c */ inherits /* d */ x /* e */ , y /* f */ {
}
instance i inherits base { // after the opener
  key // between key and colon
  : 1
  other: /* before the value */ 2
  list: [ 1, 2, // after two
    3 ]
  empty { /* alone in a block */ }
  empty2 {
    // alone on its line
  }
  empty_list: [ /* alone in a list */ ]
  dotted . key /* inside a path */ . more := "v"


  /// doc after blank lines
  after_blanks += [ "a" ]
  unset a . b // after unset
  module m {} /* one */ /* two */ // three
  /* before, same line */ z: null
  /* multi-line
     block comment */
  last: true // after the last item

  // before the closer
}
// after everything
/* really */"#,
    );
}

#[test]
fn schemas() {
    snapshot(
        "schemas",
        r#"schema Db{host:string="localhost" port:int=5432,name?:string
mode: "ro"|"rw" = "ro"  // access
tags:[string]=[] opts:{string}={} contact?:{recipient:string,sender:string,...}, maybe: int?
/* open */ ...}
schema Empty {}
schema Instance { db: Db, ... }"#,
    );
}

#[test]
fn long_lists_break_one_element_per_line() {
    snapshot(
        "long_lists",
        r#"instance a {
  short: ["a", "b", "c"]
  fits: ["aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc", "ddddddddddd"]
  too_long: ["aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc", "ddddddddddddd"]
  deep { deeper { list: [1111111111, 2222222222, 3333333333, 4444444444, 5555555555, 6666666666, 7777777777] } }
  mixed: [1, [2, 3], { a: 4 }]
}"#,
    );
}

#[test]
fn a_list_that_fills_exactly_100_columns_stays_on_one_line() {
    let line = format!("  k: [\"{}\"]", "x".repeat(100 - 9));
    assert_eq!(line.len(), 100);
    let text = format!("instance a {{\n{line}\n}}\n");
    assert_eq!(fmt(&text), text);
    let longer = text.replace("[\"x", "[\"xx");
    assert!(fmt(&longer).contains("  k: [\n    \"xx"), "{}", fmt(&longer));
}

#[test]
fn tokens_are_kept_as_written() {
    let text = "instance a {\n  \"quoted key\".\"x y\": 1_000\n  f: 1.5e-3\n  n: -0\n  s: \"tab\\t quote\\\" dollar\\$ ${facs.instance} $ \\u{1F600}\"\n  r: module.\"my mod\".port\n  b: false\n  z: null\n}\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn multiline_strings_move_with_their_field() {
    // Deeper: every line, the closing one included, moves right by 4.
    let text = "instance a { b { c {\nmotd: \"\"\"\n  one ${facs.instance}\n    two\n\n  \"\"\"\n} } }\n";
    let out = fmt(text);
    assert!(
        out.contains("      motd: \"\"\"\n        one ${facs.instance}\n          two\n\n        \"\"\"\n"),
        "{out}"
    );
    // Shallower: moves left when every line has the room.
    let text = "instance a {\n            motd: \"\"\"\n              x\n              \"\"\"\n}\n";
    assert_eq!(fmt(text), "instance a {\n  motd: \"\"\"\n    x\n    \"\"\"\n}\n");
    // Not enough room on some line: kept as written.
    let text = "instance a {\n      motd: \"\"\"\n  x\n  \"\"\"\n}\n";
    assert_eq!(fmt(text), "instance a {\n  motd: \"\"\"\n  x\n  \"\"\"\n}\n");
    // Closing quotes after the last line (common indentation removed).
    let text = "instance a {\nm: \"\"\"\n    x\n      y\"\"\"\n}\n";
    assert_eq!(fmt(text), "instance a {\n  m: \"\"\"\n      x\n        y\"\"\"\n}\n");
}

#[test]
fn blank_lines_are_kept_once_and_never_at_block_edges() {
    let text = "instance a {\n\n\n  x: 1\n\n\n\n  y: 2\n  z: 3\n\n}\n\n\n\ninstance b {}";
    assert_eq!(fmt(text), "instance a {\n  x: 1\n\n  y: 2\n  z: 3\n}\n\ninstance b {}\n");
}

#[test]
fn declarations_are_separated_by_one_blank_line() {
    assert_eq!(
        fmt("project p {} module m {}\n// c\nmodule n {}"),
        "project p {}\n\nmodule m {}\n\n// c\nmodule n {}\n"
    );
}

#[test]
fn line_endings_and_byte_order_mark() {
    let lf = "// c\r\n/* a\r\n b */\r\ninstance a {\r\n  m: \"\"\"\r\n    x\r\n    \"\"\"\r\n}\r\n";
    let out = fmt(&format!("\u{FEFF}{lf}"));
    assert_eq!(out, "// c\n/* a\n b */\ninstance a {\n  m: \"\"\"\n    x\n    \"\"\"\n}\n");
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("  \n\n"), "");
    assert_eq!(fmt("// only\n\n\n/* this */"), "// only\n\n/* this */\n");
}

#[test]
fn a_file_that_does_not_parse_is_not_formatted() {
    let errors = format("instance a { x: }").expect_err("a syntax error");
    assert!(errors.iter().all(|e| e.starts_with("E001")), "{errors:?}");
    assert!(format("instance a { s: \"\\q\" }").is_err(), "a bad escape is a syntax error too");
}

#[test]
fn a_doc_comment_before_a_comma_documents_the_next_field() {
    let out = fmt("instance a { x: 1\n  /// doc\n  , y: 2 }");
    assert_eq!(out, "instance a {\n  x: 1\n  /// doc\n  y: 2\n}\n");
}

#[test]
fn a_map_set_with_a_colon_is_written_as_a_block() {
    assert_eq!(
        fmt("instance a { m: { k: 1 } e: {} r := { k: 2 } }"),
        "instance a {\n  m {\n    k: 1\n  }\n  e {}\n  r := {\n    k: 2\n  }\n}\n"
    );
}

#[test]
fn expressions_get_one_space_around_operators_and_only_the_parentheses_they_need() {
    snapshot(
        "expressions",
        r#"instance a {
  sum: (1+2)*3   diff: a-b - (c - d)   left: (a - b) - c
  neg: -(a+1)  nn: -(-1)  not: !(x==y) && ! z   cmp: (!x) == y
  pick: (if z then 1 else 2)+1   tail: 1 + (if z then 1 else 2)
  idx: (by)[0]  mem: (by).x  lit: ([1,2])[0]  chain: keys( m )[0]
  list: [ 1+1,  2, f(x) ]   pair: [1 -1]
  comp: [for x,i in xs if x>1 : x*i]
  map: {for k , v in m : "${k}_x" : v}
  kept: a + // why
    1
}"#,
    );
}

#[test]
fn constraints_and_generators_are_laid_out() {
    snapshot(
        "constraints_and_generators",
        r#"schema Instance { port:int( 1024 .. 65535 )  unique  n: int(>=1)=1  tag: string(/a\/b [c]/)? admins:[string](1..)
unique: bool }
for who , i in ["a","b"] { instance "dev-${who}" inherits base { port: 8000+i }
  for r in [1] { overlay "o-${who}-${r}" on "dev-${who}" {} } }"#,
    );
}
