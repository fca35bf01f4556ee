//! The planner's row estimate for `Prefer: count=planned|estimated`.

use serde::Deserialize;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Plan")]
    plan: Node,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "Plan Rows")]
    plan_rows: f64,
}

/// The top node's estimate from `EXPLAIN (FORMAT JSON)`'s text (or a bare number); None when absent or
/// not understood.
pub fn planned_rows(raw: Option<&[u8]>) -> Option<i64> {
    let text = std::str::from_utf8(raw?).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let entries: Vec<Entry> = serde_json::from_str(text).ok()?;
    entries.first().map(|entry| entry.plan.plan_rows as i64)
}

#[cfg(test)]
mod tests {
    use super::planned_rows;

    #[test]
    fn reads_the_top_node_estimate() {
        let explain = br#"[{"Plan": {"Node Type": "Seq Scan", "Plan Rows": 1234.0, "Plans": []}}]"#;
        assert_eq!(planned_rows(Some(explain)), Some(1234));
    }

    #[test]
    fn reads_a_bare_number() {
        assert_eq!(planned_rows(Some(b" 42\n")), Some(42));
    }

    #[test]
    fn anything_else_is_no_estimate() {
        assert_eq!(planned_rows(None), None);
        assert_eq!(planned_rows(Some(b"[]")), None);
        assert_eq!(planned_rows(Some(b"not json")), None);
        assert_eq!(planned_rows(Some(b"")), None);
    }
}
