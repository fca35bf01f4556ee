//! Stage 3, query: turn an action plan into one SQL statement with bound parameters.
