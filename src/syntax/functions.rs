//! The built-in functions (spec §5): their names, signatures and what they
//! return. They are part of the language's surface, like the keywords, so
//! every later stage (the body checks, evaluation, the formatter, the
//! language server's completion and hover) reads this one table.

/// What a function returns, as far as it is known before evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    /// A string.
    Str,
    /// An int.
    Int,
    /// An int or a float.
    Number,
    /// A bool.
    Bool,
    /// A list.
    List,
    /// Whatever its arguments hold (`min`, `max`).
    Element,
}

/// One built-in function.
#[derive(Debug)]
pub struct Function {
    /// Its name.
    pub name: &'static str,
    /// The signature as the docs and the help of E027 print it.
    pub signature: &'static str,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments (`None`: any number).
    pub max_args: Option<usize>,
    /// What it returns.
    pub returns: Returns,
    /// One line saying what it does.
    pub doc: &'static str,
}

const fn f(
    name: &'static str,
    signature: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    returns: Returns,
    doc: &'static str,
) -> Function {
    Function { name, signature, min_args, max_args, returns, doc }
}

/// Every built-in function, in the order the spec lists them.
pub const FUNCTIONS: &[Function] = &[
    f(
        "len",
        "len(string | list | map) -> int",
        1,
        Some(1),
        Returns::Int,
        "The number of characters, items or entries.",
    ),
    f("keys", "keys(map) -> [string]", 1, Some(1), Returns::List, "The map's keys, in manifest order."),
    f("values", "values(map) -> list", 1, Some(1), Returns::List, "The map's values, in manifest order."),
    f(
        "contains",
        "contains(list | string | map, value) -> bool",
        2,
        Some(2),
        Returns::Bool,
        "Whether the list holds the value, the string the substring, or the map the key.",
    ),
    f("lower", "lower(string) -> string", 1, Some(1), Returns::Str, "The string in lower case."),
    f("upper", "upper(string) -> string", 1, Some(1), Returns::Str, "The string in upper case."),
    f(
        "trim",
        "trim(string) -> string",
        1,
        Some(1),
        Returns::Str,
        "The string without leading and trailing whitespace.",
    ),
    f(
        "replace",
        "replace(string, from: string, to: string) -> string",
        3,
        Some(3),
        Returns::Str,
        "Every occurrence of `from` replaced by `to`.",
    ),
    f(
        "split",
        "split(string, separator: string) -> [string]",
        2,
        Some(2),
        Returns::List,
        "The parts between separators.",
    ),
    f(
        "join",
        "join(list, separator: string) -> string",
        2,
        Some(2),
        Returns::Str,
        "The items (strings, numbers, bools) joined with the separator.",
    ),
    f(
        "starts_with",
        "starts_with(string, prefix: string) -> bool",
        2,
        Some(2),
        Returns::Bool,
        "Whether the string starts with the prefix.",
    ),
    f(
        "ends_with",
        "ends_with(string, suffix: string) -> bool",
        2,
        Some(2),
        Returns::Bool,
        "Whether the string ends with the suffix.",
    ),
    f(
        "min",
        "min(list) or min(a, b, ...) -> number | string",
        1,
        None,
        Returns::Element,
        "The smallest of the numbers or strings.",
    ),
    f(
        "max",
        "max(list) or max(a, b, ...) -> number | string",
        1,
        None,
        Returns::Element,
        "The largest of the numbers or strings.",
    ),
    f("sum", "sum([number]) -> number", 1, Some(1), Returns::Number, "The sum of the numbers (0 for an empty list)."),
    f(
        "range",
        "range(end: int) or range(start: int, end: int) -> [int]",
        1,
        Some(2),
        Returns::List,
        "The ints from `start` (default 0) up to, not including, `end`.",
    ),
    f(
        "string",
        "string(value) -> string",
        1,
        Some(1),
        Returns::Str,
        "The value as text: strings unchanged, numbers and bools as interpolation prints them, the rest as JSON.",
    ),
    f(
        "int",
        "int(string | number) -> int",
        1,
        Some(1),
        Returns::Int,
        "The integer written in the string, or the number without its fraction.",
    ),
    f("sort", "sort(list) -> list", 1, Some(1), Returns::List, "The numbers or strings in ascending order."),
    f("unique", "unique(list) -> list", 1, Some(1), Returns::List, "The items without repeats, first occurrence kept."),
];

/// The function of that name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

impl Function {
    /// Whether `n` arguments are accepted.
    pub fn accepts(&self, n: usize) -> bool {
        n >= self.min_args && self.max_args.is_none_or(|max| n <= max)
    }
}
