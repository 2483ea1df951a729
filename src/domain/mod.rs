//! Validated inputs shared by both front ends: parse once at the edge, then trust the types.

mod due;
mod priority;
mod repeat;
mod safe_writes;
mod tags;
mod task;
mod timestamp;
mod user;

pub use due::DueAt;
pub use priority::Priority;
pub use repeat::{Repeat, check_repeat_has_due_date};
pub use safe_writes::{IdempotencyKey, Precondition, entity_tag, none_match_names};
pub use tags::{Tag, TaskTags};
pub use timestamp::Rfc3339Micros;

pub use task::{
    NewTask, SearchRefusal, SearchText, SortDirection, SortField, StatusFilter, TaskDescription, TaskFilter,
    TaskPatch, TaskTitle,
};
pub use user::{Owner, UserId, UserProfile};

/// Why a client-supplied value was refused. `kind` follows pydantic's error types (what FastAPI
/// clients already match on). `loc` says where the value was: for REST the part of the request
/// (`body`, `query`) then the field (or, for malformed JSON, the column); for GraphQL the input
/// field or argument alone. Domain parsers name only the field; each front end places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub loc: Vec<LocPart>,
    pub kind: &'static str,
    pub message: String,
}

/// A step of a `loc` path: a name, or a position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LocPart {
    Name(std::borrow::Cow<'static, str>),
    Index(u64),
}

impl From<&'static str> for LocPart {
    fn from(name: &'static str) -> Self {
        Self::Name(name.into())
    }
}

impl From<String> for LocPart {
    fn from(name: String) -> Self {
        Self::Name(name.into())
    }
}

impl From<usize> for LocPart {
    fn from(index: usize) -> Self {
        Self::Index(index as u64)
    }
}

impl std::fmt::Display for LocPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Index(index) => write!(f, "{index}"),
        }
    }
}

impl FieldError {
    /// A refused value of the input field `field`.
    pub fn new(field: &'static str, kind: &'static str, message: impl Into<String>) -> Self {
        Self::at(vec![field.into()], kind, message)
    }

    /// A refused value at `loc`.
    pub fn at(loc: Vec<LocPart>, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            loc,
            kind,
            message: message.into(),
        }
    }

    /// The same error, placed under `part` of the request (`body`, `query`).
    pub fn within(mut self, part: &'static str) -> Self {
        self.loc.insert(0, part.into());
        self
    }

    /// The field, as GraphQL's `extensions.field` names it: the path joined with dots.
    pub fn field(&self) -> String {
        self.loc
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `field: message` for each error, joined with `; `: a one-line summary.
    pub fn summary(errors: &[Self]) -> String {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field(), e.message))
            .collect::<Vec<_>>()
            .join("; ")
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
