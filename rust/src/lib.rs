//! restpg's core: the PostgREST query grammar, the schema cache and the SQL builder.
//!
//! A request flows through the stages in order, and a stage never imports a later one:
//! `api_request` (parse) → `plan` (resolve against the schema cache) → `query` (build SQL).
//! `execute` drives libpq for the execute stage. Only `python` knows about Python; everything else
//! is plain Rust so that `cargo test`, benches and fuzzing run without an interpreter.

pub mod api_request;
pub mod error;
pub mod execute;
pub mod freed_off_thread;
pub mod low_priority;
pub mod openapi;
pub mod plan;
pub mod prepare;
pub mod query;
pub mod schema_cache;
pub mod settings;

#[cfg(feature = "python")]
mod python;

pub use error::ApiError;
