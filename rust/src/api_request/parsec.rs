//! A tiny parser engine with Parsec's error semantics.
//!
//! PostgREST parses the query grammar with Haskell's Parsec, and its PGRST100 error bodies print Parsec's
//! error verbatim: `"failed to parse order (id.asc.nullslasttt)" (line 1, column 17)` with details
//! `unexpected 't' expecting "," or end of input`. Clients and PostgREST's own test-suite compare those
//! strings, so rather than guessing wording per case we reproduce the model that produces them:
//!
//! * a parser either consumed input or not, and either succeeded or failed;
//! * `p <|> q` only tries `q` when `p` failed without consuming; `try` turns a consuming failure into an
//!   empty one;
//! * errors carry a position and messages (system-unexpected, unexpected, expected, message); errors from
//!   alternatives at the same position are merged, the furthest position wins;
//! * `<?>` (here [`Parser::label`]) replaces the "expecting" part of an error produced without consuming.
//!
//! The engine is imperative: `err` is the error accumulated since input was last consumed, which is what
//! Parsec threads through its continuations.

use std::fmt::{Display, Write};

/// What an error message says, kept unrendered: a parse tries many alternatives that fail on the way
/// to a success, so texts are only formatted once an error is actually reported.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    /// A grammar label, as written (`delimiter (.)`).
    Plain(&'static str),
    /// A token, shown as Haskell shows a string (`"not"`).
    Shown(&'static str),
    /// A character shown as a one-character string (`"x"`), as `satisfy` and `char` report it.
    ShownChar(char),
    /// A character shown as a character (`'x'`), as `eof` and `notFollowedBy` report it.
    CharLiteral(char),
    /// The empty system-unexpected message: end of input.
    Nothing,
    Owned(String),
}

impl Text {
    fn render(&self) -> String {
        match self {
            Text::Plain(s) => (*s).to_owned(),
            Text::Shown(s) => haskell_show(s),
            Text::ShownChar(c) => haskell_show(c.encode_utf8(&mut [0; 4])),
            Text::CharLiteral(c) => haskell_show_char(*c),
            Text::Nothing => String::new(),
            Text::Owned(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Msg {
    SysUnExpect(Text),
    UnExpect(Text),
    Expect(Text),
    Message(Text),
}

impl Msg {
    fn rank(&self) -> u8 {
        match self {
            Msg::SysUnExpect(_) => 0,
            Msg::UnExpect(_) => 1,
            Msg::Expect(_) => 2,
            Msg::Message(_) => 3,
        }
    }

    fn text(&self) -> &Text {
        match self {
            Msg::SysUnExpect(t) | Msg::UnExpect(t) | Msg::Expect(t) | Msg::Message(t) => t,
        }
    }
}

/// Line and column as Parsec counts them: 1-based, tabs to the next multiple of 8 plus one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourcePos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone)]
struct ParseError {
    pos: SourcePos,
    msgs: Vec<Msg>,
}

impl ParseError {
    fn unknown(pos: SourcePos) -> Self {
        ParseError {
            pos,
            msgs: Vec::new(),
        }
    }

    fn merge(self, other: ParseError) -> ParseError {
        // Parsec prefers meaningful errors, then the one that got further.
        if other.msgs.is_empty() && !self.msgs.is_empty() {
            return self;
        }
        if self.msgs.is_empty() && !other.msgs.is_empty() {
            return other;
        }
        match self.pos.cmp(&other.pos) {
            std::cmp::Ordering::Equal => {
                let mut msgs = self.msgs;
                msgs.extend(other.msgs);
                ParseError { pos: self.pos, msgs }
            }
            std::cmp::Ordering::Greater => self,
            std::cmp::Ordering::Less => other,
        }
    }

    fn set_expect(&mut self, label: Text) {
        self.msgs.retain(|m| !matches!(m, Msg::Expect(_)));
        self.msgs.push(Msg::Expect(label));
    }

    /// Parsec's `showErrorMessages "or" "unknown parse error" "expecting" "unexpected" "end of input"`,
    /// with PostgREST's newline-to-space flattening.
    fn render(&self) -> String {
        let mut msgs = self.msgs.clone();
        msgs.sort_by_key(Msg::rank); // stable, like Haskell's `sort` on constructor order
        if msgs.is_empty() {
            return "unknown parse error".to_owned();
        }
        let rendered: Vec<(u8, String)> = msgs.iter().map(|m| (m.rank(), m.text().render())).collect();
        let of = |rank: u8| -> Vec<&str> {
            rendered
                .iter()
                .filter(|(r, _)| *r == rank)
                .map(|(_, t)| t.as_str())
                .collect()
        };
        let (sys, unexp, exp, other) = (of(0), of(1), of(2), of(3));
        let sys_line = match sys.first() {
            Some(_) if !unexp.is_empty() => String::new(),
            None => String::new(),
            Some(&"") => "unexpected end of input".to_owned(),
            Some(first) => format!("unexpected {first}"),
        };
        let many = |pre: &str, items: &[&str]| -> String {
            let cleaned = clean(items);
            if cleaned.is_empty() {
                String::new()
            } else if pre.is_empty() {
                commas_or(&cleaned)
            } else {
                format!("{pre} {}", commas_or(&cleaned))
            }
        };
        let lines = [
            sys_line,
            many("unexpected", &unexp),
            many("expecting", &exp),
            many("", &other),
        ];
        let lines: Vec<&str> = clean(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        lines.join(" ").trim().to_owned()
    }
}

fn clean<'s>(items: &[&'s str]) -> Vec<&'s str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(item) {
            out.push(item);
        }
    }
    out
}

fn commas_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", clean(init).join(", ")),
    }
}

/// Haskell's `show` for a string: how Parsec quotes tokens and how PostgREST quotes the parameter text.
pub fn haskell_show(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push_str("\\\"");
        } else {
            push_escaped(&mut out, c, chars.peek().copied());
        }
    }
    out.push('"');
    out
}

/// Haskell's `show` for a character (`'t'`), used by `eof`'s "unexpected" message.
pub fn haskell_show_char(c: char) -> String {
    let mut out = String::from("'");
    if c == '\'' {
        out.push_str("\\'");
    } else {
        push_escaped(&mut out, c, None);
    }
    out.push('\'');
    out
}

const ASCII_NAMES: [&str; 32] = [
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO", "SI", "DLE",
    "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US",
];

fn push_escaped(out: &mut String, c: char, next: Option<char>) {
    match c {
        '\\' => out.push_str("\\\\"),
        ' '..='~' => out.push(c),
        '\u{7f}' => out.push_str("\\DEL"),
        c if (c as u32) < 32 => {
            out.push('\\');
            out.push_str(ASCII_NAMES[c as usize]);
            // `\SO` followed by `H` would read as `\SOH`; Haskell separates them with `\&`.
            if c == '\u{e}' && next == Some('H') {
                out.push_str("\\&");
            }
        }
        c => {
            let _ = write!(out, "\\{}", c as u32);
            if next.is_some_and(|n| n.is_ascii_digit()) {
                out.push_str("\\&");
            }
        }
    }
}

/// Which passes [`Parser::run`] makes. Always both outside tests; tests run each pass alone to prove
/// they accept the same inputs.
pub mod passes {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Passes {
        Both,
        QuietOnly,
        LoudOnly,
    }

    #[cfg(test)]
    thread_local! {
        static CURRENT: std::cell::Cell<Passes> = const { std::cell::Cell::new(Passes::Both) };
    }

    #[cfg(test)]
    pub(super) fn current() -> Passes {
        CURRENT.get()
    }

    #[cfg(not(test))]
    pub(super) fn current() -> Passes {
        Passes::Both
    }

    #[cfg(test)]
    pub fn with<R>(passes: Passes, f: impl FnOnce() -> R) -> R {
        CURRENT.set(passes);
        let result = f();
        CURRENT.set(Passes::Both);
        result
    }
}

/// A failed parse, already rendered the way PostgREST reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// `"failed to parse order (x)" (line 1, column 3)`
    pub message: String,
    /// `unexpected "x" expecting ...`
    pub details: String,
}

/// Marker for a failed parser; the error itself lives in [`Parser::err`].
#[derive(Debug)]
pub struct Fail;

pub type PResult<T> = Result<T, Fail>;

#[derive(Clone, Copy)]
struct Mark {
    byte: usize,
    pos: SourcePos,
}

pub struct Parser<'a> {
    src: &'a str,
    byte: usize,
    pos: SourcePos,
    err: ParseError,
    /// Records no messages: `err` stays empty. Control flow never depends on messages, so a parse runs
    /// quietly first and only a failed one runs again to say why.
    quiet: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, quiet: bool) -> Self {
        let pos = SourcePos { line: 1, column: 1 };
        Parser {
            src,
            byte: 0,
            pos,
            err: ParseError::unknown(pos),
            quiet,
        }
    }

    /// Runs `grammar` over the whole of `src`, naming the input as PostgREST does in its messages.
    /// Successful parses, the common case, allocate nothing for errors: the grammar runs quietly, and
    /// only when it fails runs again collecting Parsec's messages. `name` is only formatted on failure.
    pub fn run<T>(
        src: &'a str,
        name: impl Display,
        grammar: impl Fn(&mut Parser<'a>) -> PResult<T>,
    ) -> Result<T, SyntaxError> {
        let passes = passes::current();
        if passes != passes::Passes::LoudOnly {
            if let Ok(value) = grammar(&mut Parser::new(src, true)) {
                return Ok(value);
            }
            if passes == passes::Passes::QuietOnly {
                let unexplained = String::new();
                return Err(SyntaxError {
                    message: unexplained.clone(),
                    details: unexplained,
                });
            }
        }
        let mut p = Parser::new(src, false);
        grammar(&mut p).map_err(|Fail| SyntaxError {
            message: format!(
                "{} (line {}, column {})",
                haskell_show(&name.to_string()),
                p.err.pos.line,
                p.err.pos.column
            ),
            details: p.err.render(),
        })
    }

    fn mark(&self) -> Mark {
        Mark {
            byte: self.byte,
            pos: self.pos,
        }
    }

    fn reset(&mut self, m: Mark) {
        self.byte = m.byte;
        self.pos = m.pos;
    }

    fn consumed_since(&self, m: Mark) -> bool {
        self.byte != m.byte
    }

    /// Whether messages are being recorded: a grammar may take a faster route that consumes exactly
    /// what its combinator form would, as long as only the combinators explain failures.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Consumes the longest run of characters matching `pred` and returns it (maybe empty).
    pub fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.byte;
        while let Some(c) = self.peek().filter(|&c| pred(c)) {
            self.advance(c);
        }
        &self.src[start..self.byte]
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.byte..]
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn advance(&mut self, c: char) {
        self.byte += c.len_utf8();
        match c {
            '\n' => {
                self.pos.line += 1;
                self.pos.column = 1;
            }
            '\t' => self.pos.column += 8 - ((self.pos.column - 1) % 8),
            _ => self.pos.column += 1,
        }
        self.err = ParseError::unknown(self.pos);
    }

    /// Records an error at the current position without consuming, and fails.
    fn fail_here<T>(&mut self, msgs: impl FnOnce() -> Vec<Msg>) -> PResult<T> {
        if self.quiet {
            return Err(Fail);
        }
        let e = ParseError {
            pos: self.pos,
            msgs: msgs(),
        };
        self.err = std::mem::replace(&mut self.err, ParseError::unknown(self.pos)).merge(e);
        Err(Fail)
    }

    /// A free-form message (`fail`), used for limits that Parsec has no notion of, such as nesting depth.
    pub fn fail_message<T>(&mut self, msg: &str) -> PResult<T> {
        self.fail_here(|| vec![Msg::Message(Text::Owned(msg.to_owned()))])
    }

    /// `mzero`: fails without saying why, so alternatives' messages are reported instead.
    pub fn zero<T>(&mut self) -> PResult<T> {
        self.fail_here(Vec::new)
    }

    /// `satisfy`: one character matching `pred`, no expectation recorded.
    pub fn satisfy(&mut self, pred: impl Fn(char) -> bool) -> PResult<char> {
        match self.peek() {
            Some(c) if pred(c) => {
                self.advance(c);
                Ok(c)
            }
            _ => {
                let found = self.peek();
                self.fail_here(|| vec![Msg::SysUnExpect(found.map_or(Text::Nothing, Text::ShownChar))])
            }
        }
    }

    /// `char c`, expecting `"c"`.
    pub fn char(&mut self, c: char) -> PResult<char> {
        self.labelled(Text::ShownChar(c), |p| p.satisfy(|x| x == c))
    }

    pub fn one_of(&mut self, set: &str) -> PResult<char> {
        self.satisfy(|c| set.contains(c))
    }

    pub fn none_of(&mut self, set: &str) -> PResult<char> {
        self.satisfy(|c| !set.contains(c))
    }

    pub fn any_char(&mut self) -> PResult<char> {
        self.satisfy(|_| true)
    }

    pub fn letter(&mut self) -> PResult<char> {
        self.label("letter", |p| p.satisfy(char::is_alphabetic))
    }

    pub fn digit(&mut self) -> PResult<char> {
        self.label("digit", |p| p.satisfy(|c| c.is_ascii_digit()))
    }

    /// `string s`: errors are reported at the start, like Parsec's `tokens`; a partial match consumes.
    pub fn string(&mut self, s: &'static str) -> PResult<()> {
        let start = self.mark();
        for (i, want) in s.chars().enumerate() {
            match self.peek() {
                Some(c) if c == want => self.advance(c),
                _ if self.quiet => return Err(Fail),
                found => {
                    let unexpected = Msg::SysUnExpect(found.map_or(Text::Nothing, Text::ShownChar));
                    let e = ParseError {
                        pos: start.pos,
                        msgs: vec![unexpected, Msg::Expect(Text::Shown(s))],
                    };
                    if i == 0 {
                        self.err = std::mem::replace(&mut self.err, ParseError::unknown(start.pos)).merge(e);
                    } else {
                        // Consumed: only this error counts, as in Parsec's `cerr`.
                        self.err = e;
                    }
                    return Err(Fail);
                }
            }
        }
        Ok(())
    }

    /// `eof`, i.e. `notFollowedBy anyToken <?> "end of input"`.
    pub fn eof(&mut self) -> PResult<()> {
        match self.peek() {
            None if self.quiet => Ok(()),
            None => {
                let e = ParseError {
                    pos: self.pos,
                    msgs: vec![
                        Msg::SysUnExpect(Text::Nothing),
                        Msg::Expect(Text::Plain("end of input")),
                    ],
                };
                self.err = std::mem::replace(&mut self.err, ParseError::unknown(self.pos)).merge(e);
                Ok(())
            }
            Some(c) => self.fail_here(|| {
                vec![
                    Msg::UnExpect(Text::CharLiteral(c)),
                    Msg::Expect(Text::Plain("end of input")),
                ]
            }),
        }
    }

    /// `try p`
    pub fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let start = self.mark();
        let before = self.err.clone();
        let r = f(self);
        if r.is_err() && self.consumed_since(start) {
            // Now an empty failure: it merges with what was expected before it started consuming.
            self.reset(start);
            self.err = before.merge(std::mem::replace(&mut self.err, ParseError::unknown(self.pos)));
        }
        r
    }

    /// `try p` whose failure leaves no expectations behind: for an extension of the grammar that
    /// must not change the errors PostgREST's grammar reports.
    pub fn attempt_quietly<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let start = self.mark();
        let saved = self.err.clone();
        let r = f(self);
        if r.is_err() {
            self.reset(start);
            self.err = saved;
        }
        r
    }

    /// `lookAhead p`: succeeds without consuming and without leaving expectations behind.
    pub fn look_ahead<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let start = self.mark();
        let saved = self.err.clone();
        let r = f(self);
        if r.is_ok() {
            self.reset(start);
            self.err = saved;
        }
        r
    }

    /// `notFollowedBy p` (for a `p` that reports what it matched via `show`).
    pub fn not_followed_by(&mut self, f: impl FnOnce(&mut Self) -> PResult<char>) -> PResult<()> {
        let start = self.mark();
        let saved = self.err.clone();
        match self.attempt(f) {
            Ok(c) => {
                self.reset(start);
                self.err = saved;
                self.fail_here(|| vec![Msg::UnExpect(Text::CharLiteral(c))])
            }
            Err(Fail) => Ok(()),
        }
    }

    /// `p <|> q`
    pub fn or<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> PResult<T>,
        g: impl FnOnce(&mut Self) -> PResult<T>,
    ) -> PResult<T> {
        let start = self.mark();
        match f(self) {
            Err(Fail) if !self.consumed_since(start) => g(self),
            r => r,
        }
    }

    /// `p <?> name`
    pub fn label<T>(&mut self, name: &'static str, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.labelled(Text::Plain(name), f)
    }

    fn labelled<T>(&mut self, name: Text, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let start = self.mark();
        let before = std::mem::replace(&mut self.err, ParseError::unknown(self.pos));
        let r = f(self);
        if !self.consumed_since(start) {
            if !self.quiet && (r.is_err() || !self.err.msgs.is_empty()) {
                self.err.set_expect(name);
            }
            self.err = before.merge(std::mem::replace(&mut self.err, ParseError::unknown(self.pos)));
        }
        r
    }

    /// `optionMaybe p`
    pub fn optional<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<Option<T>> {
        self.or(|p| f(p).map(Some), |_| Ok(None))
    }

    /// `many p`
    pub fn many<T>(&mut self, mut f: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        let mut out = Vec::new();
        loop {
            let start = self.mark();
            match f(self) {
                Ok(v) => {
                    out.push(v);
                    if !self.consumed_since(start) {
                        return Ok(out); // an empty success would loop forever
                    }
                }
                Err(Fail) if !self.consumed_since(start) => return Ok(out),
                Err(Fail) => return Err(Fail),
            }
        }
    }

    /// `many1 p`
    pub fn many1<T>(&mut self, mut f: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        let first = f(self)?;
        let mut rest = self.many(f)?;
        rest.insert(0, first);
        Ok(rest)
    }

    /// `p `sepBy1` sep`
    pub fn sep_by1<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
        mut sep: impl FnMut(&mut Self) -> PResult<()>,
    ) -> PResult<Vec<T>> {
        let first = item(self)?;
        let mut rest = self.many(|p| {
            sep(p)?;
            item(p)
        })?;
        rest.insert(0, first);
        Ok(rest)
    }

    /// `p `sepBy` sep`
    pub fn sep_by<T>(
        &mut self,
        item: impl FnMut(&mut Self) -> PResult<T>,
        sep: impl FnMut(&mut Self) -> PResult<()>,
    ) -> PResult<Vec<T>> {
        self.or(|p| p.sep_by1(item, sep), |_| Ok(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_strings_like_haskell() {
        let cases = [
            ("abc", "\"abc\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("\n", "\"\\n\""),
            ("é", "\"\\233\""),
            ("é1", "\"\\233\\&1\""),
            ("\u{e}H", "\"\\SO\\&H\""),
        ];
        for (input, want) in cases {
            assert_eq!(haskell_show(input), want, "{input:?}");
        }
        assert_eq!(haskell_show_char('t'), "'t'");
        assert_eq!(haskell_show_char('\''), "'\\''");
    }

    #[test]
    fn merges_alternatives_at_the_same_position() {
        let r = Parser::run("x", "p", |p| {
            p.or(|p| p.char('a').map(|_| ()), |p| p.string("bc"))
        });
        let e = r.unwrap_err();
        assert_eq!(e.message, "\"p\" (line 1, column 1)");
        assert_eq!(e.details, "unexpected \"x\" expecting \"a\" or \"bc\"");
    }

    #[test]
    fn eof_reports_the_character_and_end_of_input() {
        let e = Parser::run("ab", "p", |p| {
            p.char('a')?;
            p.eof()
        })
        .unwrap_err();
        assert_eq!(e.details, "unexpected 'b' expecting end of input");
        assert_eq!(e.message, "\"p\" (line 1, column 2)");
    }

    #[test]
    fn counts_columns_like_parsec() {
        let e = Parser::run("\tx", "p", |p| {
            p.char('\t')?;
            p.char('y')
        })
        .unwrap_err();
        assert_eq!(e.message, "\"p\" (line 1, column 9)");
        let e = Parser::run("\nx", "p", |p| {
            p.char('\n')?;
            p.char('y')
        })
        .unwrap_err();
        assert_eq!(e.message, "\"p\" (line 2, column 1)");
    }

    #[test]
    fn unknown_error_when_nothing_is_known() {
        let e = ParseError::unknown(SourcePos { line: 1, column: 1 });
        assert_eq!(e.render(), "unknown parse error");
    }
}
