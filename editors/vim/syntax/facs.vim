" Vim syntax file
" Language:    facs (.facs configuration files)
" Maintainer:  the facs authors
"
" Follows the spec's lexical structure (§3-§5, §7). Names are
" [A-Za-z_][A-Za-z0-9_-]*, so word boundaries are explicit look-arounds
" ([A-Za-z0-9_.-]\@1<! before, [A-Za-z0-9_-]\@! after) rather than \< and \>,
" which would stop at `-` and accept `a.module` as the keyword `module`.
"
" Structure: each declaration is a region from its keyword to its closing
" brace, so the body gets the right contents: fields for project and module,
" fields plus `target`/`module` items for instances and overlays, field
" declarations and types for schemas. A key is a path followed by `:`, `:=`,
" `+=` or `{` on the same line; any other name in value position is a
" reference. Tests: editors/tests/vim_syntax_test.sh.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
" Multi-line strings and nested braces: always parse from the top.
syn sync fromstart

" ---------------------------------------------------------------- comments
syn keyword facsTodo contained TODO FIXME XXX NOTE
syn match   facsComment    "//.*$" contains=facsTodo,@Spell
" `///` but not `////`; defined after facsComment so it wins at the same column.
syn match   facsDocComment "///\%(/\)\@!.*$" contains=facsTodo,@Spell
syn region  facsComment    start="/\*" end="\*/" contains=facsTodo,@Spell
syn cluster facsComments contains=facsComment,facsDocComment

" ---------------------------------------------------------------- strings
syn match  facsEscapeError "\\.\=" contained
syn match  facsEscape      +\\\%(["\\ntr$]\|u{\x\{1,6}}\)+ contained
syn region facsInterpolation matchgroup=facsInterpolationDelim start="\${" end="}" end=+"\@=+ end="$" contained contains=facsReference
syn region facsString   start=+"+ end=+"+ end=+$+ contained contains=facsEscape,facsEscapeError,facsInterpolation
" Defined after facsString so that `"""` opens a multi-line string.
syn region facsMLString start=+"""+ end=+"""+ contained contains=facsEscape,facsEscapeError,facsInterpolation

" ---------------------------------------------------------------- values
" A bare path in value position; true, false and null (defined later) win.
syn match facsReference +[A-Za-z0-9_.-]\@1<![A-Za-z_][A-Za-z0-9_-]*\%(\.\%([A-Za-z_][A-Za-z0-9_-]*\|"\%([^"\\]\|\\.\)*"\)\)*+ contained
" Anything else that starts like a number (`1__0`, `1.`); the two below win.
syn match facsNumberError "[A-Za-z0-9_.-]\@1<!-\=\d[A-Za-z0-9_.+-]*" contained
syn match facsNumber  "[A-Za-z0-9_.-]\@1<!-\=\d\%(_\=\d\)*[A-Za-z0-9_.-]\@!" contained
syn match facsFloat   "[A-Za-z0-9_.-]\@1<!-\=\d\%(_\=\d\)*\%(\.\d\%(_\=\d\)*\%([eE][+-]\=\d\%(_\=\d\)*\)\=\|[eE][+-]\=\d\%(_\=\d\)*\)[A-Za-z0-9_.-]\@!" contained
syn match facsBoolean "[A-Za-z0-9_.-]\@1<!\%(true\|false\)[A-Za-z0-9_-]\@!" contained
syn match facsNull    "[A-Za-z0-9_.-]\@1<!null[A-Za-z0-9_-]\@!" contained
syn region facsList  matchgroup=facsDelimiter start="\[" end="\]" contained contains=@facsValues fold
syn region facsBlock matchgroup=facsDelimiter start="{" end="}" contained contains=@facsBlockItems fold
syn cluster facsValues contains=@facsComments,facsString,facsMLString,facsReference,facsNumberError,facsNumber,facsFloat,facsBoolean,facsNull,facsList,facsBlock,facsExprKeyword,facsCall,facsFunction,facsExprOperator,facsParens,facsMapComp

" ---------------------------------------------------------------- fields
syn match facsOperator ":=\|+=\|:" contained
syn match facsKeyDot   "\." contained
" A field named like a keyword must be quoted (spec §3).
syn match facsKeywordKey "[A-Za-z0-9_-]\@1<!\%(project\|schema\|module\|abstract\|instance\|inherits\|overlay\|on\|target\|unset\|true\|false\|null\)[A-Za-z0-9_-]\@!" contained
syn match facsQuotedKey +"\%([^"\\]\|\\.\)*"+ contained contains=facsEscape,facsEscapeError
" A key path: `a`, `a.b.c`, `"quoted".b`, followed by an operator or a block.
syn match facsKey #[A-Za-z0-9_.-]\@1<!\%([A-Za-z_][A-Za-z0-9_-]*\|"\%([^"\\]\|\\.\)*"\)\%(\s*\.\s*\%([A-Za-z_][A-Za-z0-9_-]*\|"\%([^"\\]\|\\.\)*"\)\)*\ze\s*\%(:=\|+=\|:\|{\)# contained contains=facsKeyDot,facsQuotedKey,facsKeywordKey
syn match facsUnsetPath +\%([A-Za-z_][A-Za-z0-9_-]*\|"\%([^"\\]\|\\.\)*"\)\%(\s*\.\s*\%([A-Za-z_][A-Za-z0-9_-]*\|"\%([^"\\]\|\\.\)*"\)\)*+ contained contains=facsKeyDot,facsQuotedKey,facsKeywordKey
syn match facsKeyword "[A-Za-z0-9_.-]\@1<!unset[A-Za-z0-9_.-]\@!" contained nextgroup=facsUnsetPath skipwhite
syn cluster facsBlockItems contains=@facsValues,facsOperator,facsKey,facsKeyword

" ---------------------------------------------------------------- schemas
" Types; a name followed by `:` or `?:` is a field (facsKey, defined later).
syn match  facsTypeName "[A-Za-z0-9_.-]\@1<![A-Za-z_][A-Za-z0-9_-]*" contained
syn match  facsType     "[A-Za-z0-9_.-]\@1<!\%(string\|int\|float\|bool\|secret\|any\)[A-Za-z0-9_-]\@!" contained
syn match  facsOperator "?\||\|\.\.\." contained
" `= default`: the value after it is highlighted as a value, not as a type.
syn match  facsOperator "=" contained nextgroup=@facsValues skipwhite skipnl skipempty
syn region facsListType  matchgroup=facsDelimiter start="\[" end="\]" contained contains=@facsTypes
" `{T}` (map) or `{ a: T, b?: U }` (inline record).
syn region facsBraceType matchgroup=facsDelimiter start="{" end="}" contained contains=@facsSchemaItems
syn match  facsKey +[A-Za-z0-9_.-]\@1<!\%([A-Za-z_][A-Za-z0-9_-]*\|"\%([^"\\]\|\\.\)*"\)\ze\s*?\=\s*:+ contained contains=facsQuotedKey,facsKeywordKey
syn cluster facsTypes contains=@facsComments,facsTypeName,facsType,facsOperator,facsListType,facsBraceType,facsString,facsConstraint,facsUnique
syn cluster facsSchemaItems contains=@facsTypes,facsKey
syn region facsSchemaBody matchgroup=facsDelimiter start="{" end="}" contained contains=@facsSchemaItems fold

" ---------------------------------------------------------------- declarations
syn match  facsDeclName  "[A-Za-z_][A-Za-z0-9_-]*" contained
" A quoted (template) name: `instance "dev-${who}"` in a generator.
syn region facsQuotedDeclName start=+"+ end=+"+ end=+$+ contained contains=facsEscape,facsInterpolation
syn match  facsInherited "[A-Za-z_][A-Za-z0-9_-]*" contained
" After facsDeclName, so that `inherits` and `on` are keywords, not names.
syn region facsInherits matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!inherits[A-Za-z0-9_-]\@!" end="{\@=" contained contains=facsInherited,facsQuotedDeclName,@facsComments
syn region facsOn       matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!on[A-Za-z0-9_-]\@!" end="{\@=" contained contains=facsInherited,facsQuotedDeclName,@facsComments

" Instance and overlay bodies also hold `target NAME { }` and `module NAME { }`.
syn region facsTargetItem matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!target[A-Za-z0-9_.-]\@!" end="}\@1<=" end="}\@=" contained contains=facsDeclName,facsBlock,@facsComments
" The project body also holds `component NAME { }`. Contextual: `component` is
" a keyword only before a name and `{`; `component: 3` stays a field.
syn region facsComponentItem matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!component\ze\s\+[A-Za-z_][A-Za-z0-9_-]*\s*{" end="}\@1<=" end="}\@=" contained contains=facsDeclName,facsBlock,@facsComments
syn region facsProjectBody matchgroup=facsDelimiter start="{" end="}" contained contains=facsComponentItem,@facsBlockItems fold
syn region facsInstanceBody matchgroup=facsDelimiter start="{" end="}" contained contains=facsTargetItem,facsModuleDecl,@facsBlockItems fold

" Top level. A declaration ends after its body, or before the next declaration
" keyword at the start of a line when its body is missing.
syn match  facsKeyword "[A-Za-z0-9_.-]\@1<!abstract[A-Za-z0-9_-]\@!"
syn region facsProjectDecl  matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!project[A-Za-z0-9_.-]\@!"  end="}\@1<=" end="^\ze\s*\%(project\|schema\|module\|abstract\|instance\|overlay\)[A-Za-z0-9_-]\@!" contains=facsDeclName,facsProjectBody,@facsComments
syn region facsSchemaDecl   matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!schema[A-Za-z0-9_.-]\@!"   end="}\@1<=" end="^\ze\s*\%(project\|schema\|module\|abstract\|instance\|overlay\)[A-Za-z0-9_-]\@!" contains=facsDeclName,facsSchemaBody,@facsComments
" Also the module overlay inside instance bodies; `module.x` is a reference.
syn region facsModuleDecl   matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!module[A-Za-z0-9_.-]\@!"   end="}\@1<=" end="}\@=" end="^\ze\s*\%(project\|schema\|module\|abstract\|instance\|overlay\)[A-Za-z0-9_-]\@!" contains=facsDeclName,facsBlock,@facsComments
syn region facsInstanceDecl matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!instance[A-Za-z0-9_.-]\@!" end="}\@1<=" end="^\ze\s*\%(project\|schema\|module\|abstract\|instance\|overlay\)[A-Za-z0-9_-]\@!" contains=facsDeclName,facsQuotedDeclName,facsInherits,facsInstanceBody,@facsComments
syn region facsOverlayDecl  matchgroup=facsKeyword start="[A-Za-z0-9_.-]\@1<!overlay[A-Za-z0-9_.-]\@!"  end="}\@1<=" end="^\ze\s*\%(project\|schema\|module\|abstract\|instance\|overlay\)[A-Za-z0-9_-]\@!" contains=facsDeclName,facsQuotedDeclName,facsOn,facsInstanceBody,@facsComments

" Expressions (spec §5): contextual words, calls, operators. Defined last so
" that they win where `facsReference` or the schema `=` also match.
syn match facsExprKeyword "[A-Za-z0-9_.-]\@1<!\%(if\|then\|else\|for\|in\)[A-Za-z0-9_-]\@!" contained
syn match facsCall "[A-Za-z0-9_.-]\@1<![A-Za-z_][A-Za-z0-9_-]*\ze(" contained
syn match facsFunction "[A-Za-z0-9_.-]\@1<!\%(len\|keys\|values\|contains\|lower\|upper\|trim\|replace\|split\|join\|starts_with\|ends_with\|min\|max\|sum\|range\|string\|int\|sort\|unique\)\ze(" contained
" `-` is subtraction only with space around it: `a-b` is a name, `-1` a number.
syn match facsExprOperator "&&\|||\|==\|!=\|<=\|>=\|[<>*%]\|!=\@!\|/[/*]\@!\|+=\@!\|\s\zs-\ze\s" contained
syn region facsParens matchgroup=facsDelimiter start="(" end=")" contained contains=@facsValues
" `{ for k, v in M: key: value }` holds values, not fields.
syn region facsMapComp matchgroup=facsDelimiter start="{\ze\s*for[A-Za-z0-9_-]\@!" end="}" contained contains=@facsValues,facsCompColon
syn match facsCompColon ":" contained

" Generators and constraints (spec §4, §7).
syn match  facsGenHead "[A-Za-z0-9_.-]\@1<!for\s\+[A-Za-z_][A-Za-z0-9_-]*\%(\s*,\s*[A-Za-z_][A-Za-z0-9_-]*\)\=\s\+in[A-Za-z0-9_-]\@!" contains=facsGenKeyword
syn match  facsGenKeyword "[A-Za-z0-9_.-]\@1<!\%(for\|in\)[A-Za-z0-9_-]\@!" contained
syn region facsGenList matchgroup=facsDelimiter start="\[" end="\]" contains=@facsValues
syn region facsConstraint matchgroup=facsDelimiter start="[A-Za-z0-9_\]]\@1<=(\ze\s*\%(-\=\d\|\.\.\|>=\|<=\|/\|external\)" end=")" contained contains=facsRegex,facsRangeOp,facsBound
syn match  facsRegex "/\%([^/\\]\|\\.\)*/" contained
syn match  facsRangeOp "\.\.\|>=\|<=" contained
syn match  facsBound "-\=\d\%(_\=\d\)*\%(\.\d\%(_\=\d\)*\)\=" contained
syn match  facsUnique "[A-Za-z0-9_.-]\@1<!unique[A-Za-z0-9_-]\@!\%(\s*?\=:\)\@!" contained

" ---------------------------------------------------------------- colours
hi def link facsComment            Comment
hi def link facsDocComment         SpecialComment
hi def link facsTodo               Todo
hi def link facsKeyword            Keyword
hi def link facsDeclName           Function
hi def link facsInherited          Function
hi def link facsKey                Identifier
hi def link facsQuotedKey          facsKey
hi def link facsUnsetPath          facsKey
hi def link facsKeyDot             Delimiter
hi def link facsOperator           Operator
hi def link facsExprOperator       Operator
hi def link facsExprKeyword        Conditional
hi def link facsFunction           Function
hi def link facsCall               Function
hi def link facsCompColon          Delimiter
hi def link facsGenKeyword         Repeat
hi def link facsQuotedDeclName     Function
hi def link facsRegex              String
hi def link facsRangeOp            Operator
hi def link facsBound              Number
hi def link facsUnique             StorageClass
hi def link facsDelimiter          Delimiter
hi def link facsString             String
hi def link facsMLString           String
hi def link facsEscape             SpecialChar
hi def link facsEscapeError        Error
hi def link facsKeywordKey         Error
hi def link facsNumberError        Error
hi def link facsInterpolation      Special
hi def link facsInterpolationDelim Special
hi def link facsNumber             Number
hi def link facsFloat              Float
hi def link facsBoolean            Boolean
hi def link facsNull               Constant
hi def link facsType               Type
hi def link facsTypeName           Type
" References are substituted at build time (late binding), hence PreProc.
hi def link facsReference          PreProc

let b:current_syntax = 'facs'

let &cpo = s:cpo_save
unlet s:cpo_save
