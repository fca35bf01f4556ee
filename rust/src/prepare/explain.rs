//! The [`Prepared`] of a plan request (`Accept: application/vnd.pgrst.plan…`): the action's statement
//! under EXPLAIN, answered as PostgREST answers a plan: 200 with the plan as the body, only
//! `Content-Type` (and `Content-Profile`) as headers.

use super::{statement_name, Prepared};
use crate::plan::negotiate::Explain;
use crate::query::explain::explain_sql;

pub(super) fn fill(prepared: &mut Prepared, explain: &Explain, negotiated_by_profile: bool) {
    prepared.sql = explain_sql(&prepared.sql, explain);
    prepared.name = statement_name(&prepared.sql);
    prepared.explain = true;
    // The plan of the main statement is the answer; counts, ranges, the singular check and the
    // action's own headers belong to a response that is not sent.
    prepared.count_sql = None;
    prepared.count_name = None;
    prepared.count = None;
    prepared.singular = false;
    prepared.status = 200;
    prepared.content_type = Some(explain.content_type.clone());
    prepared.headers.clear();
    if negotiated_by_profile {
        prepared
            .headers
            .push(("Content-Profile".into(), prepared.schema.clone()));
    }
    // `options=analyze` executes the statement: whatever it wrote is rolled back, so asking for a
    // plan never changes data.
    prepared.rollback = true;
}
