//! Conditions on embedded resources inside logic trees (`or=(name.eq.x,author.name.eq.y)`), a
//! restpg extension (PostgREST issue #3162): `[NOT] EXISTS` over the rows related through the
//! chain of embeds, correlated to the row being filtered.
//!
//! ```sql
//! EXISTS (SELECT 1 FROM "s"."authors" AS "pgrst_1_x"
//!         WHERE "pgrst_1_x"."id" = <parent>."author_id" AND "pgrst_1_x"."name" = $1)
//! ```

use crate::plan::types::RelatedCondition;
use crate::query::builder::{join_condition, junction_join};
use crate::query::fragment;
use crate::query::sql::{self, Params};

/// Render `related` for a row of the level named by `qualifier`.
pub fn related(out: &mut String, params: &mut Params, qualifier: &str, related: &RelatedCondition) {
    if related.negated {
        out.push_str("NOT ");
    }
    let mut parent = qualifier.to_owned();
    for (i, step) in related.steps.iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        let alias = sql::ident(&step.alias);
        out.push_str("EXISTS (SELECT 1 FROM ");
        out.push_str(&sql::qualified(&step.from));
        out.push_str(" AS ");
        out.push_str(&alias);
        junction_join(out, &step.rel, &step.alias);
        out.push_str(" WHERE ");
        // The plan only builds steps over foreign keys, which always correlate.
        out.push_str(&join_condition(&step.rel, &step.alias, &parent).unwrap_or_else(|| "TRUE".into()));
        parent = alias;
    }
    if let Some(cond) = &related.condition {
        out.push_str(" AND ");
        fragment::condition(out, params, &parent, cond);
    }
    for _ in &related.steps {
        out.push(')');
    }
}
