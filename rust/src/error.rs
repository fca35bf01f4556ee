//! Errors every stage can return, shaped as PostgREST shapes them on the wire:
//! `{"code", "message", "details", "hint"}` plus the HTTP status.
//!
//! Code ranges follow PostgREST: PGRST1xx request (api_request), PGRST2xx schema cache (plan),
//! PGRST3xx JWT (auth, in Python). Keep the "PGRST" prefix in every code so it can be grepped.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// A string, an array/object (PGRST201 lists candidates) or null.
    pub details: Value,
    pub hint: Value,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            hint: Value::Null,
        }
    }

    #[must_use]
    pub fn details(mut self, details: impl Into<Value>) -> Self {
        self.details = details.into();
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<Value>) -> Self {
        self.hint = hint.into();
        self
    }

    /// The JSON error body exactly as PostgREST sends it (all four keys, null when absent).
    pub fn body(&self) -> String {
        serde_json::json!({
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        })
        .to_string()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
