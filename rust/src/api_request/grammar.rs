//! The terminals shared by the query-string grammars: names, quoted values, JSON paths, tree paths.
//!
//! Each function is one production of PostgREST's grammar (its docs and error strings are the spec);
//! the error labels are part of the wire contract because they end up in PGRST100 `details`.

use super::parsec::{PResult, Parser, SyntaxError};
use super::types::{EmbedPath, Field, JsonOperand, JsonOperation};
use crate::error::ApiError;

/// Deepest select or logic tree accepted; deeper input is a PGRST100 instead of a stack overflow.
pub const MAX_DEPTH: usize = 32;

pub fn syntax_error(e: SyntaxError) -> ApiError {
    ApiError::new(400, "PGRST100", e.message).details(e.details)
}

pub fn ws(p: &mut Parser<'_>) -> PResult<()> {
    p.many(|p| p.one_of(" \t")).map(drop)
}

pub fn lexeme<'a, T>(p: &mut Parser<'a>, f: impl FnOnce(&mut Parser<'a>) -> PResult<T>) -> PResult<T> {
    ws(p)?;
    let v = f(p)?;
    ws(p)?;
    Ok(v)
}

/// `.` between a key's parts, an operator and its value, a column and `asc`.
pub fn delimiter(p: &mut Parser<'_>) -> PResult<()> {
    p.label("delimiter (.)", |p| p.char('.')).map(drop)
}

/// `"..."` with `\"` and `\\` (any character after a backslash stands for itself).
pub fn quoted_value(p: &mut Parser<'_>) -> PResult<String> {
    p.char('"')?;
    let chars = p.many(|p| p.or(|p| p.none_of("\\\""), |p| p.char('\\').and_then(|_| p.any_char())))?;
    p.char('"')?;
    Ok(chars.into_iter().collect())
}

fn identifier_char(p: &mut Parser<'_>) -> PResult<char> {
    p.or(|p| p.or(|p| p.letter(), |p| p.digit()), |p| p.one_of("_ $"))
}

/// The set `identifier_char` accepts, as one test (the combinator form names "letter" and "digit" in errors).
fn is_identifier_char(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit() || matches!(c, '_' | ' ' | '$')
}

/// Letters, digits, `_`, `$` and spaces; surrounding spaces are not part of the name.
pub fn identifier(p: &mut Parser<'_>) -> PResult<String> {
    let chars: String = p.many1(identifier_char)?.into_iter().collect();
    Ok(chars.trim().to_owned())
}

/// Parts joined by `-`, where `->` is not a dash but a JSON arrow.
fn sep_by_dash<'a>(p: &mut Parser<'a>, part: impl Fn(&mut Parser<'a>) -> PResult<String>) -> PResult<String> {
    let dash = |p: &mut Parser<'a>| {
        p.attempt(|p| {
            p.char('-')?;
            p.not_followed_by(|p| p.char('>'))
        })
    };
    Ok(p.sep_by1(&part, dash)?.join("-"))
}

pub fn field_name(p: &mut Parser<'_>) -> PResult<String> {
    if p.quiet() && p.peek() != Some('"') {
        return dashed_identifier(p);
    }
    p.label("field name (* or [a..z0..9_$])", |p| {
        p.or(quoted_value, |p| sep_by_dash(p, identifier))
    })
}

/// `sep_by_dash(identifier)` without the combinators, for the quiet pass (every column name of every
/// request goes through here): it consumes exactly what the combinator form consumes and fails where it
/// fails, so a failure's explanation is left to the loud pass.
fn dashed_identifier(p: &mut Parser<'_>) -> PResult<String> {
    let mut name = String::new();
    loop {
        let part = p.take_while(is_identifier_char);
        if part.is_empty() {
            return p.zero(); // after a consumed dash this is a consuming failure, as in `sep_by1`
        }
        name.push_str(part.trim());
        let mut ahead = p.rest().chars();
        if ahead.next() != Some('-') || ahead.next() == Some('>') {
            return Ok(name);
        }
        p.char('-')?;
        name.push('-');
    }
}

fn json_key_identifier(p: &mut Parser<'_>) -> PResult<String> {
    let chars: String = p.many1(|p| p.none_of("(-:.,>)"))?.into_iter().collect();
    Ok(chars.trim().to_owned())
}

fn json_key_name(p: &mut Parser<'_>) -> PResult<String> {
    p.label("any non reserved character different from: .,>()", |p| {
        p.or(quoted_value, |p| sep_by_dash(p, json_key_identifier))
    })
}

/// What may follow an array index: another arrow, a cast, a delimiter, a comma or the end.
fn json_index_end(p: &mut Parser<'_>) -> PResult<()> {
    let ahead = |s: &'static str| move |p: &mut Parser<'_>| p.attempt(|p| p.look_ahead(|p| p.string(s)));
    p.or(ahead("->"), |p| {
        p.or(ahead("::"), |p| {
            p.or(ahead("."), |p| p.or(ahead(","), |p| p.attempt(|p| p.eof())))
        })
    })
}

fn json_index(p: &mut Parser<'_>) -> PResult<String> {
    let sign = p.or(|p| p.char('-'), |_| Ok('+'))?;
    let digits: String = p.many1(|p| p.digit())?.into_iter().collect();
    json_index_end(p)?;
    Ok(format!("{sign}{digits}"))
}

fn json_operation(p: &mut Parser<'_>) -> PResult<JsonOperation> {
    let double = p.or(
        |p| p.attempt(|p| p.string("->>")).map(|_| true),
        |p| p.attempt(|p| p.string("->")).map(|_| false),
    )?;
    let operand = p.or(
        |p| p.attempt(json_index).map(JsonOperand::Idx),
        |p| p.attempt(json_key_name).map(JsonOperand::Key),
    )?;
    Ok(if double {
        JsonOperation::DoubleArrow(operand)
    } else {
        JsonOperation::Arrow(operand)
    })
}

/// `->key->>0`: zero or more arrows. Indexes keep their sign (`+0`, `-1`) as PostgREST does.
pub fn json_path(p: &mut Parser<'_>) -> PResult<Vec<JsonOperation>> {
    p.many(json_operation)
}

/// A column with an optional JSON path, surrounded by optional blanks.
pub fn field(p: &mut Parser<'_>) -> PResult<Field> {
    lexeme(p, |p| {
        let name = field_name(p)?;
        let json_path = p.or(json_path, |_| Ok(Vec::new()))?;
        Ok(Field { name, json_path })
    })
}

/// `clients.projects.id->>a` in a filter or modifier key: the embed path and the field.
pub fn tree_path(p: &mut Parser<'_>) -> PResult<(EmbedPath, Field)> {
    let mut names = p.sep_by1(field_name, delimiter)?;
    let json_path = p.or(json_path, |_| Ok(Vec::new()))?;
    let name = names.pop().unwrap_or_default();
    Ok((names, Field { name, json_path }))
}

/// `a,b,c` for `columns` and `on_conflict`.
pub fn columns(p: &mut Parser<'_>) -> PResult<Vec<String>> {
    p.sep_by1(field_name, |p| lexeme(p, |p| p.char(',')).map(drop))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(src: &str, f: impl Fn(&mut Parser<'_>) -> PResult<T>) -> Result<T, String> {
        Parser::run(src, "", f).map_err(|e| format!("{} {}", e.message, e.details))
    }

    #[test]
    fn field_names() {
        let ok = [
            ("identifier", "identifier"),
            ("identifier with spaces", "identifier with spaces"),
            ("identifier-with-dashes", "identifier-with-dashes"),
            ("123", "123"),
            ("_", "_"),
            ("$", "$"),
            ("\":\"", ":"),
            (" no leading or trailing spaces ", "no leading or trailing spaces"),
            (
                "\" leading and trailing spaces \"",
                " leading and trailing spaces ",
            ),
            ("\"a\\\"b\\\\c\"", "a\"b\\c"),
            ("ñandú", "ñandú"),
        ];
        for (src, want) in ok {
            assert_eq!(run(src, field_name).as_deref(), Ok(want), "{src}");
        }
        assert_eq!(
            run(":", field_name),
            Err("\"\" (line 1, column 1) unexpected \":\" expecting field name (* or [a..z0..9_$])".into())
        );
    }

    #[test]
    fn json_paths() {
        use JsonOperand::*;
        use JsonOperation::*;
        let ok = [
            ("->text", vec![Arrow(Key("text".into()))]),
            ("->!@#$%^&*_a", vec![Arrow(Key("!@#$%^&*_a".into()))]),
            ("->1", vec![Arrow(Idx("+1".into()))]),
            ("->>text", vec![DoubleArrow(Key("text".into()))]),
            ("->>1", vec![DoubleArrow(Idx("+1".into()))]),
            ("->0,other", vec![Arrow(Idx("+0".into()))]),
            ("->0.desc", vec![Arrow(Idx("+0".into()))]),
            (
                "->-1->>x",
                vec![Arrow(Idx("-1".into())), DoubleArrow(Key("x".into()))],
            ),
        ];
        for (src, want) in ok {
            assert_eq!(run(src, json_path), Ok(want), "{src}");
        }
        let bad = [
            ("->>-78xy", "(line 1, column 7) unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input"),
            ("->>--34", "(line 1, column 5) unexpected \"-\" expecting digit"),
            ("->>-xy-4", "(line 1, column 5) unexpected \"x\" expecting digit"),
        ];
        for (src, want) in bad {
            let got = run(src, |p| {
                let v = json_path(p)?;
                p.eof()?;
                Ok(v)
            });
            assert_eq!(got, Err(format!("\"\" {want}")), "{src}");
        }
    }

    #[test]
    fn tree_paths() {
        let (path, field) = run("clients.projects.id", tree_path).unwrap();
        assert_eq!(path, vec!["clients".to_owned(), "projects".to_owned()]);
        assert_eq!(field.name, "id");
        let (path, field) = run("data->>a", tree_path).unwrap();
        assert!(path.is_empty());
        assert_eq!(
            field.json_path,
            vec![JsonOperation::DoubleArrow(JsonOperand::Key("a".into()))]
        );
    }
}
