//! `Accept: application/vnd.pgrst.plan…`: the statement a request would run, under `EXPLAIN`
//! (PostgREST's `explainF`). It takes the very same parameters, so the plan is the one PostgreSQL
//! picks for this request's values.

use crate::plan::negotiate::Explain;

/// `EXPLAIN (FORMAT JSON|TEXT[, ANALYZE, VERBOSE, SETTINGS, BUFFERS, WAL]) <sql>`.
///
/// `FORMAT JSON` answers one row holding the whole plan; `FORMAT TEXT` one row per line of it.
pub fn explain_sql(sql: &str, explain: &Explain) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    out.push_str("EXPLAIN (FORMAT ");
    out.push_str(if explain.text { "TEXT" } else { "JSON" });
    for option in &explain.options {
        // Options come from the parser's fixed list; anything else never reaches SQL.
        let keyword = match option.as_str() {
            "analyze" => "ANALYZE",
            "verbose" => "VERBOSE",
            "settings" => "SETTINGS",
            "buffers" => "BUFFERS",
            "wal" => "WAL",
            _ => continue,
        };
        out.push_str(", ");
        out.push_str(keyword);
    }
    out.push_str(") ");
    out.push_str(sql);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explain(text: bool, options: &[&str]) -> Explain {
        Explain {
            text,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            content_type: String::new(),
        }
    }

    #[test]
    fn wraps_with_format_and_options() {
        assert_eq!(
            explain_sql("SELECT $1", &explain(true, &[])),
            "EXPLAIN (FORMAT TEXT) SELECT $1"
        );
        assert_eq!(
            explain_sql(
                "SELECT 1",
                &explain(false, &["analyze", "verbose", "settings", "buffers", "wal"])
            ),
            "EXPLAIN (FORMAT JSON, ANALYZE, VERBOSE, SETTINGS, BUFFERS, WAL) SELECT 1"
        );
        assert_eq!(
            explain_sql("SELECT 1", &explain(false, &["costs off; DROP"])),
            "EXPLAIN (FORMAT JSON) SELECT 1"
        );
    }
}
