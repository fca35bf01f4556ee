//! Checks that must undo what a statement wrote, evaluated inside that statement.
//!
//! A write (or a call of a function that writes) whose result breaks a condition the client asked for
//! (singular media, `max-affected`, PUT's key match) must not commit. The statement carries the checks
//! as one more column, `CASE WHEN <condition> THEN <raise> … END`, where `<raise>` casts a marker text
//! to `integer`: the cast fails, so the statement fails and PostgreSQL skips the COMMIT queued behind it
//! in the pipeline. The response stage maps the marker back to PostgREST's error. No extra round trip
//! decides between COMMIT and ROLLBACK.

use crate::query::sql::Params;

/// The prefix of the text whose failing `::integer` cast signals a failed check:
/// `restpg-check:<PGRST code>:<row count>`. The Python errors stage recognises it in the message of
/// SQLSTATE 22P02 (`invalid input syntax for type integer: "restpg-check:PGRST116:2"`).
pub const CHECK_MARKER: &str = "restpg-check";

/// The `CASE` arms of one statement, first failure wins.
#[derive(Default)]
pub struct Checks {
    arms: Vec<String>,
}

impl Checks {
    /// Fails with `code` when `rows` (an SQL expression counting rows) differs from 1.
    pub fn exactly_one(&mut self, rows: &str, code: &str) {
        self.arms
            .push(format!("WHEN {rows} <> 1 THEN {}", raise(code, rows)));
    }

    /// Fails with PGRST124 when `rows` exceeds `max` (bound as a parameter).
    pub fn at_most(&mut self, params: &mut Params, rows: &str, max: u64) {
        let mut arm = format!("WHEN {rows} > ");
        params.push(&mut arm, max.min(i64::MAX as u64).to_string());
        arm.push_str("::bigint THEN ");
        arm.push_str(&raise("PGRST124", rows));
        self.arms.push(arm);
    }

    pub fn is_empty(&self) -> bool {
        self.arms.is_empty()
    }

    /// The column's expression: `null::integer` when there is nothing to check.
    pub fn push_to(&self, out: &mut String) {
        if self.arms.is_empty() {
            out.push_str("null::integer");
        } else {
            out.push_str("CASE ");
            out.push_str(&self.arms.join(" "));
            out.push_str(" END");
        }
    }
}

fn raise(code: &str, rows: &str) -> String {
    format!("('{CHECK_MARKER}:{code}:' || {rows})::integer")
}
