; `${path}` inside a string is facs itself: a dotted path of names.
((interpolation) @injection.content
  (#set! injection.language "facs")
  (#set! injection.include-children))

; Text in a multi-line string that starts with `#!` names its interpreter.
((multiline_string
  (string_content) @injection.content)
  (#match? @injection.content "^#!\\s*/\\S+/(ba|z)?sh")
  (#set! injection.language "bash"))
