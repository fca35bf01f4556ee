//! `select=`: columns, aliases, casts, JSON paths, aggregates, embedded relations and spreads.

use super::grammar::{field, field_name, identifier, lexeme, syntax_error, MAX_DEPTH};
use super::parsec::{PResult, Parser};
use super::types::{AggregateFunction, Field, JoinType, SelectItem};
use crate::error::ApiResult;

pub fn parse_select(value: &str) -> ApiResult<Vec<SelectItem>> {
    Parser::run(
        value,
        format_args!("failed to parse select parameter ({value})"),
        |p| forest(p, 0),
    )
    .map_err(syntax_error)
}

fn forest(p: &mut Parser<'_>, depth: usize) -> PResult<Vec<SelectItem>> {
    if depth > MAX_DEPTH {
        return p.fail_message(&format!("select is nested deeper than {MAX_DEPTH} levels"));
    }
    p.sep_by(|p| tree(p, depth), |p| lexeme(p, |p| p.char(',')).map(drop))
}

fn children(p: &mut Parser<'_>, depth: usize) -> PResult<Vec<SelectItem>> {
    p.char('(')?;
    let items = forest(p, depth + 1)?;
    p.char(')')?;
    Ok(items)
}

fn tree(p: &mut Parser<'_>, depth: usize) -> PResult<SelectItem> {
    p.or(
        |p| {
            let (relation, hint, join_type) = p.attempt(spread_head)?;
            let children = children(p, depth)?;
            Ok(SelectItem::Spread {
                relation,
                hint,
                join_type,
                children,
            })
        },
        |p| {
            p.or(
                |p| {
                    let (alias, relation, hint, join_type) = p.attempt(relation_head)?;
                    let children = children(p, depth)?;
                    Ok(SelectItem::Relation {
                        relation,
                        alias,
                        hint,
                        join_type,
                        children,
                    })
                },
                field_select,
            )
        },
    )
}

fn alias(p: &mut Parser<'_>) -> PResult<Option<String>> {
    p.optional(|p| {
        p.attempt(|p| {
            let name = field_name(p)?;
            p.char(':')?;
            p.not_followed_by(|p| p.char(':'))?;
            Ok(name)
        })
    })
}

enum EmbedParam {
    Hint(String),
    Join(JoinType),
}

fn embed_param(p: &mut Parser<'_>) -> PResult<EmbedParam> {
    p.char('!')?;
    p.or(
        |p| {
            p.attempt(|p| p.string("left"))
                .map(|_| EmbedParam::Join(JoinType::Left))
        },
        |p| {
            p.or(
                |p| {
                    p.attempt(|p| p.string("inner"))
                        .map(|_| EmbedParam::Join(JoinType::Inner))
                },
                |p| p.attempt(field_name).map(EmbedParam::Hint),
            )
        },
    )
}

/// `!hint!inner` in either order; the first of each kind wins.
fn embed_params(p: &mut Parser<'_>) -> PResult<(Option<String>, Option<JoinType>)> {
    let first = p.optional(embed_param)?;
    let second = p.optional(embed_param)?;
    let (mut hint, mut join) = (None, None);
    for param in [first, second].into_iter().flatten() {
        match param {
            EmbedParam::Hint(h) => {
                hint.get_or_insert(h);
            }
            EmbedParam::Join(j) => {
                join.get_or_insert(j);
            }
        }
    }
    Ok((hint, join))
}

fn open_paren_ahead(p: &mut Parser<'_>) -> PResult<()> {
    p.attempt(|p| p.look_ahead(|p| p.string("(")))
}

type RelationHead = (Option<String>, String, Option<String>, Option<JoinType>);

fn relation_head(p: &mut Parser<'_>) -> PResult<RelationHead> {
    lexeme(p, |p| {
        let alias = alias(p)?;
        let name = field_name(p)?;
        if name == "count" {
            // `count(...)` is never a relation: `count()` is the aggregate.
            return p.zero();
        }
        let (hint, join) = embed_params(p)?;
        open_paren_ahead(p)?;
        Ok((alias, name, hint, join))
    })
}

fn spread_head(p: &mut Parser<'_>) -> PResult<(String, Option<String>, Option<JoinType>)> {
    lexeme(p, |p| {
        p.string("...")?;
        let name = field_name(p)?;
        let (hint, join) = embed_params(p)?;
        open_paren_ahead(p)?;
        Ok((name, hint, join))
    })
}

/// A field ends before `)`, `,` or at the end of the input.
fn field_end(p: &mut Parser<'_>) -> PResult<()> {
    p.or(
        |p| p.attempt(|p| p.look_ahead(|p| p.string(")"))),
        |p| {
            p.or(
                |p| p.attempt(|p| p.look_ahead(|p| p.string(","))),
                |p| p.attempt(|p| p.eof()),
            )
        },
    )
}

fn cast(p: &mut Parser<'_>) -> PResult<Option<String>> {
    p.optional(|p| {
        p.string("::")?;
        identifier(p)
    })
}

fn aggregation(p: &mut Parser<'_>) -> PResult<AggregateFunction> {
    let plain =
        |name: &'static str, f: AggregateFunction| move |p: &mut Parser<'_>| p.string(name).map(|_| f);
    let backtracking = |name: &'static str, f: AggregateFunction| {
        move |p: &mut Parser<'_>| p.attempt(|p| p.string(name)).map(|_| f)
    };
    p.or(plain("sum", AggregateFunction::Sum), |p| {
        p.or(plain("avg", AggregateFunction::Avg), |p| {
            p.or(plain("count", AggregateFunction::Count), |p| {
                p.or(
                    backtracking("max", AggregateFunction::Max),
                    backtracking("min", AggregateFunction::Min),
                )
            })
        })
    })
}

fn field_select(p: &mut Parser<'_>) -> PResult<SelectItem> {
    lexeme(p, |p| {
        p.or(
            |p| {
                p.attempt(|p| {
                    p.string("*")?;
                    field_end(p)?;
                    let field = Field {
                        name: "*".to_owned(),
                        json_path: Vec::new(),
                    };
                    Ok(SelectItem::Field {
                        field,
                        aggregate: None,
                        aggregate_cast: None,
                        cast: None,
                        alias: None,
                    })
                })
            },
            |p| p.or(|p| p.attempt(count_all), column),
        )
    })
}

/// `alias:count()::cast`
fn count_all(p: &mut Parser<'_>) -> PResult<SelectItem> {
    let alias = alias(p)?;
    p.string("count()")?;
    let output_cast = cast(p)?;
    field_end(p)?;
    let field = Field {
        name: String::new(),
        json_path: Vec::new(),
    };
    Ok(SelectItem::Field {
        field,
        aggregate: Some(AggregateFunction::Count),
        aggregate_cast: None,
        cast: output_cast,
        alias,
    })
}

/// `alias:col->path::cast.agg()::cast`
fn column(p: &mut Parser<'_>) -> PResult<SelectItem> {
    let alias = alias(p)?;
    let field = field(p)?;
    let first_cast = cast(p)?;
    let aggregate = p.optional(|p| {
        p.attempt(|p| {
            p.char('.')?;
            let agg = aggregation(p)?;
            p.string("()")?;
            Ok(agg)
        })
    })?;
    let second_cast = cast(p)?;
    field_end(p)?;
    // With an aggregate the first cast applies to its input and the second to its result; without one,
    // only the first cast means anything (PostgREST ignores a second one too).
    let (aggregate_cast, cast) = match aggregate {
        Some(_) => (first_cast, second_cast),
        None => (None, first_cast),
    };
    Ok(SelectItem::Field {
        field,
        aggregate,
        aggregate_cast,
        cast,
        alias,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_request::types::{JsonOperand, JsonOperation};

    fn col(name: &str) -> SelectItem {
        SelectItem::Field {
            field: Field {
                name: name.into(),
                json_path: vec![],
            },
            aggregate: None,
            aggregate_cast: None,
            cast: None,
            alias: None,
        }
    }

    fn rel(name: &str, children: Vec<SelectItem>) -> SelectItem {
        SelectItem::Relation {
            relation: name.into(),
            alias: None,
            hint: None,
            join_type: None,
            children,
        }
    }

    fn err(src: &str) -> (String, String) {
        let e = parse_select(src).unwrap_err();
        assert_eq!((e.status, e.code), (400, "PGRST100"));
        (e.message, e.details.as_str().unwrap().to_owned())
    }

    #[test]
    fn parses_trees() {
        let cases: Vec<(&str, Vec<SelectItem>)> = vec![
            ("", vec![]),
            ("id", vec![col("id")]),
            ("name,location", vec![col("name"), col("location")]),
            (" a , b ", vec![col("a"), col("b")]),
            ("client(id)", vec![rel("client", vec![col("id")])]),
            (
                "*,client(*,nested(*))",
                vec![
                    col("*"),
                    rel("client", vec![col("*"), rel("nested", vec![col("*")])]),
                ],
            ),
            ("rel()", vec![rel("rel", vec![])]),
            (
                "*,...client(*),other(*)",
                vec![
                    col("*"),
                    SelectItem::Spread {
                        relation: "client".into(),
                        hint: None,
                        join_type: None,
                        children: vec![col("*")],
                    },
                    rel("other", vec![col("*")]),
                ],
            ),
            (
                "\"a.dotted.column\",\"(inside,parens)\"",
                vec![col("a.dotted.column"), col("(inside,parens)")],
            ),
        ];
        for (src, want) in cases {
            assert_eq!(parse_select(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn parses_relation_parameters() {
        let cases = [
            ("rel(*)", None, None, None),
            ("alias:rel(*)", Some("alias"), None, None),
            ("rel!hint(*)", None, Some("hint"), None),
            ("rel!inner(*)", None, None, Some(JoinType::Inner)),
            ("rel!left(*)", None, None, Some(JoinType::Left)),
            ("rel!hint!inner(*)", None, Some("hint"), Some(JoinType::Inner)),
            (
                "alias:rel!inner!hint(*)",
                Some("alias"),
                Some("hint"),
                Some(JoinType::Inner),
            ),
        ];
        for (src, alias, hint, join) in cases {
            let want = SelectItem::Relation {
                relation: "rel".into(),
                alias: alias.map(Into::into),
                hint: hint.map(Into::into),
                join_type: join,
                children: vec![col("*")],
            };
            assert_eq!(parse_select(src), Ok(vec![want]), "{src}");
        }
        let spread = parse_select("...rel!hint!inner(*)").unwrap();
        assert_eq!(
            spread,
            vec![SelectItem::Spread {
                relation: "rel".into(),
                hint: Some("hint".into()),
                join_type: Some(JoinType::Inner),
                children: vec![col("*")]
            }]
        );
    }

    #[test]
    fn parses_fields() {
        let field = |name: &str, path: Vec<JsonOperation>, cast: Option<&str>, alias: Option<&str>| {
            SelectItem::Field {
                field: Field {
                    name: name.into(),
                    json_path: path,
                },
                aggregate: None,
                aggregate_cast: None,
                cast: cast.map(Into::into),
                alias: alias.map(Into::into),
            }
        };
        let key = |k: &str| JsonOperation::Arrow(JsonOperand::Key(k.into()));
        let cases = [
            ("name->jsonpath", field("name", vec![key("jsonpath")], None, None)),
            ("name::cast", field("name", vec![], Some("cast"), None)),
            ("alias:name", field("name", vec![], None, Some("alias"))),
            (
                "alias:name->jsonpath::cast",
                field("name", vec![key("jsonpath")], Some("cast"), Some("alias")),
            ),
            (
                "alias:name->!@#$%^&*_a::cast",
                field("name", vec![key("!@#$%^&*_a")], Some("cast"), Some("alias")),
            ),
            (
                "oid_array_col::_int4",
                field("oid_array_col", vec![], Some("_int4"), None),
            ),
            (
                "primary_language:languages->0",
                field(
                    "languages",
                    vec![JsonOperation::Arrow(JsonOperand::Idx("+0".into()))],
                    None,
                    Some("primary_language"),
                ),
            ),
        ];
        for (src, want) in cases {
            assert_eq!(parse_select(src), Ok(vec![want]), "{src}");
        }
    }

    #[test]
    fn parses_aggregates() {
        let agg = |name: &str, f, agg_cast: Option<&str>, cast: Option<&str>, alias: Option<&str>| {
            SelectItem::Field {
                field: Field {
                    name: name.into(),
                    json_path: vec![],
                },
                aggregate: Some(f),
                aggregate_cast: agg_cast.map(Into::into),
                cast: cast.map(Into::into),
                alias: alias.map(Into::into),
            }
        };
        use AggregateFunction::*;
        let cases = [
            ("count()", agg("", Count, None, None, None)),
            (
                "total:count()::int",
                agg("", Count, None, Some("int"), Some("total")),
            ),
            ("amount.sum()", agg("amount", Sum, None, None, None)),
            (
                "total:amount.sum()",
                agg("amount", Sum, None, None, Some("total")),
            ),
            ("amount.avg()::int", agg("amount", Avg, None, Some("int"), None)),
            (
                "amount::numeric.max()",
                agg("amount", Max, Some("numeric"), None, None),
            ),
            ("amount.min()", agg("amount", Min, None, None, None)),
            ("id.count()", agg("id", Count, None, None, None)),
        ];
        for (src, want) in cases {
            assert_eq!(parse_select(src), Ok(vec![want]), "{src}");
        }
    }

    #[test]
    fn reports_errors_like_postgrest() {
        let cases = [
            (
                "name!hint",
                "\"failed to parse select parameter (name!hint)\" (line 1, column 5)",
                "unexpected '!' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input",
            ),
            (
                "name::",
                "\"failed to parse select parameter (name::)\" (line 1, column 7)",
                "unexpected end of input expecting letter or digit",
            ),
            (
                "id,clients(name[])",
                "\"failed to parse select parameter (id,clients(name[]))\" (line 1, column 16)",
                "unexpected '[' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input",
            ),
            (
                "data->>-78xy",
                "\"failed to parse select parameter (data->>-78xy)\" (line 1, column 11)",
                "unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input",
            ),
            (
                "data->>--34",
                "\"failed to parse select parameter (data->>--34)\" (line 1, column 9)",
                "unexpected \"-\" expecting digit",
            ),
            (
                "data->(!@#$%^&*_d->>!@#$%^&*_e::integer",
                "\"failed to parse select parameter (data->(!@#$%^&*_d->>!@#$%^&*_e::integer)\" (line 1, column 7)",
                "unexpected \"(\" expecting \"-\", digit or any non reserved character different from: .,>()",
            ),
        ];
        for (src, message, details) in cases {
            assert_eq!(err(src), (message.to_owned(), details.to_owned()), "{src}");
        }
        // A list that stops before its first item parses as empty, as in PostgREST (no end-of-input check).
        assert_eq!(parse_select("*!hint"), Ok(vec![]));
        let e = Parser::run("*!hint", "", field_select).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.details.as_str()),
            (
                "\"\" (line 1, column 2)",
                "unexpected '!' expecting \")\", \",\" or end of input"
            )
        );
        assert!(parse_select("rel->jsonpath(*)").is_err());
        assert!(parse_select("alias:...rel(*)").is_err());
    }

    #[test]
    fn bounds_nesting_depth() {
        let deep = format!("{}x{}", "a(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse_select(&deep).is_ok());
        let too_deep = format!("{}x{}", "a(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        let (_, details) = err(&too_deep);
        assert!(details.contains("nested deeper than 32"), "{details}");
        let huge = "a(".repeat(100_000);
        assert!(parse_select(&huge).is_err());
    }
}
