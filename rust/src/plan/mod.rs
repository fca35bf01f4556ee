//! Stage 2, plan: resolve an `ApiRequest` against the schema cache into an [`ActionPlan`], or a
//! PGRST2xx error. Nothing here writes SQL; `query` does.

pub mod call_plan;
pub mod embed;
pub mod embed_condition;
pub mod mutate_plan;
pub mod negotiate;
pub mod range;
pub mod read_plan;
pub mod types;

pub use types::*;

use crate::api_request::{ApiRequest, Method, PreferTransaction, Resource};
use crate::error::{ApiError, ApiResult};
use crate::schema_cache::SchemaCache;
use crate::settings::{Settings, TxEnd};

/// Plan one request.
pub fn plan(cache: &SchemaCache, settings: &Settings, req: &ApiRequest) -> ApiResult<ActionPlan> {
    match (&req.resource, req.method) {
        (Resource::Root, Method::Options) => Ok(ActionPlan::Options {
            allow: "OPTIONS,GET,HEAD".into(),
        }),
        (Resource::Root, Method::Get | Method::Head) => Ok(ActionPlan::Root),
        (Resource::Root, m) => Err(ApiError::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {}", method_name(m)),
        )),
        (Resource::Relation(name), Method::Options) => {
            let table = read_plan::find_table(cache, &req.schema, name)?;
            Ok(ActionPlan::Options {
                allow: allow_for_table(table),
            })
        }
        (Resource::Relation(name), Method::Get | Method::Head) => {
            let tree = read_plan::read_plan_tree(cache, settings, req, name)?;
            let media = negotiate::negotiate_read(&req.accept, settings)?;
            Ok(ActionPlan::Read(Box::new(ReadAction {
                tree,
                media,
                count: req.preferences.count,
                head: req.method == Method::Head,
            })))
        }
        (Resource::Relation(name), _) => Ok(ActionPlan::Mutate(Box::new(mutate_plan::mutate_plan(
            cache, settings, req, name,
        )?))),
        (Resource::Routine(name), Method::Options) => Ok(ActionPlan::Options {
            allow: call_plan::allow_for_routine(cache, req, name)?,
        }),
        (Resource::Routine(name), _) => Ok(ActionPlan::Call(Box::new(call_plan::call_plan(
            cache, settings, req, name,
        )?))),
    }
}

/// How the transaction ends: `db-tx-end`, overridable by `Prefer: tx=` only under `*-allow-override`.
pub fn request_info(settings: &Settings, req: &ApiRequest) -> RequestInfo {
    let preferred = req.preferences.transaction;
    let (rollback, tx_applied) = match settings.db_tx_end {
        TxEnd::Commit => (false, None),
        TxEnd::Rollback => (true, None),
        TxEnd::CommitAllowOverride | TxEnd::RollbackAllowOverride => {
            let default_rollback = settings.db_tx_end == TxEnd::RollbackAllowOverride;
            match preferred {
                Some(p) => (p == PreferTransaction::Rollback, Some(p)),
                None => (default_rollback, None),
            }
        }
    };
    RequestInfo {
        schema: req.schema.clone(),
        rollback,
        tx_applied,
        explain: negotiate::explain(&req.accept, settings),
    }
}

/// PostgREST's `Allow` for a relation: from the schema cache (insertable/updatable/deletable and keys),
/// not from grants.
pub fn allow_for_table(table: &crate::schema_cache::Table) -> String {
    let mut allow = String::from("OPTIONS,GET,HEAD");
    if table.insertable {
        allow.push_str(",POST");
    }
    if table.insertable && table.updatable && !table.pk_cols.is_empty() {
        allow.push_str(",PUT");
    }
    if table.updatable {
        allow.push_str(",PATCH");
    }
    if table.deletable {
        allow.push_str(",DELETE");
    }
    allow
}

pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Patch => "PATCH",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
    }
}
