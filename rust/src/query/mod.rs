//! Stage 3, query: turn an action plan into one SQL statement with bound parameters.

pub mod builder;
pub mod call;
pub mod check;
pub mod embed_condition;
pub mod explain;
pub mod fragment;
pub mod mutate;
pub mod sql;

pub use builder::{read_statement, Statement};
pub use mutate::mutate_statement;

#[cfg(test)]
mod tests;
