/**
 * Tree-sitter grammar for `.facs` (language v2). It follows the compiler's
 * grammar, `grammar/facs.pest`, rule for rule; the comments name the pest
 * rule each one mirrors. `tests/it/tree_sitter.rs` checks that this grammar
 * accepts exactly the files the compiler's parser accepts.
 */

const PREC = { if: -1, or: 1, and: 2, not: 3, compare: 4, add: 5, mul: 6, neg: 7, postfix: 8 };

const sep = (rule) => repeat(seq(rule, optional(',')));
const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)));

const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/;
const DIGITS = /[0-9](_?[0-9])*/;

module.exports = grammar({
  name: 'facs',

  word: $ => $.identifier,

  extras: $ => [/[ \t\r\n\uFEFF]/, $.comment, $.doc_comment],

  // pest `keyword`: never a declaration name or an unquoted key.
  reserved: {
    global: _ => [
      'project', 'schema', 'module', 'abstract', 'instance', 'inherits',
      'overlay', 'on', 'target', 'unset', 'true', 'false', 'null',
    ],
    // pest `ident`: reference roots, members, function and type names.
    ident: _ => [],
  },

  conflicts: $ => [
    // `port: int unique` or a next field named `unique` (pest `unique_mark`).
    [$.field_declaration],
    // `{ name?` opens a record type (an optional field) or a map type of a
    // nullable type; the next token decides.
    [$.field_declaration, $.type_name],
  ],

  rules: {
    source_file: $ => sep($._declaration),

    _declaration: $ => choice(
      $.project_declaration,
      $.schema_declaration,
      $.module_declaration,
      $.instance_declaration,
      $.overlay_declaration,
      $.generator,
    ),

    generator: $ => seq(
      'for',
      field('variable', $.identifier),
      optional(seq(',', field('index', $.identifier))),
      'in',
      field('list', $._expression),
      '{', sep($._declaration), '}',
    ),

    _decl_name: $ => choice($.identifier, $.string),

    project_declaration: $ => seq('project', field('name', $.identifier), field('body', $.project_block)),
    project_block: $ => seq('{', sep(choice($.component, $.unset, $.field)), '}'),
    // `component NAME { ... }`: `component: 3` stays a field (see `_key`).
    component: $ => seq('component', field('name', $.identifier), field('body', $.block)),

    schema_declaration: $ => seq('schema', field('name', $.identifier), field('body', $.schema_block)),
    module_declaration: $ => seq('module', field('name', $.identifier), field('body', $.block)),
    instance_declaration: $ => seq(
      optional('abstract'),
      'instance',
      field('name', $._decl_name),
      optional($.inherits),
      field('body', $.body),
    ),
    inherits: $ => seq('inherits', commaSep1(field('parent', $._decl_name))),
    overlay_declaration: $ => seq(
      'overlay', field('name', $._decl_name), 'on', field('base', $._decl_name), field('body', $.body),
    ),

    body: $ => seq('{', sep(choice($.target, $.module, $.unset, $.field)), '}'),
    target: $ => seq('target', field('name', $.identifier), field('body', $.block)),
    module: $ => seq('module', field('name', $.identifier), field('body', $.block)),

    block: $ => seq('{', sep(choice($.unset, $.field)), '}'),
    unset: $ => seq('unset', field('key', $.key_path)),

    field: $ => seq(
      field('key', $.key_path),
      choice(
        seq(field('operator', choice(':', ':=', '+=')), field('value', $._expression)),
        field('value', $.block),
      ),
    ),
    key_path: $ => seq($._key, repeat(seq('.', $._key))),
    // Contextual words that start something where a key may also start are
    // keys again here: `component: 3`, `{ for: 1 }`, `unique: int`.
    _key: $ => choice(
      $.identifier,
      alias($._plain_string, $.string),
      alias(choice('component', 'for', 'unique'), $.identifier),
    ),

    // ------------------------------------------------------------ values
    _expression: $ => choice($.binary_expression, $.unary_expression, $._operand),

    _operand: $ => choice(
      $.if_expression,
      $.multiline_string,
      $.string,
      $.integer,
      $.float,
      $.boolean,
      $.null,
      $.list_comprehension,
      $.list,
      $.map_comprehension,
      $.block,
      $._postfix_base,
    ),

    // Indexing, calls and members touch what they apply to (pest `paren`,
    // `call`, `reference`): `[a [0]]` is two items.
    _postfix_base: $ => choice(
      $.parenthesized_expression,
      $.call,
      $.reference,
      $.index_expression,
      $.member_expression,
    ),

    if_expression: $ => prec.right(PREC.if, seq(
      'if', field('condition', $._expression),
      'then', field('consequence', $._expression),
      'else', field('alternative', $._expression),
    )),

    unary_expression: $ => choice(
      prec(PREC.not, seq(field('operator', '!'), field('operand', $._expression))),
      prec(PREC.neg, seq(field('operator', '-'), field('operand', $._expression))),
    ),

    binary_expression: $ => {
      const table = [
        [PREC.or, '||'],
        [PREC.and, '&&'],
        [PREC.compare, choice('==', '!=', '<=', '>=', '<', '>')],
        [PREC.add, choice('+', '-')],
        [PREC.mul, choice('*', '/', '%')],
      ];
      return choice(...table.map(([p, op]) => prec.left(p, seq(
        field('left', $._expression), field('operator', op), field('right', $._expression),
      ))));
    },

    parenthesized_expression: $ => seq('(', $._expression, ')'),

    call: $ => seq(
      field('function', reserved('ident', $.identifier)),
      field('arguments', $.arguments),
    ),
    arguments: $ => seq(
      token.immediate('('),
      optional(seq(commaSep1($._expression), optional(','))),
      ')',
    ),

    reference: $ => prec.right(seq(
      reserved('ident', $.identifier),
      repeat(seq(token.immediate('.'), $._segment)),
    )),
    _segment: $ => choice(
      alias(token.immediate(IDENT), $.identifier),
      alias($._immediate_plain_string, $.string),
    ),
    index_expression: $ => prec(PREC.postfix, seq(
      field('object', $._postfix_base), token.immediate('['), field('index', $._expression), ']',
    )),
    member_expression: $ => prec(PREC.postfix, seq(
      field('object', choice($.parenthesized_expression, $.call, $.index_expression, $.member_expression)),
      token.immediate('.'),
      field('member', $._segment),
    )),

    list: $ => seq('[', sep($._expression), ']'),
    list_comprehension: $ => seq('[', $.comprehension_head, ':', field('value', $._expression), optional(','), ']'),
    map_comprehension: $ => seq(
      '{', $.comprehension_head, ':', field('key', $._expression), ':', field('value', $._expression),
      optional(','), '}',
    ),
    comprehension_head: $ => seq(
      'for',
      field('variable', $.identifier),
      optional(seq(',', field('index', $.identifier))),
      'in',
      field('source', $._expression),
      optional(seq('if', field('filter', $._expression))),
    ),

    boolean: _ => choice('true', 'false'),
    null: _ => 'null',

    integer: _ => token(seq(optional('-'), DIGITS)),
    float: _ => token(seq(
      optional('-'), DIGITS,
      choice(seq('.', DIGITS, optional(/[eE][+-]?[0-9](_?[0-9])*/)), /[eE][+-]?[0-9](_?[0-9])*/),
    )),

    // ------------------------------------------------------------ strings
    // A one-line string: escapes and `${path}` (pest `string`, decoded by
    // `syntax::strings`). Keys, quoted path segments and string types take
    // no interpolation.
    string: $ => seq('"', repeat(choice($.string_content, $.escape_sequence, $.interpolation)), token.immediate('"')),
    _plain_string: $ => seq('"', repeat(choice($.string_content, $.escape_sequence, $._no_interpolation)), token.immediate('"')),
    _immediate_plain_string: $ => seq(
      token.immediate('"'),
      repeat(choice($.string_content, $.escape_sequence, $._no_interpolation)),
      token.immediate('"'),
    ),
    // `${` where no interpolation is allowed: without this the lexer would
    // read `$` and `{` as text. The token after it never matches, so the
    // parse fails there, as the compiler's does (E001 "interpolation in a
    // quoted key").
    _no_interpolation: $ => seq(token.immediate('${'), $._never),
    _never: _ => token(/\x00\x01never/),
    string_content: _ => choice(
      token.immediate(prec(1, /[^"\\$\n\x00-\x08\x0b-\x1f\x7f-\x9f]+/)),
      token.immediate('$'),
    ),
    escape_sequence: _ => token.immediate(/\\(["\\ntr$]|u\{[0-9a-fA-F]{1,6}\})/),
    interpolation: $ => seq(
      token.immediate('${'),
      reserved('ident', $.identifier),
      repeat(seq(token.immediate('.'), alias(token.immediate(IDENT), $.identifier))),
      '}',
    ),

    // `"""` then a line break; the text up to the closing `"""`.
    multiline_string: $ => seq(
      '"""',
      token.immediate(/[ \t]*\r?\n/),
      repeat(choice(
        alias(token.immediate(prec(1, /[^"\\$\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+/)), $.string_content),
        alias(token.immediate(/"{1,2}/), $.string_content),
        alias(token.immediate('$'), $.string_content),
        $.escape_sequence,
        $.interpolation,
      )),
      token.immediate('"""'),
    ),

    // ------------------------------------------------------------ schemas
    schema_block: $ => seq('{', sep(choice($.open_marker, $.field_declaration)), '}'),
    open_marker: _ => '...',
    field_declaration: $ => seq(
      field('key', choice(
        $.identifier,
        alias($._plain_string, $.string),
        alias(choice('component', 'for', 'unique'), $.identifier),
      )),
      optional($.optional_marker),
      ':',
      field('type', $._type),
      optional($.unique_marker),
      optional(seq('=', field('default', $._expression))),
    ),
    optional_marker: _ => '?',
    unique_marker: _ => 'unique',

    // Only string literals may be joined with `|` (checked by the lowering
    // in the compiler, by the grammar here).
    _type: $ => choice($.type, $.union_type),
    union_type: $ => seq($._enum_term, repeat1(seq('|', $._enum_term))),
    _enum_term: $ => alias($._enum_type, $.type),
    _enum_type: $ => seq(alias($._plain_string, $.string), optional($.constraint)),
    type: $ => seq(
      choice($.list_type, $.record_type, $.map_type, alias($._plain_string, $.string), $.type_name),
      optional($.constraint),
      optional($.nullable_marker),
    ),
    type_name: $ => reserved('ident', $.identifier),
    nullable_marker: _ => '?',
    list_type: $ => seq('[', $._type, ']'),
    record_type: $ => seq('{', sep(choice($.open_marker, $.field_declaration)), '}'),
    map_type: $ => seq('{', $._type, '}'),

    // `int(1024..65535)`, `int(>= 1)`, `string(/re/)`, `[T](1..)`, `secret(external)`.
    constraint: $ => seq('(', choice($.range, seq(field('operator', choice('>=', '<=')), $.bound), $.regex, 'external'), ')'),
    range: $ => choice(seq($.bound, '..', optional($.bound)), seq('..', optional($.bound))),
    bound: _ => token(seq(optional('-'), DIGITS, optional(seq('.', DIGITS)))),
    regex: _ => token(seq('/', repeat(choice(/\\./, /[^/\\\n]/)), '/')),

    identifier: _ => IDENT,

    // Comments (pest `COMMENT`): `///` starts a doc comment, `////` does not.
    doc_comment: _ => token(/\/\/\/([^\/\n][^\n]*)?/),
    comment: _ => token(choice(/\/\/([^\/\n][^\n]*)?/, /\/\/\/\/[^\n]*/, /\/\*[^*]*\*+([^/*][^*]*\*+)*\//)),
  },
});
