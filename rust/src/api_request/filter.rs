//! Horizontal filters: `field=[not.]op[(any|all)].value`, and the operator expressions that logic trees
//! reuse.

use super::grammar::{delimiter, identifier, lexeme, quoted_value, syntax_error, tree_path};
use super::parsec::{PResult, Parser};
use super::types::{
    EmbedPath, Filter, FtsOperator, IsValue, OpExpr, OpQuantifier, Operation, QuantOperator, SimpleOperator,
};
use crate::error::ApiResult;

/// Parses one filter parameter, `clients.projects.id` = `not.in.(1,2)`.
///
/// Public because on `GET /rpc/fn` the plan only learns which keys are function arguments once it has
/// looked the function up; the remaining keys are filters and go through here.
pub fn parse_filter(key: &str, value: &str) -> ApiResult<(EmbedPath, Filter)> {
    let (path, field) = parse_tree_path(key)?;
    let op = Parser::run(value, format_args!("failed to parse filter ({value})"), |p| {
        op_expr(p, single_value)
    })
    .map_err(syntax_error)?;
    Ok((path, Filter { field, op }))
}

pub fn parse_tree_path(key: &str) -> ApiResult<(EmbedPath, super::types::Field)> {
    Parser::run(key, format_args!("failed to parse tree path ({key})"), tree_path).map_err(syntax_error)
}

/// The value of a top-level filter: everything that is left.
pub fn single_value(p: &mut Parser<'_>) -> PResult<String> {
    let v = p.rest().to_owned();
    p.many(|p| p.any_char())?;
    Ok(v)
}

/// `[not.]operation`, with `value` parsing what follows the operator.
pub fn op_expr(p: &mut Parser<'_>, value: fn(&mut Parser<'_>) -> PResult<String>) -> PResult<OpExpr> {
    let negated = p.or(
        |p| {
            p.attempt(|p| {
                p.string("not")?;
                delimiter(p)
            })
            .map(|_| true)
        },
        |_| Ok(false),
    )?;
    let operation = p.label("operator (eq, gt, ...)", |p| operation(p, value))?;
    Ok(OpExpr { negated, operation })
}

fn keyword_then_delimiter(p: &mut Parser<'_>, word: &'static str) -> PResult<()> {
    p.attempt(|p| {
        p.string(word)?;
        delimiter(p)
    })
}

fn operation(p: &mut Parser<'_>, value: fn(&mut Parser<'_>) -> PResult<String>) -> PResult<Operation> {
    p.or(
        |p| {
            keyword_then_delimiter(p, "in")?;
            let mut items = list_value(p)?;
            // `in.()` parses as one empty element; PostgREST treats `[""]` as the empty list.
            if items.len() == 1 && items[0].is_empty() {
                items.clear();
            }
            Ok(Operation::In(items))
        },
        |p| {
            p.or(
                |p| {
                    keyword_then_delimiter(p, "is")?;
                    is_value(p).map(Operation::Is)
                },
                |p| {
                    p.or(
                        |p| {
                            keyword_then_delimiter(p, "isdistinct")?;
                            value(p).map(Operation::IsDistinctFrom)
                        },
                        |p| {
                            p.or(
                                |p| p.attempt(|p| fts(p, value)),
                                |p| {
                                    p.or(
                                        |p| p.attempt(|p| simple(p, value)),
                                        |p| p.attempt(|p| quant(p, value)),
                                    )
                                },
                            )
                        },
                    )
                },
            )
        },
    )
}

/// Tries each `(keyword, result)` in order, each with backtracking.
fn keyword<T: Copy>(p: &mut Parser<'_>, table: &[(&'static str, T)]) -> PResult<T> {
    match table.split_first() {
        None => p.zero(),
        Some((&(word, v), rest)) => p.or(|p| p.attempt(|p| p.string(word)).map(|_| v), |p| keyword(p, rest)),
    }
}

const SIMPLE: [(&str, SimpleOperator); 9] = [
    ("neq", SimpleOperator::NotEqual),
    ("cs", SimpleOperator::Contains),
    ("cd", SimpleOperator::Contained),
    ("ov", SimpleOperator::Overlap),
    ("sl", SimpleOperator::StrictlyLeft),
    ("sr", SimpleOperator::StrictlyRight),
    ("nxr", SimpleOperator::NotExtendsRight),
    ("nxl", SimpleOperator::NotExtendsLeft),
    ("adj", SimpleOperator::Adjacent),
];

const QUANT: [(&str, QuantOperator); 9] = [
    ("eq", QuantOperator::Equal),
    ("gte", QuantOperator::GreaterThanEqual),
    ("gt", QuantOperator::GreaterThan),
    ("lte", QuantOperator::LessThanEqual),
    ("lt", QuantOperator::LessThan),
    ("like", QuantOperator::Like),
    ("ilike", QuantOperator::ILike),
    ("match", QuantOperator::Match),
    ("imatch", QuantOperator::IMatch),
];

const FTS: [(&str, FtsOperator); 4] = [
    ("fts", FtsOperator::Fts),
    ("plfts", FtsOperator::Plain),
    ("phfts", FtsOperator::Phrase),
    ("wfts", FtsOperator::Websearch),
];

fn simple(p: &mut Parser<'_>, value: fn(&mut Parser<'_>) -> PResult<String>) -> PResult<Operation> {
    let op = p.label("unknown single value operator", |p| keyword(p, &SIMPLE))?;
    delimiter(p)?;
    Ok(Operation::Simple(op, value(p)?))
}

fn parenthesized<'a, T>(p: &mut Parser<'a>, inner: impl FnOnce(&mut Parser<'a>) -> PResult<T>) -> PResult<T> {
    p.char('(')?;
    let v = inner(p)?;
    p.char(')')?;
    Ok(v)
}

fn quant(p: &mut Parser<'_>, value: fn(&mut Parser<'_>) -> PResult<String>) -> PResult<Operation> {
    let op = p.label("unknown single value operator", |p| keyword(p, &QUANT))?;
    let quantifier = p.optional(|p| {
        p.attempt(|p| {
            parenthesized(p, |p| {
                p.or(
                    |p| p.attempt(|p| p.string("any")).map(|_| OpQuantifier::Any),
                    |p| p.string("all").map(|_| OpQuantifier::All),
                )
            })
        })
    })?;
    delimiter(p)?;
    Ok(Operation::Quant(op, quantifier, value(p)?))
}

fn fts(p: &mut Parser<'_>, value: fn(&mut Parser<'_>) -> PResult<String>) -> PResult<Operation> {
    let op = keyword(p, &FTS)?;
    let config = p.optional(|p| p.attempt(|p| parenthesized(p, identifier)))?;
    delimiter(p)?;
    Ok(Operation::Fts(op, config, value(p)?))
}

/// Case-insensitive keyword, as PostgREST matches `is` values (only ASCII letters fold).
fn ci_string(p: &mut Parser<'_>, word: &str) -> PResult<()> {
    for c in word.chars() {
        let upper = c.to_ascii_uppercase();
        p.or(|p| p.char(c), |p| p.char(upper))?;
    }
    Ok(())
}

fn is_value(p: &mut Parser<'_>) -> PResult<IsValue> {
    const VALUES: [(&str, IsValue); 5] = [
        ("null", IsValue::Null),
        ("not_null", IsValue::NotNull),
        ("true", IsValue::True),
        ("false", IsValue::False),
        ("unknown", IsValue::Unknown),
    ];
    fn go(p: &mut Parser<'_>, table: &[(&str, IsValue)]) -> PResult<IsValue> {
        match table.split_first() {
            None => p.zero(),
            Some((&(word, v), rest)) => {
                p.or(|p| p.attempt(|p| ci_string(p, word)).map(|_| v), |p| go(p, rest))
            }
        }
    }
    p.label("isVal: (null, not_null, true, false, unknown)", |p| {
        go(p, &VALUES)
    })
}

/// `(a,"b,c",d)`: quoted elements may hold `,` and `)`; unquoted ones run to the next `,` or `)`.
fn list_value(p: &mut Parser<'_>) -> PResult<Vec<String>> {
    lexeme(p, |p| p.char('('))?;
    let items = p.sep_by1(list_element, |p| p.char(',').map(drop))?;
    lexeme(p, |p| p.char(')'))?;
    Ok(items)
}

fn list_element(p: &mut Parser<'_>) -> PResult<String> {
    p.or(
        |p| {
            p.attempt(|p| {
                let v = quoted_value(p)?;
                p.not_followed_by(|p| p.none_of(",)"))?;
                Ok(v)
            })
        },
        |p| Ok(p.many(|p| p.none_of(",)"))?.into_iter().collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_request::types::{Field, JsonOperand, JsonOperation};

    fn op(src: &str) -> Result<OpExpr, (String, String)> {
        parse_filter("x", src)
            .map(|(_, f)| f.op)
            .map_err(|e| (e.message, e.details.as_str().unwrap_or_default().to_owned()))
    }

    fn expr(negated: bool, operation: Operation) -> OpExpr {
        OpExpr { negated, operation }
    }

    #[test]
    fn parses_every_operator() {
        use Operation::*;
        use QuantOperator::*;
        use SimpleOperator::*;
        let s = |v: &str| v.to_owned();
        let cases = vec![
            ("eq.1", Quant(Equal, None, s("1"))),
            ("eq.", Quant(Equal, None, s(""))),
            ("gt.20250101 00:00", Quant(GreaterThan, None, s("20250101 00:00"))),
            ("gte.1", Quant(GreaterThanEqual, None, s("1"))),
            ("lt.1", Quant(LessThan, None, s("1"))),
            ("lte.1", Quant(LessThanEqual, None, s("1"))),
            ("like.*yx", Quant(Like, None, s("*yx"))),
            ("ilike.a.b", Quant(ILike, None, s("a.b"))),
            ("match.^a", Quant(Match, None, s("^a"))),
            ("imatch.^a", Quant(IMatch, None, s("^a"))),
            (
                "like(any).{O*,P*}",
                Quant(Like, Some(OpQuantifier::Any), s("{O*,P*}")),
            ),
            ("eq(all).value", Quant(Equal, Some(OpQuantifier::All), s("value"))),
            ("neq.1", Simple(NotEqual, s("1"))),
            ("cs.{1,2}", Simple(Contains, s("{1,2}"))),
            ("cd.{1,2}", Simple(Contained, s("{1,2}"))),
            ("ov.[1,6]", Simple(Overlap, s("[1,6]"))),
            ("sl.(1,10]", Simple(StrictlyLeft, s("(1,10]"))),
            ("sr.(1,10]", Simple(StrictlyRight, s("(1,10]"))),
            ("nxr.(1,10]", Simple(NotExtendsRight, s("(1,10]"))),
            ("nxl.(1,10]", Simple(NotExtendsLeft, s("(1,10]"))),
            ("adj.(3,10]", Simple(Adjacent, s("(3,10]"))),
            ("isdistinct.5", IsDistinctFrom(s("5"))),
            ("is.null", Is(IsValue::Null)),
            ("is.NoT_NuLl", Is(IsValue::NotNull)),
            ("is.TRUE", Is(IsValue::True)),
            ("is.false", Is(IsValue::False)),
            ("is.unknown", Is(IsValue::Unknown)),
            ("fts.a&b", Fts(FtsOperator::Fts, None, s("a&b"))),
            (
                "fts(french).amusant",
                Fts(FtsOperator::Fts, Some(s("french")), s("amusant")),
            ),
            ("plfts.a b", Fts(FtsOperator::Plain, None, s("a b"))),
            (
                "phfts(english).a",
                Fts(FtsOperator::Phrase, Some(s("english")), s("a")),
            ),
            ("wfts.a", Fts(FtsOperator::Websearch, None, s("a"))),
            ("in.(1,3,5)", In(vec![s("1"), s("3"), s("5")])),
            ("in.()", In(vec![])),
            ("in.(\"\")", In(vec![])),
            ("in.(\"Hebdon,John\",\"a\")", In(vec![s("Hebdon,John"), s("a")])),
            ("in.(\"a\\\"b\",\"c\\\\d\")", In(vec![s("a\"b"), s("c\\d")])),
            ("in.(a\"b,c\\d)", In(vec![s("a\"b"), s("c\\d")])),
            ("in.( 1,2 )", In(vec![s("1"), s("2 ")])),
        ];
        for (src, want) in cases {
            assert_eq!(op(src), Ok(expr(false, want.clone())), "{src}");
            assert_eq!(op(&format!("not.{src}")), Ok(expr(true, want)), "not.{src}");
        }
    }

    #[test]
    fn rejects_bad_operators() {
        let cases = [
            (
                "0",
                "\"failed to parse filter (0)\" (line 1, column 1)",
                "unexpected \"0\" expecting \"not\" or operator (eq, gt, ...)",
            ),
            (
                "noop.0",
                "\"failed to parse filter (noop.0)\" (line 1, column 1)",
                "unexpected \"o\" expecting \"not\" or operator (eq, gt, ...)",
            ),
            (
                "val",
                "\"failed to parse filter (val)\" (line 1, column 1)",
                "unexpected \"v\" expecting \"not\" or operator (eq, gt, ...)",
            ),
            (
                "fts().value",
                "\"failed to parse filter (fts().value)\" (line 1, column 5)",
                "unexpected \")\" expecting operator (eq, gt, ...)",
            ),
            (
                "eq().value",
                "\"failed to parse filter (eq().value)\" (line 1, column 4)",
                "unexpected \")\" expecting operator (eq, gt, ...)",
            ),
            (
                "is().value",
                "\"failed to parse filter (is().value)\" (line 1, column 3)",
                "unexpected \"(\" expecting operator (eq, gt, ...)",
            ),
            (
                "in().value",
                "\"failed to parse filter (in().value)\" (line 1, column 3)",
                "unexpected \"(\" expecting operator (eq, gt, ...)",
            ),
        ];
        for (src, message, details) in cases {
            assert_eq!(op(src), Err((message.to_owned(), details.to_owned())), "{src}");
        }
        for src in [
            "is.maybe",
            "neq(any).1",
            "cs(all).{1}",
            "in(any).(1)",
            "is(any).null",
            "eq(some).1",
            "in.1,2",
        ] {
            assert!(op(src).is_err(), "{src}");
        }
    }

    #[test]
    fn takes_the_embed_path_and_json_path_from_the_key() {
        let (path, filter) = parse_filter("clients.projects.id", "eq.1").unwrap();
        assert_eq!(path, vec!["clients".to_owned(), "projects".to_owned()]);
        assert_eq!(
            filter.field,
            Field {
                name: "id".into(),
                json_path: vec![]
            }
        );
        let (path, filter) = parse_filter("data->>a", "eq.1").unwrap();
        assert!(path.is_empty());
        assert_eq!(
            filter.field.json_path,
            vec![JsonOperation::DoubleArrow(JsonOperand::Key("a".into()))]
        );
        let (_, filter) = parse_filter("\"information.cpe\"", "like.*MS*").unwrap();
        assert_eq!(filter.field.name, "information.cpe");
        let e = parse_filter(":", "eq.1").unwrap_err();
        assert_eq!(e.message, "\"failed to parse tree path (:)\" (line 1, column 1)");
    }
}
