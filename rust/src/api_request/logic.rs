//! Logic trees: `or=(a.eq.1,not.and(b.gt.2,c.is.null))`, `not.or=(...)`, `clients.and=(...)`.

use super::filter::op_expr;
use super::grammar::{delimiter, field, field_name, lexeme, quoted_value, syntax_error, MAX_DEPTH};
use super::parsec::{PResult, Parser};
use super::types::{EmbedPath, Filter, LogicOperator, LogicTree};
use crate::error::ApiResult;

/// Parses a logic parameter: the key gives the embed path, the operator and its negation
/// (`a.not.or`), the value the parenthesized conditions.
pub fn parse_logic(key: &str, value: &str) -> ApiResult<(EmbedPath, LogicTree)> {
    let parts = Parser::run(key, format_args!("failed to parse logic path ({key})"), |p| {
        p.sep_by1(field_name, delimiter)
    })
    .map_err(syntax_error)?;
    let negated = parts.iter().any(|part| part == "not");
    let (op, init) = parts
        .split_last()
        .map(|(op, init)| (op.as_str(), init))
        .unwrap_or(("", &[]));
    let path: EmbedPath = init.iter().filter(|part| *part != "not").cloned().collect();
    // The operator is parsed as part of the tree (`or(...)`), so error columns count it too.
    let source = format!("{}{op}{value}", if negated { "not." } else { "" });
    let tree = Parser::run(
        &source,
        format_args!("failed to parse logic tree ({value})"),
        |p| logic_tree(p, 0),
    )
    .map_err(syntax_error)?;
    Ok((path, tree))
}

fn logic_tree(p: &mut Parser<'_>, depth: usize) -> PResult<LogicTree> {
    if depth > MAX_DEPTH {
        return p.fail_message(&format!("logic tree is nested deeper than {MAX_DEPTH} levels"));
    }
    p.or(
        |p| {
            p.or(
                |p| p.attempt(logic_filter).map(LogicTree::Stmnt),
                |p| {
                    p.attempt_quietly(related_filter)
                        .map(|(path, filter)| LogicTree::Related { path, filter })
                },
            )
        },
        |p| {
            let negated = p.label("negation operator (not)", |p| {
                p.or(
                    |p| {
                        p.attempt(|p| {
                            p.string("not")?;
                            delimiter(p)
                        })
                        .map(|_| true)
                    },
                    |_| Ok(false),
                )
            })?;
            let op = p.label("logic operator (and, or)", |p| {
                p.or(
                    |p| p.attempt(|p| p.string("and")).map(|_| LogicOperator::And),
                    |p| p.string("or").map(|_| LogicOperator::Or),
                )
            })?;
            lexeme(p, |p| p.char('('))?;
            let children = p.sep_by1(
                |p| logic_tree(p, depth + 1),
                |p| lexeme(p, |p| p.char(',')).map(drop),
            )?;
            lexeme(p, |p| p.char(')'))?;
            Ok(LogicTree::Expr {
                negated,
                op,
                children,
            })
        },
    )
}

fn logic_filter(p: &mut Parser<'_>) -> PResult<Filter> {
    let field = field(p)?;
    delimiter(p)?;
    let op = op_expr(p, logic_value)?;
    Ok(Filter { field, op })
}

/// `rel.col.op.value`, `rel.sub.col.op.value`: a condition on the rows of an embedded resource
/// (beyond PostgREST, its issue #3162). Tried only after a plain filter failed, so `col.eq.1`
/// and `rel.is.null` keep their meaning.
fn related_filter(p: &mut Parser<'_>) -> PResult<(EmbedPath, Filter)> {
    let mut path = vec![field_name(p)?];
    delimiter(p)?;
    loop {
        if let Some(filter) = p.optional(|p| p.attempt(logic_filter))? {
            return Ok((path, filter));
        }
        if path.len() > MAX_DEPTH {
            return p.fail_message(&format!("embed path is nested deeper than {MAX_DEPTH} levels"));
        }
        path.push(field_name(p)?);
        delimiter(p)?;
    }
}

/// A value inside a tree ends at `,` or `)` unless quoted or a `{...}` array literal.
fn logic_value(p: &mut Parser<'_>) -> PResult<String> {
    p.or(
        |p| {
            p.attempt(|p| {
                let v = quoted_value(p)?;
                p.not_followed_by(|p| p.none_of(",)"))?;
                Ok(v)
            })
        },
        |p| {
            p.or(
                |p| {
                    p.attempt(|p| {
                        p.string("{")?;
                        let inner: String = p.many(|p| p.none_of("{}"))?.into_iter().collect();
                        p.string("}")?;
                        Ok(format!("{{{inner}}}"))
                    })
                },
                |p| Ok(p.many(|p| p.none_of(",)"))?.into_iter().collect()),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_request::types::{Field, IsValue, OpExpr, Operation, QuantOperator};

    fn stmnt(name: &str, negated: bool, operation: Operation) -> LogicTree {
        LogicTree::Stmnt(Filter {
            field: Field {
                name: name.into(),
                json_path: vec![],
            },
            op: OpExpr { negated, operation },
        })
    }

    fn eq(name: &str, v: &str) -> LogicTree {
        stmnt(
            name,
            false,
            Operation::Quant(QuantOperator::Equal, None, v.into()),
        )
    }

    fn err(key: &str, value: &str) -> (String, String) {
        let e = parse_logic(key, value).unwrap_err();
        assert_eq!((e.status, e.code), (400, "PGRST100"));
        (e.message, e.details.as_str().unwrap().to_owned())
    }

    #[test]
    fn parses_trees() {
        use LogicOperator::*;
        let or = |negated, children| LogicTree::Expr {
            negated,
            op: Or,
            children,
        };
        let and = |negated, children| LogicTree::Expr {
            negated,
            op: And,
            children,
        };
        let cases = vec![
            ("or", "(id.eq.1)", vec![], or(false, vec![eq("id", "1")])),
            (
                "and",
                "(a.eq.1,b.eq.2)",
                vec![],
                and(false, vec![eq("a", "1"), eq("b", "2")]),
            ),
            (
                "not.or",
                "(a.eq.1,b.eq.2)",
                vec![],
                or(true, vec![eq("a", "1"), eq("b", "2")]),
            ),
            (
                "or",
                "(a.eq.14,not.and(b.gte.11,b.is.null))",
                vec![],
                or(
                    false,
                    vec![
                        eq("a", "14"),
                        and(
                            true,
                            vec![
                                stmnt(
                                    "b",
                                    false,
                                    Operation::Quant(QuantOperator::GreaterThanEqual, None, "11".into()),
                                ),
                                stmnt("b", false, Operation::Is(IsValue::Null)),
                            ],
                        ),
                    ],
                ),
            ),
            // Blanks around conditions are skipped; a value runs up to `,` or `)`, trailing blanks included.
            (
                "or",
                "( a.eq.1 , b.eq.2 )",
                vec![],
                or(false, vec![eq("a", "1 "), eq("b", "2 ")]),
            ),
            (
                "or",
                "(a.eq.\"x,y)\",b.eq.2)",
                vec![],
                or(false, vec![eq("a", "x,y)"), eq("b", "2")]),
            ),
            (
                "or",
                "(a.cs.{1,2},b.in.(3,4))",
                vec![],
                or(
                    false,
                    vec![
                        stmnt(
                            "a",
                            false,
                            Operation::Simple(
                                crate::api_request::types::SimpleOperator::Contains,
                                "{1,2}".into(),
                            ),
                        ),
                        stmnt("b", false, Operation::In(vec!["3".into(), "4".into()])),
                    ],
                ),
            ),
            (
                "clients.projects.or",
                "(id.eq.1)",
                vec!["clients", "projects"],
                or(false, vec![eq("id", "1")]),
            ),
            (
                "clients.not.and",
                "(id.eq.1)",
                vec!["clients"],
                and(true, vec![eq("id", "1")]),
            ),
            (
                "or",
                "(order_id.eq.1,and_x.eq.2)",
                vec![],
                or(false, vec![eq("order_id", "1"), eq("and_x", "2")]),
            ),
        ];
        for (key, value, path, want) in cases {
            let path: EmbedPath = path.into_iter().map(String::from).collect();
            assert_eq!(parse_logic(key, value), Ok((path, want)), "{key}={value}");
        }
    }

    #[test]
    fn parses_embedded_columns() {
        let (_, tree) = parse_logic("or", "(name.eq.x,author.name.eq.y,a.b.c.not.is.null)").unwrap();
        let LogicTree::Expr { children, .. } = tree else {
            panic!("not a tree")
        };
        assert_eq!(children[0], eq("name", "x"));
        let LogicTree::Related { path, filter } = &children[1] else {
            panic!("{:?}", children[1])
        };
        assert_eq!(
            (path.clone(), filter.field.name.as_str()),
            (vec!["author".to_owned()], "name")
        );
        let LogicTree::Related { path, filter } = &children[2] else {
            panic!("{:?}", children[2])
        };
        assert_eq!(path, &vec!["a".to_owned(), "b".to_owned()]);
        assert!(filter.op.negated);
        // An embed name with an `is` test stays a plain filter (the embed null test).
        let (_, tree) = parse_logic("or", "(author.is.null)").unwrap();
        assert!(
            matches!(tree, LogicTree::Expr { ref children, .. } if matches!(children[0], LogicTree::Stmnt(_)))
        );
        assert!(parse_logic("or", &format!("({}x.eq.1)", "a.".repeat(50_000))).is_err());
    }

    #[test]
    fn reports_errors_like_postgrest() {
        let cases = [
            (
                "or",
                "()",
                "\"failed to parse logic tree (())\" (line 1, column 4)",
                "unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)",
            ),
            ("or", "(id.in.1,2,id.eq.3)", "\"failed to parse logic tree ((id.in.1,2,id.eq.3))\" (line 1, column 10)", "unexpected \"1\" expecting \"(\""),
            ("or", ")(", "\"failed to parse logic tree ()()\" (line 1, column 3)", "unexpected \")\" expecting \"(\""),
            ("and", "(ord(id.eq.1,id.eq.1),id.eq.2)", "\"failed to parse logic tree ((ord(id.eq.1,id.eq.1),id.eq.2))\" (line 1, column 7)", "unexpected \"d\" expecting \"(\""),
            ("or", "(id.eq.1,not.xor(id.eq.2,id.eq.3))", "\"failed to parse logic tree ((id.eq.1,not.xor(id.eq.2,id.eq.3)))\" (line 1, column 16)", "unexpected \"x\" expecting logic operator (and, or)"),
        ];
        for (key, value, message, details) in cases {
            assert_eq!(
                err(key, value),
                (message.to_owned(), details.to_owned()),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn bounds_nesting_depth() {
        let nested = |n: usize| format!("({}a.eq.1{})", "or(".repeat(n), ")".repeat(n));
        assert!(parse_logic("or", &nested(MAX_DEPTH - 1)).is_ok());
        let (_, details) = err("or", &nested(MAX_DEPTH + 1));
        assert!(details.contains("nested deeper"), "{details}");
        assert!(parse_logic("or", &"(or".repeat(50_000)).is_err());
    }
}
