//! `order=`: `col->path.desc.nullslast`, related `rel(col).asc`, comma separated.

use super::grammar::{delimiter, field, field_name, lexeme, syntax_error, tree_path};
use super::parsec::{PResult, Parser};
use super::types::{EmbedPath, OrderDirection, OrderNulls, OrderTerm};
use crate::error::ApiResult;

/// Parses an order parameter; the key (`order`, `actors.order`) gives the embed path.
pub fn parse_order(key: &str, value: &str) -> ApiResult<(EmbedPath, Vec<OrderTerm>)> {
    let (path, _) = Parser::run(key, format_args!("failed to parse tree path ({key})"), tree_path)
        .map_err(syntax_error)?;
    let terms =
        Parser::run(value, format_args!("failed to parse order ({value})"), order).map_err(syntax_error)?;
    Ok((path, terms))
}

fn order(p: &mut Parser<'_>) -> PResult<Vec<OrderTerm>> {
    p.sep_by1(
        |p| lexeme(p, |p| p.or(|p| p.attempt(relation_term), field_term)),
        |p| p.char(',').map(drop),
    )
}

fn field_term(p: &mut Parser<'_>) -> PResult<OrderTerm> {
    let field = field(p)?;
    let (direction, nulls) = modifiers(p)?;
    Ok(OrderTerm::Field {
        field,
        direction,
        nulls,
    })
}

fn relation_term(p: &mut Parser<'_>) -> PResult<OrderTerm> {
    let relation = field_name(p)?;
    p.char('(')?;
    let field = field(p)?;
    p.char(')')?;
    let (direction, nulls) = modifiers(p)?;
    Ok(OrderTerm::Relation {
        relation,
        field,
        direction,
        nulls,
    })
}

fn dotted<T: Copy>(p: &mut Parser<'_>, word: &'static str, v: T) -> PResult<T> {
    p.attempt(|p| {
        delimiter(p)?;
        p.string(word)
    })
    .map(|_| v)
}

fn modifiers(p: &mut Parser<'_>) -> PResult<(Option<OrderDirection>, Option<OrderNulls>)> {
    let direction = p.optional(|p| {
        p.or(
            |p| dotted(p, "asc", OrderDirection::Asc),
            |p| dotted(p, "desc", OrderDirection::Desc),
        )
    })?;
    let nulls = p.or(
        |p| {
            let nulls = p.optional(|p| {
                p.or(
                    |p| dotted(p, "nullsfirst", OrderNulls::First),
                    |p| dotted(p, "nullslast", OrderNulls::Last),
                )
            })?;
            term_end(p)?;
            Ok(nulls)
        },
        |p| term_end(p).map(|_| None),
    )?;
    Ok((direction, nulls))
}

fn term_end(p: &mut Parser<'_>) -> PResult<()> {
    p.or(
        |p| p.attempt(|p| p.look_ahead(|p| p.char(','))).map(drop),
        |p| p.attempt(|p| p.eof()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_request::types::{Field, JsonOperand, JsonOperation};

    fn term(
        name: &str,
        path: Vec<JsonOperation>,
        d: Option<OrderDirection>,
        n: Option<OrderNulls>,
    ) -> OrderTerm {
        OrderTerm::Field {
            field: Field {
                name: name.into(),
                json_path: path,
            },
            direction: d,
            nulls: n,
        }
    }

    #[test]
    fn parses_terms() {
        use OrderDirection::*;
        use OrderNulls::*;
        let key = |k: &str| vec![JsonOperation::Arrow(JsonOperand::Key(k.into()))];
        let cases = vec![
            (
                "name.desc.nullsfirst",
                vec![term("name", vec![], Some(Desc), Some(First))],
            ),
            (
                "age.desc,height.asc",
                vec![
                    term("age", vec![], Some(Desc), None),
                    term("height", vec![], Some(Asc), None),
                ],
            ),
            ("id", vec![term("id", vec![], None, None)]),
            ("id.nullslast", vec![term("id", vec![], None, Some(Last))]),
            (
                "json_col->key.asc.nullslast",
                vec![term("json_col", key("key"), Some(Asc), Some(Last))],
            ),
            (
                "json_col->!@#$%^&*_a.asc.nullslast",
                vec![term("json_col", key("!@#$%^&*_a"), Some(Asc), Some(Last))],
            ),
            (
                "data->>age.desc",
                vec![term(
                    "data",
                    vec![JsonOperation::DoubleArrow(JsonOperand::Key("age".into()))],
                    Some(Desc),
                    None,
                )],
            ),
            (
                "clients(json_col->key).desc.nullsfirst",
                vec![OrderTerm::Relation {
                    relation: "clients".into(),
                    field: Field {
                        name: "json_col".into(),
                        json_path: key("key"),
                    },
                    direction: Some(Desc),
                    nulls: Some(First),
                }],
            ),
            (
                "name,clients(name),id",
                vec![
                    term("name", vec![], None, None),
                    OrderTerm::Relation {
                        relation: "clients".into(),
                        field: Field {
                            name: "name".into(),
                            json_path: vec![],
                        },
                        direction: None,
                        nulls: None,
                    },
                    term("id", vec![], None, None),
                ],
            ),
        ];
        for (src, want) in cases {
            assert_eq!(parse_order("order", src), Ok((vec![], want)), "{src}");
        }
        let (path, _) = parse_order("roles.actors.order", "id").unwrap();
        assert_eq!(path, vec!["roles".to_owned(), "actors".to_owned()]);
    }

    #[test]
    fn reports_errors_like_postgrest() {
        let cases = [
            ("clients(name,id)", 8, "unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input"),
            ("id.ac", 4, "unexpected \"c\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
            ("id.descc", 8, "unexpected 'c' expecting delimiter (.), \",\" or end of input"),
            ("id.nulsfist", 4, "unexpected \"n\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
            ("id.nullslasttt", 13, "unexpected 't' expecting \",\" or end of input"),
            ("id.smth34", 4, "unexpected \"s\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
            ("id.asc.nlsfst", 8, "unexpected \"l\" expecting \"nullsfirst\" or \"nullslast\""),
            ("id.asc.nullslasttt", 17, "unexpected 't' expecting \",\" or end of input"),
            ("id.asc.smth34", 8, "unexpected \"s\" expecting \"nullsfirst\" or \"nullslast\""),
        ];
        for (src, column, details) in cases {
            let e = parse_order("order", src).unwrap_err();
            assert_eq!((e.status, e.code), (400, "PGRST100"));
            assert_eq!(
                e.message,
                format!("\"failed to parse order ({src})\" (line 1, column {column})"),
                "{src}"
            );
            assert_eq!(e.details.as_str(), Some(details), "{src}");
        }
    }
}
