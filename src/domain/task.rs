//! Task inputs: what a title, a description and a list request may be.

use chrono::{DateTime, Utc};

use super::{DueAt, FieldError, Priority, Repeat, Tag, TaskTags, has_forbidden_control};

/// A task title: trimmed of Unicode whitespace, then 1..=200 characters (Unicode scalar values),
/// with no control characters other than `\n`, `\r`, `\t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub const MAX_CHARS: usize = 200;
    const FIELD: &'static str = "title";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if has_forbidden_control(raw) {
            return Err(control_character_error(Self::FIELD));
        }
        let trimmed = raw.trim();
        let length = trimmed.chars().count();
        if length == 0 {
            return Err(FieldError::new(
                Self::FIELD,
                "string_too_short",
                "String should have at least 1 character",
            ));
        }
        if length > Self::MAX_CHARS {
            return Err(FieldError::new(
                Self::FIELD,
                "string_too_long",
                format!("String should have at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A task description: stored exactly as sent (never trimmed), at most 1000 characters, with no
/// control characters other than `\n`, `\r`, `\t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub const MAX_CHARS: usize = 1000;
    const FIELD: &'static str = "description";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if has_forbidden_control(raw) {
            return Err(control_character_error(Self::FIELD));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                Self::FIELD,
                "string_too_long",
                format!("String should have at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn control_character_error(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        "value_error",
        format!("Value error, {field} must not contain control characters other than \\n, \\r and \\t"),
    )
}

/// A task to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    pub completed: bool,
    /// [`Priority::Medium`] when the client sends none.
    pub priority: Priority,
    pub due_at: Option<DueAt>,
    pub tags: TaskTags,
    /// [`Repeat::None`] when the client sends none; a repeating task needs `due_at`.
    pub repeat: Repeat,
}

/// A partial update: `None` leaves a field as it is; `description: Some(None)` and
/// `due_at: Some(None)` clear theirs; `tags: Some(…)` replaces the whole set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskPatch {
    pub title: Option<TaskTitle>,
    pub description: Option<Option<TaskDescription>>,
    pub completed: Option<bool>,
    pub priority: Option<Priority>,
    pub due_at: Option<Option<DueAt>>,
    pub tags: Option<TaskTags>,
    pub repeat: Option<Repeat>,
}

impl TaskPatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.completed.is_none()
            && self.priority.is_none()
            && self.due_at.is_none()
            && self.tags.is_none()
            && self.repeat.is_none()
    }
}

/// Which tasks a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Pending,
    Completed,
}

/// What a list is ordered by; ties are always broken by the task id in the same direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Title,
    /// The due date, tasks without one last in both directions.
    DueAt,
    /// Low < medium < high (so descending is most urgent first).
    Priority,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

/// Which tasks of an owner a list or a count covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub status: StatusFilter,
    /// Case-insensitive (ASCII letters) substring of the title or the description; `%` and `_`
    /// are literal characters. Always a [`SearchText`] that passed its rule.
    pub search: Option<String>,
    /// Any of these priorities; empty for any priority.
    pub priority: Vec<Priority>,
    /// Tasks carrying every one of these tags (matched by key, so ASCII case does not matter).
    pub tags: Vec<Tag>,
    /// Due strictly before this instant (tasks without a due date never match).
    pub due_before: Option<DateTime<Utc>>,
    /// Due strictly after this instant (tasks without a due date never match).
    pub due_after: Option<DateTime<Utc>>,
    /// `Some(true)`: only overdue tasks (due in the past and not completed); `Some(false)`: only
    /// tasks that are not overdue.
    pub overdue: Option<bool>,
}

impl TaskFilter {
    /// A filter whose search passed [`SearchText::parse`]: how both front ends build one.
    pub fn new(status: StatusFilter, search: Option<SearchText>) -> Self {
        Self {
            status,
            search: search.map(SearchText::into_inner),
            ..Self::default()
        }
    }
}

/// What a list searches titles and descriptions for: at most 1000 characters, with no control
/// characters other than `\n`, `\r`, `\t`. Kept exactly as sent (an empty one matches every
/// task).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub const MAX_CHARS: usize = 1000;

    /// Control characters are named before the length, as the first rule broken.
    pub fn parse(raw: String) -> Result<Self, SearchRefusal> {
        if has_forbidden_control(&raw) {
            return Err(SearchRefusal::ControlCharacter);
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(SearchRefusal::TooLong);
        }
        Ok(Self(raw))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Why a search text was refused. The rule is one; the wording is each front end's: GraphQL
/// says it plainly (the `Display` text), REST in pydantic's terms ([`Self::field_error`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SearchRefusal {
    #[error("search must not contain control characters")]
    ControlCharacter,
    #[error("search must be at most {} characters", SearchText::MAX_CHARS)]
    TooLong,
}

impl SearchRefusal {
    pub const FIELD: &'static str = "search";

    /// The refusal as pydantic words it, for the `search` field.
    pub fn field_error(self) -> FieldError {
        match self {
            Self::ControlCharacter => {
                FieldError::new(Self::FIELD, "value_error", format!("Value error, {self}"))
            }
            Self::TooLong => FieldError::new(
                Self::FIELD,
                "string_too_long",
                format!("String should have at most {} characters", SearchText::MAX_CHARS),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed_then_counted_in_characters() {
        assert_eq!(
            TaskTitle::parse("  Buy milk \n").map(TaskTitle::into_inner),
            Ok("Buy milk".into())
        );
        assert_eq!(
            TaskTitle::parse(&"é".repeat(200)).map(|t| t.as_str().chars().count()),
            Ok(200)
        );
        assert_eq!(
            TaskTitle::parse(&"🦀".repeat(200)).map(|t| t.as_str().chars().count()),
            Ok(200)
        );
        assert_eq!(
            TaskTitle::parse(&"a".repeat(201)).unwrap_err().kind,
            "string_too_long"
        );
        assert_eq!(TaskTitle::parse("").unwrap_err().kind, "string_too_short");
        assert_eq!(
            TaskTitle::parse(" \u{3000}\t ").unwrap_err().kind,
            "string_too_short"
        );
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_and_tabs() {
        assert_eq!(TaskTitle::parse("a\u{0}b").unwrap_err().kind, "value_error");
        assert_eq!(TaskTitle::parse("a\u{7}b").unwrap_err().kind, "value_error");
        assert_eq!(
            TaskDescription::parse("x\u{1b}[31m").unwrap_err().field(),
            "description"
        );
        assert!(TaskTitle::parse("a\tb").is_ok());
        assert!(TaskDescription::parse("line\r\nline\t").is_ok());
    }

    #[test]
    fn a_search_is_bounded_free_of_control_characters_and_kept_exactly() {
        let kept = |raw: &str| SearchText::parse(raw.to_owned()).map(SearchText::into_inner);
        assert_eq!(kept(" 100% _done_\t"), Ok(" 100% _done_\t".to_owned()));
        assert_eq!(kept(""), Ok(String::new()));
        assert_eq!(kept(&"é".repeat(1000)).map(|s| s.chars().count()), Ok(1000));
        assert_eq!(kept(&"s".repeat(1001)), Err(SearchRefusal::TooLong));
        assert_eq!(kept("a\u{0}b"), Err(SearchRefusal::ControlCharacter));
        assert_eq!(kept("\u{85}"), Err(SearchRefusal::ControlCharacter));
        // Control characters are named before the length.
        assert_eq!(
            kept(&format!("{}\u{1}", "s".repeat(1001))),
            Err(SearchRefusal::ControlCharacter)
        );
    }

    #[test]
    fn a_refused_search_is_worded_plainly_or_as_pydantic_does() {
        assert_eq!(
            SearchRefusal::ControlCharacter.to_string(),
            "search must not contain control characters"
        );
        assert_eq!(
            SearchRefusal::TooLong.to_string(),
            "search must be at most 1000 characters"
        );
        let control = SearchRefusal::ControlCharacter.field_error();
        assert_eq!(
            (control.field(), control.kind, control.message.as_str()),
            (
                "search".to_owned(),
                "value_error",
                "Value error, search must not contain control characters"
            )
        );
        let long = SearchRefusal::TooLong.field_error();
        assert_eq!(
            (long.kind, long.message.as_str()),
            ("string_too_long", "String should have at most 1000 characters")
        );
    }

    #[test]
    fn a_description_is_kept_exactly_and_bounded() {
        assert_eq!(
            TaskDescription::parse("  spaced  ").map(TaskDescription::into_inner),
            Ok("  spaced  ".into())
        );
        assert_eq!(
            TaskDescription::parse("").map(TaskDescription::into_inner),
            Ok(String::new())
        );
        assert!(TaskDescription::parse(&"d".repeat(1000)).is_ok());
        assert_eq!(
            TaskDescription::parse(&"d".repeat(1001)).unwrap_err().kind,
            "string_too_long"
        );
    }
}
