//! Reads the target list of a view's `_RETURN` rule (`pg_rewrite.ev_action`, a `pg_node_tree` printed
//! as text) to learn which base relation column each view column comes from.
//!
//! PostgreSQL records that origin in `TARGETENTRY :resorigtbl :resorigcol` when it stores the rule, so
//! no SQL parsing is needed, only the node syntax: `{NODE :field value …}` nodes, `( … )` lists, `<>`
//! for NULL, and tokens in which `\` escapes the next character. Only the top-level query's target list
//! counts: subqueries, CTEs and sublinks have target lists of their own.

/// One output column of a view: `resno` is its attnum, `(orig_rel, orig_col)` the relation column it
/// is a plain reference to (`orig_rel == 0` when it is an expression or comes from a set operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetEntry {
    pub resno: i16,
    pub orig_rel: u32,
    pub orig_col: i16,
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Open,
    Close,
    Atom(&'a str),
}

struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        match *bytes.get(start)? {
            b'(' | b'{' => {
                self.pos += 1;
                Some(Token::Open)
            }
            b')' | b'}' => {
                self.pos += 1;
                Some(Token::Close)
            }
            b'"' => {
                // A quoted string (e.g. in `:colnames ("a" "b")`); `\` escapes.
                self.pos += 1;
                while self.pos < bytes.len() && bytes[self.pos] != b'"' {
                    self.pos += if bytes[self.pos] == b'\\' { 2 } else { 1 };
                }
                self.pos = (self.pos + 1).min(bytes.len());
                Some(Token::Atom(&self.text[start..self.pos]))
            }
            _ => {
                while self.pos < bytes.len() {
                    match bytes[self.pos] {
                        b'\\' => self.pos += 2,
                        b'(' | b')' | b'{' | b'}' => break,
                        c if c.is_ascii_whitespace() => break,
                        _ => self.pos += 1,
                    }
                }
                self.pos = self.pos.min(bytes.len());
                Some(Token::Atom(&self.text[start..self.pos]))
            }
        }
    }
}

/// The entries of the top-level target list, or an empty list when the text is not a rule we can read.
pub fn target_entries(rule: &str) -> Vec<TargetEntry> {
    let mut tokens = Tokens { text: rule, pos: 0 };
    let mut depth = 0usize;
    // The rule is `({QUERY …})`: the top-level query's fields sit at depth 2.
    while let Some(token) = tokens.next() {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            Token::Atom(":targetList") if depth == 2 => return read_target_list(&mut tokens),
            Token::Atom(_) => {}
        }
    }
    Vec::new()
}

fn read_target_list(tokens: &mut Tokens<'_>) -> Vec<TargetEntry> {
    let mut entries = Vec::new();
    if tokens.next() != Some(Token::Open) {
        return entries; // `<>`: no columns
    }
    // Inside the list (depth 1) each entry is a `{TARGETENTRY …}` node whose fields are at depth 2.
    let mut depth = 1usize;
    let mut current = TargetEntry {
        resno: 0,
        orig_rel: 0,
        orig_col: 0,
    };
    let mut junk = false;
    let mut field: Option<&str> = None;
    for token in tokens.by_ref() {
        match token {
            Token::Open => {
                depth += 1;
                if depth == 2 {
                    current = TargetEntry {
                        resno: 0,
                        orig_rel: 0,
                        orig_col: 0,
                    };
                    junk = false;
                }
                field = None;
            }
            Token::Close => {
                if depth == 2 && !junk && current.resno > 0 {
                    entries.push(current);
                }
                depth -= 1;
                if depth == 0 {
                    break;
                }
                field = None;
            }
            Token::Atom(atom) if depth == 2 => {
                match field.take() {
                    Some(":resno") => current.resno = atom.parse().unwrap_or(0),
                    Some(":resorigtbl") => current.orig_rel = atom.parse().unwrap_or(0),
                    Some(":resorigcol") => current.orig_col = atom.parse().unwrap_or(0),
                    Some(":resjunk") => junk = atom == "true",
                    _ => {}
                }
                if atom.starts_with(':') {
                    field = Some(atom);
                }
            }
            Token::Atom(_) => {}
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_top_level_target_list() {
        let rule = r#"({QUERY :commandType 1 :cteList ({COMMONTABLEEXPR :ctename x :ctequery {QUERY :targetList ({TARGETENTRY :expr <> :resno 1 :resname a :resorigtbl 99 :resorigcol 9 :resjunk false})}}) :rtable ({RANGETBLENTRY :eref {ALIAS :aliasname p :colnames ("id" "we\ird)")}}) :jointree {FROMEXPR :fromlist <> :quals <>} :targetList ({TARGETENTRY :expr {VAR :varno 3 :varattno 1} :resno 1 :resname id :ressortgroupref 0 :resorigtbl 16410 :resorigcol 1 :resjunk false} {TARGETENTRY :expr {FUNCEXPR :args ({SUBLINK :subselect {QUERY :targetList ({TARGETENTRY :resno 1 :resorigtbl 77 :resorigcol 7 :resjunk false})}})} :resno 2 :resname n\ m :ressortgroupref 0 :resorigtbl 0 :resorigcol 0 :resjunk false} {TARGETENTRY :expr <> :resno 3 :resname j :resorigtbl 5 :resorigcol 5 :resjunk true}) :override 0})"#;
        assert_eq!(
            target_entries(rule),
            vec![
                TargetEntry {
                    resno: 1,
                    orig_rel: 16410,
                    orig_col: 1
                },
                TargetEntry {
                    resno: 2,
                    orig_rel: 0,
                    orig_col: 0
                },
            ]
        );
    }

    #[test]
    fn garbage_gives_no_entries() {
        assert!(target_entries("").is_empty());
        assert!(target_entries("({QUERY :targetList <>})").is_empty());
        assert!(target_entries("({QUERY :targetList (").is_empty());
        assert!(target_entries(")))} :targetList").is_empty());
    }
}
