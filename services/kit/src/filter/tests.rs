//! Unit tests of `filter`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn cond(field: &str, op: Op, values: &[&str]) -> Condition {
    Condition {
        field: field.to_owned(),
        op,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn err(input: &str) -> String {
    match parse(input) {
        Ok(f) => panic!("{input:?} parsed as {f:?}"),
        Err(e) => e.0,
    }
}

#[test]
fn empty_and_whitespace_are_empty() {
    for input in ["", "   ", "\t\n "] {
        let f = parse(input).unwrap();
        assert!(f.is_empty(), "{input:?}");
    }
    assert!(!parse("x").unwrap().is_empty());
}

#[test]
fn comparisons_with_every_operator() {
    let f = parse("a = 1 b!=2 c<3 d <= 4 e> 5 f >=6").unwrap();
    assert_eq!(
        f.conditions,
        vec![
            cond("a", Op::Eq, &["1"]),
            cond("b", Op::Ne, &["2"]),
            cond("c", Op::Lt, &["3"]),
            cond("d", Op::Le, &["4"]),
            cond("e", Op::Gt, &["5"]),
            cond("f", Op::Ge, &["6"]),
        ]
    );
    assert!(f.text.is_empty());
}

#[test]
fn and_and_whitespace_are_both_conjunction() {
    let explicit = parse("state = ACTIVE AND parent = groups/abc").unwrap();
    let implicit = parse("  state = ACTIVE   parent = groups/abc  ").unwrap();
    assert_eq!(explicit, implicit);
    assert_eq!(
        explicit.conditions,
        vec![
            cond("state", Op::Eq, &["ACTIVE"]),
            cond("parent", Op::Eq, &["groups/abc"]),
        ]
    );
}

#[test]
fn bare_values_of_many_shapes() {
    let f = parse("d >= 2024-01-01 t < 2024-01-01T10:00:00Z n > -5 x.y_z = a.b/c-d urn = x:y:z")
        .unwrap();
    assert_eq!(
        f.conditions,
        vec![
            cond("d", Op::Ge, &["2024-01-01"]),
            cond("t", Op::Lt, &["2024-01-01T10:00:00Z"]),
            cond("n", Op::Gt, &["-5"]),
            cond("x.y_z", Op::Eq, &["a.b/c-d"]),
            cond("urn", Op::Eq, &["x:y:z"]),
        ]
    );
}

#[test]
fn quoted_values_and_escapes() {
    let f = parse(r#"name = "Ana \"Ș\" \\ x" title='it\'s' empty="""#).unwrap();
    assert_eq!(
        f.conditions,
        vec![
            cond("name", Op::Eq, &[r#"Ana "Ș" \ x"#]),
            cond("title", Op::Eq, &["it's"]),
            cond("empty", Op::Eq, &[""]),
        ]
    );
}

#[test]
fn free_text_terms() {
    let f = parse(r#"hello "big world" state = ACTIVE București 2024-01-01T10:00"#).unwrap();
    assert_eq!(
        f.text,
        vec!["hello", "big world", "București", "2024-01-01T10:00"]
    );
    assert_eq!(f.conditions, vec![cond("state", Op::Eq, &["ACTIVE"])]);
    // Keywords are uppercase only, so these are words.
    assert_eq!(parse("and or not").unwrap().text, vec!["and", "or", "not"]);
}

#[test]
fn or_groups_become_one_condition() {
    let f = parse("(state = ACTIVE OR state = \"PENDING\" OR state=DRAFT) AND x = 1").unwrap();
    assert_eq!(
        f.conditions,
        vec![
            cond("state", Op::Eq, &["ACTIVE", "PENDING", "DRAFT"]),
            cond("x", Op::Eq, &["1"]),
        ]
    );
    assert_eq!(
        parse("(a=1)").unwrap().conditions,
        vec![cond("a", Op::Eq, &["1"])]
    );
    assert_eq!(
        parse("x=1 AND(a=1 OR a=2)").unwrap().conditions,
        vec![cond("x", Op::Eq, &["1"]), cond("a", Op::Eq, &["1", "2"])]
    );
}

#[test]
fn bad_groups_are_refused() {
    for input in [
        "(a = 1 OR b = 2)",
        "(a = 1 OR a > 2)",
        "(a != 1)",
        "(a = 1 AND a = 2)",
        "(foo)",
        "(foo OR bar)",
    ] {
        let e = err(input);
        assert!(e.contains(or_only()), "{input:?}: {e}");
    }
    assert!(err("((a = 1))").contains("nested"));
    assert!(err("(a = 1 OR (a = 2))").contains("nested"));
    assert!(err("()").contains("empty parentheses"));
    assert!(err("(a = 1 OR)").contains("after `OR`"));
    assert!(err("(OR a = 1)").contains("before `OR`"));
    assert!(err("(a = 1 a = 2)").contains("expected `OR` or `)`"));
    assert!(err("(NOT a = 1)").contains("NOT"));
}

#[test]
fn unbalanced_parentheses_have_positions() {
    assert_eq!(err("(a = 1"), "unclosed `(` at position 0");
    assert_eq!(err("x (a = 1 OR a = 2"), "unclosed `(` at position 2");
    assert_eq!(err("a = 1)"), "unbalanced `)` at position 5");
    assert_eq!(err(")"), "unbalanced `)` at position 0");
    assert_eq!(err("(a = 1 OR"), "unclosed `(` at position 0");
}

#[test]
fn missing_values_and_dangling_and() {
    assert_eq!(err("name ="), "expected a value after `=` at position 5");
    assert_eq!(
        err("ab.c >=   "),
        "expected a value after `>=` at position 5"
    );
    assert!(err("a = )").starts_with("expected a value after `=` at position 2"));
    assert_eq!(
        err("a = 1 AND"),
        "expected a term after `AND` at position 6"
    );
    assert_eq!(
        err("a = 1 AND  "),
        "expected a term after `AND` at position 6"
    );
    assert_eq!(
        err("a = 1 AND AND b = 2"),
        "expected a term after `AND` at position 6"
    );
    assert_eq!(
        err("AND a = 1"),
        "`AND` at position 0 has no term before it"
    );
    assert!(err("a = OR").contains("quote it"));
    assert_eq!(
        parse("a = 'OR'").unwrap().conditions,
        vec![cond("a", Op::Eq, &["OR"])]
    );
}

#[test]
fn unterminated_strings_have_positions() {
    assert_eq!(
        err(r#"a = "abc"#),
        "unterminated string starting at position 4"
    );
    assert_eq!(
        err(r#"x 'abc\"#),
        "unterminated string starting at position 2"
    );
    assert_eq!(
        err(r#""abc\'"#),
        "unterminated string starting at position 0"
    );
    assert!(err(r#"a = "x\ny""#).contains("unsupported escape"));
}

#[test]
fn unsupported_syntax_is_named() {
    assert!(err("NOT a = 1").contains("`NOT` is not supported"));
    assert!(err("-a").contains("`-`"));
    assert!(err("a:b").contains("has operator"));
    assert!(err("a.b : b").contains("has operator"));
    assert!(err(":b").contains("has operator"));
    assert!(err("a = 1 OR a = 2").contains("only supported inside parentheses"));
    assert!(err("OR").contains("only supported inside parentheses"));
    assert!(err("f(x)").contains("functions"));
    assert!(err("a.b(x)").contains("functions"));
    assert!(err("a ! b").contains("`!=`"));
    assert!(err("= 1").contains("expected a field name before `=`"));
    assert!(err("a = 1 >= 2").contains("expected a field name before `>=`"));
    assert!(err("\"a\" = 1").contains("found a quoted string"));
    assert!(err("groups/x = 1").contains("not a valid field name"));
    assert!(err("1a = 1").contains("not a valid field name"));
    assert!(err("a. = 1").contains("not a valid field name"));
    assert!(err("a = 1*").contains("unexpected `*` at position 5"));
    assert!(err("a = 1,b = 2").contains("unexpected `,`"));
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(err("ș å x ="), "expected a value after `=` at position 6");
    assert_eq!(err("ș = 1"), "`ș` at position 0 is not a valid field name");
    assert_eq!(err("😀"), "unexpected `😀` at position 0");
    assert_eq!(err("ș 😀"), "unexpected `😀` at position 2");
    assert_eq!(parse("\"😀\"").unwrap().text, vec!["😀"]);
}

#[test]
fn limits() {
    let long = "a".repeat(MAX_CHARS + 1);
    assert!(err(&long).contains("longer than"));
    assert_eq!(parse(&"a".repeat(MAX_CHARS)).unwrap().text.len(), 1);
    // The limit is in characters, so multi-byte text up to it is fine.
    assert!(parse(&"ș".repeat(MAX_CHARS)).is_ok());

    let terms = |n: usize| vec!["x = 1"; n].join(" ");
    assert_eq!(
        parse(&terms(MAX_TERMS)).unwrap().conditions.len(),
        MAX_TERMS
    );
    assert!(err(&terms(MAX_TERMS + 1)).contains("more than"));
    let ors = |n: usize| format!("({})", vec!["x = 1"; n].join(" OR "));
    assert!(parse(&ors(MAX_TERMS)).is_ok());
    assert!(err(&ors(MAX_TERMS + 1)).contains("more than"));
}

#[test]
fn never_panics_on_odd_input() {
    let pieces = [
        "", " ", "a", "a.b", "_", "1", "-", ":", "=", "!", "!=", "<", "<=", ">", ">=", "(", ")",
        "\"", "'", "\\", "\\\"", "AND", "OR", "NOT", "ș", "å", "😀", "\u{0}", "\u{301}", "\t",
        "\n", ",", "*", ".", "/", "..", "a(", "x:y", "\u{feff}",
    ];
    let mut seen = 0usize;
    for a in pieces {
        for b in pieces {
            for c in pieces {
                for sep in ["", " "] {
                    let input = [a, b, c].join(sep);
                    check(&input);
                    seen += 1;
                }
            }
        }
    }
    assert!(seen > 10_000);

    // Longer pseudo-random strings from a fixed-seed generator.
    let alphabet: Vec<char> = "ab_1.-/:=!<>()\"'\\ ANDORNTșå😀\u{0}\n,*".chars().collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let len = (state >> 58) as usize;
        let mut input = String::new();
        for _ in 0..len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            input.push(alphabet[(state >> 33) as usize % alphabet.len()]);
        }
        check(&input);
    }
}

fn check(input: &str) {
    match parse(input) {
        Ok(f) => {
            for c in &f.conditions {
                assert!(!c.values.is_empty(), "{input:?}");
                assert!(is_field_path(&c.field), "{input:?}");
                assert!(c.values.len() == 1 || c.op == Op::Eq, "{input:?}");
            }
        }
        Err(e) => assert!(!e.0.is_empty(), "{input:?}"),
    }
}
