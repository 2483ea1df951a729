//! How urgent a task is. Stored as a small integer that orders like the priorities themselves,
//! so an index on it serves "most urgent first".

use super::FieldError;

/// A task's priority; a task created without one is [`Priority::Medium`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
}

impl Priority {
    /// Every priority, least urgent first.
    pub const ALL: [Self; 3] = [Self::Low, Self::Medium, Self::High];
    const FIELD: &'static str = "priority";

    /// The name clients send and receive (`low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Parses a client's name for a priority: exactly one of the lower-case names.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::from_name(raw).ok_or_else(|| {
            FieldError::new(
                Self::FIELD,
                "enum",
                format!(
                    "Input should be one of {}",
                    quoted_names(Self::ALL.map(Self::as_str))
                ),
            )
        })
    }

    /// The priority named `name`, if it names one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|priority| priority.as_str() == name)
    }

    /// The column encoding: 0 low, 1 medium, 2 high (so `ORDER BY priority` orders by urgency).
    pub fn as_column(self) -> i16 {
        match self {
            Self::Low => 0,
            Self::Medium => 1,
            Self::High => 2,
        }
    }

    /// Reads the column encoding; `None` for a value no priority has (the column's CHECK
    /// constraint keeps such values out).
    pub fn from_column(value: i16) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|priority| priority.as_column() == value)
    }
}

/// `'a', 'b', 'c'`: the choices of an enumerated input, as the REST layer words them.
pub(super) fn quoted_names<const N: usize>(names: [&str; N]) -> String {
    names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_without_a_priority_is_medium() {
        assert_eq!(Priority::default(), Priority::Medium);
    }

    #[test]
    fn the_three_names_parse_and_round_trip() {
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(priority.as_str()), Ok(priority));
        }
        assert_eq!(Priority::parse("high"), Ok(Priority::High));
    }

    #[test]
    fn other_spellings_are_refused_with_the_choices() {
        for raw in ["High", "HIGH", " high", "urgent", "", "2"] {
            let error = Priority::parse(raw).expect_err(raw);
            assert_eq!(error.kind, "enum");
            assert_eq!(error.field(), "priority");
            assert_eq!(error.message, "Input should be one of 'low', 'medium', 'high'");
        }
    }

    #[test]
    fn the_column_encoding_orders_like_the_priorities_and_round_trips() {
        let encoded = Priority::ALL.map(Priority::as_column);
        assert_eq!(encoded, [0, 1, 2]);
        assert!(Priority::Low < Priority::Medium && Priority::Medium < Priority::High);
        for priority in Priority::ALL {
            assert_eq!(Priority::from_column(priority.as_column()), Some(priority));
        }
        assert_eq!(Priority::from_column(3), None);
        assert_eq!(Priority::from_column(-1), None);
    }
}
