//! The two primitives every SQL fragment is built from: identifier quoting and bound parameters.
//!
//! This is the only place an identifier becomes SQL text, and request values never become SQL text at
//! all: they are appended to [`Params`] and referenced as `$n`.

use crate::schema_cache::QualifiedIdentifier;

/// Quote an identifier the way PostgreSQL's `quote_ident` does, but always (no keyword table to keep
/// in sync): `"` doubled, wrapped in `"`. NUL cannot occur in a valid identifier and is dropped so that
/// the statement stays well-formed; PostgreSQL then reports the unknown name.
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_ident(&mut out, name);
    out
}

/// [`ident`] appended to `out`, to avoid an allocation per column on the hot path.
pub fn push_ident(out: &mut String, name: &str) {
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\"\""),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `"schema"."name"`
pub fn qualified(qi: &QualifiedIdentifier) -> String {
    let mut out = String::with_capacity(qi.schema.len() + qi.name.len() + 5);
    push_ident(&mut out, &qi.schema);
    out.push('.');
    push_ident(&mut out, &qi.name);
    out
}

/// A type name for `CAST(... AS type)` (`select=col::text`). Type names are written the way a user
/// writes them in SQL (`int`, `text[]`, `double precision`), which quoting would break (`"int"` is not
/// a type), so instead only a conservative alphabet is let through: letters, digits, `_`, spaces between
/// words and trailing `[]`. Anything else is refused by returning `None`.
pub fn type_name(name: &str) -> Option<&str> {
    let base = name.trim_end_matches("[]");
    let ok = !base.is_empty()
        && base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && !base.ends_with(' ')
        && !base.contains("  ")
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ');
    ok.then_some(name)
}

/// Bound parameters in `$n` order, as text-format values (`None` is SQL NULL).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    values: Vec<Option<Vec<u8>>>,
}

impl Params {
    /// Bind `value` and append its placeholder (`$n`) to `out`.
    pub fn push(&mut self, out: &mut String, value: impl Into<Vec<u8>>) {
        self.values.push(Some(value.into()));
        self.placeholder(out);
    }

    /// Bind SQL NULL and append its placeholder.
    pub fn push_null(&mut self, out: &mut String) {
        self.values.push(None);
        self.placeholder(out);
    }

    fn placeholder(&self, out: &mut String) {
        out.push('$');
        out.push_str(&self.values.len().to_string());
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn into_vec(self) -> Vec<Option<Vec<u8>>> {
        self.values
    }

    pub fn as_slice(&self) -> &[Option<Vec<u8>>] {
        &self.values
    }
}

/// A PostgreSQL array literal (`{"a","b\"c"}`) for `= ANY($n)`: every element quoted, `"` and `\`
/// escaped, so that commas, braces, spaces and the word NULL stay data.
pub fn array_literal<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.as_ref().chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(ident("items"), "\"items\"");
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(ident("a\0b"), "\"ab\"");
        assert_eq!(
            qualified(&QualifiedIdentifier::new("my schema", "t")),
            "\"my schema\".\"t\""
        );
    }

    #[test]
    fn accepts_only_plain_type_names() {
        assert_eq!(type_name("text"), Some("text"));
        assert_eq!(type_name("double precision"), Some("double precision"));
        assert_eq!(type_name("_int4"), Some("_int4"));
        assert_eq!(type_name("int[]"), Some("int[]"));
        assert_eq!(type_name("text); drop table x; --"), None);
        assert_eq!(type_name(""), None);
        assert_eq!(type_name("1abc"), None);
    }

    #[test]
    fn escapes_array_literals() {
        assert_eq!(
            array_literal(&["a,b", "c\"d", "e\\f", "NULL"]),
            r#"{"a,b","c\"d","e\\f","NULL"}"#
        );
        assert_eq!(array_literal::<&str>(&[]), "{}");
    }

    #[test]
    fn numbers_parameters() {
        let mut p = Params::default();
        let mut sql = String::new();
        p.push(&mut sql, "x");
        sql.push(',');
        p.push_null(&mut sql);
        assert_eq!(sql, "$1,$2");
        assert_eq!(p.into_vec(), vec![Some(b"x".to_vec()), None]);
    }
}
