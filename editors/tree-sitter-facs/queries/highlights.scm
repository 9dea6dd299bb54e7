; Highlighting for .facs. Later patterns win in most editors' tree-sitter
; integrations only when they are more specific, so keywords come last.

(comment) @comment
(doc_comment) @comment.documentation

(string) @string
(multiline_string) @string
(escape_sequence) @string.escape
(regex) @string.regexp

(interpolation
  "${" @punctuation.special
  "}" @punctuation.special) @embedded

(integer) @number
(float) @number.float
(bound) @number
(boolean) @boolean
(null) @constant.builtin

(call function: (identifier) @function.call)

(type_name) @type
(record_type) @type
(constraint "external" @keyword.modifier)

(project_declaration name: (identifier) @module)
(schema_declaration name: (identifier) @type.definition)
(module_declaration name: (identifier) @module)
(module name: (identifier) @module)
(component name: (identifier) @module)
(target name: (identifier) @label)
(instance_declaration name: (identifier) @constant)
(overlay_declaration name: (identifier) @constant)
(overlay_declaration base: (identifier) @constant)
(inherits parent: (identifier) @constant)

(key_path (identifier) @property)
(field_declaration key: (identifier) @property)
(generator variable: (identifier) @variable)
(generator index: (identifier) @variable)
(comprehension_head variable: (identifier) @variable)
(comprehension_head index: (identifier) @variable)
(reference (identifier) @variable)
(member_expression member: (identifier) @property)
(interpolation (identifier) @variable)

[
  "project" "schema" "module" "instance" "overlay" "component" "target"
] @keyword

[
  "abstract" "inherits" "on" "unset"
] @keyword.modifier

(unique_marker) @keyword.modifier
(open_marker) @punctuation.special
(optional_marker) @punctuation.special
(nullable_marker) @punctuation.special

[ "for" "in" ] @keyword.repeat
[ "if" "then" "else" ] @keyword.conditional

[
  ":" ":=" "+=" "=" "|" ".." "||" "&&" "==" "!=" "<=" ">=" "<" ">" "+" "-" "*" "/" "%" "!"
] @operator

[ "{" "}" "[" "]" "(" ")" ] @punctuation.bracket
[ "," "." ] @punctuation.delimiter
