//! Resolve `rel.col.op.value` inside a logic tree (restpg's answer to PostgREST issue #3162) into
//! a [`RelatedCondition`]: the path names embeds of the level the tree belongs to, exactly as an
//! embedded filter's key would (`rel.sub.col`), and the last segment is a column of the last one.
//!
//! Semantics: the condition holds for a row when at least one row related to it through the
//! embeds' relationships satisfies the filter. The embeds' own filters, order and limits do not
//! apply (they shape the embedded output; this filters the parent), and the test does not hide
//! embedded rows. `rel.sub.is.null` / `rel.sub.not.is.null` test that no / some related row exists.

use crate::api_request::{EmbedPath, Filter};
use crate::error::{ApiError, ApiResult};
use crate::plan::read_plan::{not_embedded, resolve_filter};
use crate::plan::types::{Condition, ReadPlanTree, RelatedCondition, RelatedStep};
use crate::schema_cache::{Relationship, SchemaCache};

pub fn resolve(
    cache: &SchemaCache,
    node: &ReadPlanTree,
    path: &EmbedPath,
    filter: &Filter,
) -> ApiResult<RelatedCondition> {
    let mut steps = Vec::new();
    let mut current = node;
    for name in path {
        current = child(current, name)?;
        steps.push(step(current)?);
    }
    let (negated, condition) = match resolve_filter(cache, current, filter)? {
        // `rel.sub.is.null` names an embed of the last level: one more hop, without a condition.
        Condition::NullEmbed { negated, .. } => {
            steps.push(step(child(current, &filter.field.name)?)?);
            (!negated, None)
        }
        other => (false, Some(other)),
    };
    Ok(RelatedCondition {
        negated,
        steps,
        condition,
    })
}

fn child<'t>(node: &'t ReadPlanTree, name: &str) -> ApiResult<&'t ReadPlanTree> {
    node.children
        .iter()
        .find(|c| c.node.output_name() == name)
        .ok_or_else(|| not_embedded(name))
}

fn step(embed: &ReadPlanTree) -> ApiResult<RelatedStep> {
    let rel = embed
        .node
        .rel_to_parent
        .clone()
        .ok_or_else(|| not_embedded(&embed.node.rel_name))?;
    if matches!(rel, Relationship::Computed { .. }) {
        return Err(
            ApiError::new(400, "PGRST127", "Feature not implemented").details(format!(
                "Conditions on the computed relationship '{}' inside logic trees are not implemented",
                embed.node.output_name()
            )),
        );
    }
    Ok(RelatedStep {
        from: embed.node.from.clone(),
        rel,
        alias: format!("{}_x", embed.node.from_alias.as_deref().unwrap_or("pgrst")),
    })
}
