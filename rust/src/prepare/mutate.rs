//! The [`Prepared`] of a write: the statement, the status before the result is known, and the headers
//! PostgREST sends for each kind of write.

use super::{statement_name, Prepared};
use crate::api_request::{preference_applied, ApiRequest, PreferReturn, PreferenceKind};
use crate::plan::mutate_plan::{MutateAction, Mutation};
use crate::plan::Media;
use crate::query;

pub(super) fn fill(
    prepared: &mut Prepared,
    req: &ApiRequest,
    action: &MutateAction,
    profile: Option<(String, String)>,
) {
    let statement = query::mutate_statement(action);
    prepared.name = statement_name(&statement.sql);
    prepared.sql = statement.sql;
    prepared.params = statement.params;
    prepared.read_only = false;
    prepared.kind = action.mutation.kind();
    prepared.count = action.count.then_some("exact");
    prepared.singular = matches!(action.media, Media::Singular { .. });
    let representation = req.preferences.representation == Some(PreferReturn::Representation);
    // The response stage refines these from the result: an upsert that only updated is 200, a PUT
    // that inserted with a representation is 201.
    prepared.status = match (action.mutation, representation) {
        (Mutation::Create, _) => 201,
        (_, true) => 200,
        (_, false) => 204,
    };
    if representation {
        prepared.content_type = Some(action.media.content_type().into());
        prepared.headers.extend(profile);
    }
    let applied = preference_applied(&req.preferences, |kind| honoured(action, kind));
    if let Some(applied) = applied {
        prepared.headers.push(("Preference-Applied".into(), applied));
    }
}

/// The preferences PostgREST echoes for each write.
fn honoured(action: &MutateAction, kind: PreferenceKind) -> bool {
    use PreferenceKind::*;
    match (action.mutation, kind) {
        // A resolution without a conflict target (no primary key, no on_conflict) does nothing.
        (Mutation::Create, Resolution) => action.on_conflict.is_some(),
        (Mutation::Create, MaxAffected) => false,
        (Mutation::SingleUpsert, Resolution | Missing | MaxAffected) => false,
        (Mutation::Delete, Resolution | Missing) => false,
        (Mutation::Update, Resolution) => false,
        _ => true,
    }
}
