//! A small JSON tree that keeps object keys in insertion order.
//!
//! The documents read best in the order PostgREST writes them (columns in table order, `swagger`
//! before `paths`); `serde_json::Map` sorts its keys unless a crate-wide feature is switched on,
//! which would change every other JSON the core emits. This tree is only ever serialized.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// Characters a URI fragment cannot hold as they are (RFC 3986), so `$ref`s to objects named after
/// tables and columns with spaces, quotes or `%` stay valid references.
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
    /// A value decoded from the catalog (a column default).
    Value(serde_json::Value),
}

impl J {
    pub fn obj() -> J {
        J::Obj(Vec::new())
    }

    /// Adds `key: value` (an object only; anything else is left as it is).
    pub fn set(mut self, key: &str, value: impl Into<J>) -> J {
        if let J::Obj(entries) = &mut self {
            entries.push((key.to_owned(), value.into()));
        }
        self
    }

    /// Adds `key: value` when there is a value.
    pub fn opt(self, key: &str, value: Option<impl Into<J>>) -> J {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub fn strs<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> J {
        J::Arr(items.into_iter().map(|s| J::Str(s.as_ref().to_owned())).collect())
    }

    /// `{"$ref": "#/<section>/<name>"}`, the name escaped as a JSON pointer token and a fragment.
    pub fn reference(section: &str, name: &str) -> J {
        let token = name.replace('~', "~0").replace('/', "~1");
        let fragment = utf8_percent_encode(&token, FRAGMENT);
        J::obj().set("$ref", format!("#/{section}/{fragment}"))
    }

    pub fn to_json(&self) -> String {
        // Serializing this tree cannot fail: every key is a string and there are no floats.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::Str(s.to_owned())
    }
}

impl From<String> for J {
    fn from(s: String) -> J {
        J::Str(s)
    }
}

impl From<&String> for J {
    fn from(s: &String) -> J {
        J::Str(s.clone())
    }
}

impl From<bool> for J {
    fn from(b: bool) -> J {
        J::Bool(b)
    }
}

impl From<i64> for J {
    fn from(n: i64) -> J {
        J::Int(n)
    }
}

impl From<Vec<J>> for J {
    fn from(items: Vec<J>) -> J {
        J::Arr(items)
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Bool(b) => s.serialize_bool(*b),
            J::Int(n) => s.serialize_i64(*n),
            J::Str(text) => s.serialize_str(text),
            J::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::Obj(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            J::Value(v) => v.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order() {
        let doc = J::obj()
            .set("z", 1i64)
            .set("a", J::strs(["x"]))
            .opt("n", None::<J>);
        assert_eq!(doc.to_json(), r#"{"z":1,"a":["x"]}"#);
    }

    #[test]
    fn references_escape_names() {
        let r = J::reference("definitions", "a/b c~%");
        assert_eq!(r.to_json(), r##"{"$ref":"#/definitions/a~1b%20c~0%25"}"##);
    }
}
