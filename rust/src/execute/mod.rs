//! The execute stage's engine: connections the core opens and owns, and one request's statements through
//! a libpq pipeline, driven from here so that the per-request calls cost no interpreter work
//! (`loadtest/execute_cost.py` measured the Python version at 26–41 µs per request above libpq's own
//! work, on two machines). No psycopg on this path: importing it was most of a worker's start.
//!
//! Waiting for the socket stays with the event loop: every call here returns at once.

pub mod blocking;
mod connect;
pub mod libpq;
mod pipeline;
mod planned;

pub use connect::{parse_conninfo, Cancel, Poll};
pub use pipeline::{Lost, Params, PgError, Pipeline, PqResult, Purpose};
