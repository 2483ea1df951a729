//! Validated inputs shared by both front ends: parse once at the edge, then trust the types.

mod task;
mod user;

pub use task::{
    NewTask, SortDirection, SortField, StatusFilter, TaskDescription, TaskFilter, TaskPatch, TaskTitle,
};
pub use user::{Owner, UserId, UserProfile};

/// Why a client-supplied value was refused. `kind` follows pydantic's error types (what FastAPI
/// clients already match on); `field` is the input field's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub kind: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            kind,
            message: message.into(),
        }
    }
}

/// Now, cut to the microsecond precision that both databases store, so a value read back
/// equals the value written.
pub fn now_micros() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

/// Unicode category Cc except the three whitespace controls that text may carry.
pub fn has_forbidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}
