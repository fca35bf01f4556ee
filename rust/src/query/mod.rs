//! Stage 3, query: turn an action plan into one SQL statement with bound parameters.

pub mod builder;
pub mod embed_condition;
pub mod fragment;
pub mod sql;

pub use builder::{read_statement, Statement};

#[cfg(test)]
mod tests;
