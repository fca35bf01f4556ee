//! The execute stage's engine: one request's statements through a libpq pipeline, driven from here so
//! that the per-request calls cost no interpreter work (`loadtest/execute_cost.py` measured the Python
//! version at 26–41 µs per request above libpq's own work, on two machines).
//!
//! The connection itself stays psycopg's (the pool opens and watches it): this module calls the same
//! libpq that psycopg loaded, resolved from the process's already loaded copy ([`libpq::load`] refuses to
//! load another), on the `PGconn *` psycopg exposes. Waiting for the socket stays with the event loop:
//! every call here returns at once.

pub mod libpq;
mod pipeline;
mod planned;

pub use pipeline::{Lost, Params, PgError, Pipeline, PqResult, Purpose};
