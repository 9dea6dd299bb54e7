//! Property test of expressions (spec §5): random expressions over ints,
//! bools, strings and late-bound fields, printed as `.facs` text with only
//! the parentheses precedence needs (plus random extra ones), compiled by
//! the real pipeline, and compared with a small reference evaluator written
//! here from the spec, independently of `eval::operators`.

use crate::build::compile_memory;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum E {
    Int(i64),
    Bool(bool),
    Str(&'static str),
    /// `f0` or `f1`: fields set in the parent and overridden by the child.
    Field(usize),
    Bin(&'static str, Box<E>, Box<E>),
    Not(Box<E>),
    Neg(Box<E>),
    If(Box<E>, Box<E>, Box<E>),
    Call(&'static str, Vec<E>),
    /// `[for x in [items]: x OP k]` then `sum(...)`.
    SumComp(Vec<i64>, &'static str, i64),
    Paren(Box<E>),
}

#[derive(Clone, Debug, PartialEq)]
enum V {
    Int(i64),
    Bool(bool),
    Str(String),
}

/// The fields' final values (the child's, since binding is late).
const FIELDS: [i64; 2] = [7, -3];

fn prec(op: &str) -> u8 {
    match op {
        "||" => 1,
        "&&" => 2,
        "==" | "!=" | "<" | "<=" | ">" | ">=" => 4,
        "+" | "-" => 5,
        _ => 6,
    }
}

fn print(e: &E) -> String {
    match e {
        E::Int(n) => n.to_string(),
        E::Bool(b) => b.to_string(),
        E::Str(s) => format!("\"{s}\""),
        E::Field(i) => format!("f{i}"),
        E::Paren(inner) => format!("({})", print(inner)),
        E::Bin(op, a, b) => {
            let side = |x: &E, right: bool| {
                let t = print(x);
                let wrap = match x {
                    E::Bin(o, ..) => prec(o) < prec(op) || (right && prec(o) == prec(op)),
                    // `!` takes everything binding tighter than `&&` after it.
                    E::Not(_) => prec(op) > 3,
                    E::If(..) => true,
                    _ => false,
                };
                if wrap {
                    format!("({t})")
                } else {
                    t
                }
            };
            format!("{} {op} {}", side(a, false), side(b, true))
        }
        E::Not(x) => match **x {
            E::Bin(o, ..) if prec(o) < 3 => format!("!({})", print(x)),
            E::If(..) => format!("!({})", print(x)),
            _ => format!("!{}", print(x)),
        },
        // `-f0` binds tightest; `-5` would be a literal, so numbers get parentheses.
        E::Neg(x) => match **x {
            E::Field(_) | E::Call(..) => format!("-{}", print(x)),
            _ => format!("-({})", print(x)),
        },
        E::If(c, a, b) => format!("if {} then {} else {}", print(c), print(a), print(b)),
        E::Call(f, args) => format!("{f}({})", args.iter().map(print).collect::<Vec<_>>().join(", ")),
        E::SumComp(items, op, k) => {
            format!("sum([for x in [{}]: x {op} {k}])", items.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
        }
    }
}

fn arith(op: &str, x: i64, y: i64) -> Option<i64> {
    match op {
        "+" => x.checked_add(y),
        "-" => x.checked_sub(y),
        "*" => x.checked_mul(y),
        "/" => x.checked_div(y),
        _ => x.checked_rem(y),
    }
}

/// The reference: `None` where the spec says there is an error.
fn eval(e: &E) -> Option<V> {
    Some(match e {
        E::Int(n) => V::Int(*n),
        E::Bool(b) => V::Bool(*b),
        E::Str(s) => V::Str((*s).to_string()),
        E::Field(i) => V::Int(FIELDS[*i]),
        E::Paren(x) => eval(x)?,
        E::Not(x) => match eval(x)? {
            V::Bool(b) => V::Bool(!b),
            _ => return None,
        },
        E::Neg(x) => match eval(x)? {
            V::Int(n) => V::Int(n.checked_neg()?),
            _ => return None,
        },
        E::If(c, a, b) => match eval(c)? {
            V::Bool(true) => eval(a)?,
            V::Bool(false) => eval(b)?,
            _ => return None,
        },
        E::Bin(op @ ("&&" | "||"), a, b) => match eval(a)? {
            V::Bool(l) if (*op == "&&") != l => V::Bool(l),
            V::Bool(_) => match eval(b)? {
                V::Bool(r) => V::Bool(r),
                _ => return None,
            },
            _ => return None,
        },
        E::Bin(op, a, b) => {
            let (l, r) = (eval(a), eval(b));
            let (l, r) = (l?, r?);
            match (*op, l, r) {
                ("==", l, r) => V::Bool(l == r),
                ("!=", l, r) => V::Bool(l != r),
                ("<" | "<=" | ">" | ">=", V::Int(x), V::Int(y)) => V::Bool(cmp(op, x.cmp(&y))),
                ("<" | "<=" | ">" | ">=", V::Str(x), V::Str(y)) => V::Bool(cmp(op, x.cmp(&y))),
                ("+", V::Str(x), V::Str(y)) => V::Str(x + &y),
                ("+" | "-" | "*" | "/" | "%", V::Int(x), V::Int(y)) => V::Int(arith(op, x, y)?),
                _ => return None,
            }
        }
        E::Call(f, args) => {
            let vals: Option<Vec<V>> = args.iter().map(eval).collect();
            let vals = vals?;
            match (*f, vals.as_slice()) {
                ("len", [V::Str(s)]) => V::Int(s.chars().count() as i64),
                ("upper", [V::Str(s)]) => V::Str(s.to_uppercase()),
                ("string", [V::Int(n)]) => V::Str(n.to_string()),
                ("string", [V::Bool(b)]) => V::Str(b.to_string()),
                ("string", [V::Str(s)]) => V::Str(s.clone()),
                ("max", [V::Int(a), V::Int(b)]) => V::Int(*a.max(b)),
                ("min", [V::Int(a), V::Int(b)]) => V::Int(*a.min(b)),
                ("max", [V::Str(a), V::Str(b)]) => V::Str(a.max(b).clone()),
                ("min", [V::Str(a), V::Str(b)]) => V::Str(a.min(b).clone()),
                _ => return None,
            }
        }
        E::SumComp(items, op, k) => {
            let mut total: i64 = 0;
            for x in items {
                total = total.checked_add(arith(op, *x, *k)?)?;
            }
            V::Int(total)
        }
    })
}

fn cmp(op: &str, o: std::cmp::Ordering) -> bool {
    match op {
        "<" => o.is_lt(),
        "<=" => o.is_le(),
        ">" => o.is_gt(),
        _ => o.is_ge(),
    }
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        (-20i64..20).prop_map(E::Int),
        Just(E::Int(i64::MAX)),
        any::<bool>().prop_map(E::Bool),
        prop::sample::select(vec!["", "a", "ab", "b"]).prop_map(E::Str),
        (0usize..2).prop_map(E::Field),
        (prop::collection::vec(-5i64..5, 0..4), prop::sample::select(vec!["+", "*", "/"]), -2i64..3)
            .prop_map(|(items, op, k)| E::SumComp(items, op, k)),
    ];
    leaf.prop_recursive(5, 40, 3, |inner| {
        let ops = vec!["||", "&&", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"];
        prop_oneof![
            4 => (prop::sample::select(ops), inner.clone(), inner.clone()).prop_map(|(o, a, b)| E::Bin(o, Box::new(a), Box::new(b))),
            1 => inner.clone().prop_map(|x| E::Not(Box::new(x))),
            1 => inner.clone().prop_map(|x| E::Neg(Box::new(x))),
            1 => inner.clone().prop_map(|x| E::Paren(Box::new(x))),
            1 => (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| E::If(Box::new(c), Box::new(a), Box::new(b))),
            1 => (prop::sample::select(vec!["len", "upper", "string"]), inner.clone()).prop_map(|(f, a)| E::Call(f, vec![a])),
            1 => (prop::sample::select(vec!["max", "min"]), inner.clone(), inner).prop_map(|(f, a, b)| E::Call(f, vec![a, b])),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn random_expressions_evaluate_as_the_reference_says(e in expr()) {
        let text = format!(
            "project p {{}}\nabstract instance base {{ f0: 1 f1: 2 out: {} }}\ninstance a inherits base {{ f0: {} f1: {} }}\n",
            print(&e), FIELDS[0], FIELDS[1]
        );
        let (manifests, diagnostics) = compile_memory(&[("main.facs", &text)]);
        let codes: Vec<&str> = diagnostics.iter().map(|(c, _, _)| c.as_str()).collect();
        prop_assert!(!codes.iter().any(|c| *c == "E001" || *c == "E000"), "{codes:?} for\n{text}");
        match eval(&e) {
            Some(expected) => {
                prop_assert!(codes.is_empty(), "unexpected {diagnostics:?} for\n{text}");
                let out = manifests.iter().find(|(n, _)| n == "a").map(|(_, m)| m["instance"]["out"].clone());
                let expected = match expected {
                    V::Int(n) => serde_json::json!(n),
                    V::Bool(b) => serde_json::json!(b),
                    V::Str(s) => serde_json::json!(s),
                };
                prop_assert_eq!(out, Some(expected), "for\n{}", text);
            }
            None => {
                prop_assert!(
                    codes.iter().any(|c| ["E007", "E026", "E027"].contains(c)),
                    "expected a type or arithmetic error, got {:?} for\n{}", diagnostics, text
                );
            }
        }
    }
}
