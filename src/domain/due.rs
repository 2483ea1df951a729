//! A task's due date: an instant, accepted with any UTC offset and kept in UTC at the
//! microsecond precision both databases store.

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};

use super::FieldError;

/// When a task is due, in UTC, truncated to microseconds (so what is read back equals what was
/// written, as with [`super::now_micros`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DueAt(DateTime<Utc>);

impl DueAt {
    const FIELD: &'static str = "due_at";

    /// Parses an RFC 3339 date-time with any offset (`Z`, `+02:00`, `-05:30`); a date alone or a
    /// date-time without an offset is refused, since it names no single instant.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        DateTime::parse_from_rfc3339(raw)
            .map(Self::from_offset)
            .map_err(|_| {
                FieldError::new(
                    Self::FIELD,
                    "datetime_parsing",
                    "Input should be a valid RFC 3339 date-time with a UTC offset, e.g. 2026-12-04T09:30:00Z",
                )
            })
    }

    /// An instant already parsed (GraphQL's `DateTime` scalar), normalised to UTC microseconds.
    pub fn from_offset(at: DateTime<FixedOffset>) -> Self {
        Self::from_utc(at.with_timezone(&Utc))
    }

    /// An instant in UTC, truncated to microseconds.
    pub fn from_utc(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(6))
    }

    pub fn as_utc(self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .expect("a test instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn any_offset_is_accepted_and_kept_as_the_same_instant_in_utc() {
        for raw in [
            "2026-12-04T09:30:00Z",
            "2026-12-04T09:30:00+00:00",
            "2026-12-04T11:30:00+02:00",
            "2026-12-04T04:00:00-05:30",
            "2026-12-04t09:30:00z",
        ] {
            assert_eq!(
                DueAt::parse(raw).map(DueAt::as_utc),
                Ok(utc("2026-12-04T09:30:00Z")),
                "{raw}"
            );
        }
    }

    #[test]
    fn an_offset_that_crosses_midnight_moves_the_date() {
        assert_eq!(
            DueAt::parse("2026-12-31T23:30:00-02:00").map(|due| due.as_utc().to_rfc3339()),
            Ok("2027-01-01T01:30:00+00:00".to_owned())
        );
    }

    #[test]
    fn sub_microsecond_digits_are_cut_not_rounded() {
        let due = DueAt::parse("2026-12-04T09:30:00.123456789Z").expect("valid");
        assert_eq!(due.as_utc(), utc("2026-12-04T09:30:00.123456Z"));
        let due = DueAt::parse("2026-12-04T09:30:00.5Z").expect("valid");
        assert_eq!(due.as_utc(), utc("2026-12-04T09:30:00.500Z"));
    }

    #[test]
    fn text_that_names_no_instant_is_refused_as_a_due_at_error() {
        for raw in [
            "",
            "tomorrow",
            "2026-12-04",
            "2026-12-04T09:30:00",
            "2026-02-30T09:30:00Z",
            "2026-12-04T25:00:00Z",
            " 2026-12-04T09:30:00Z",
        ] {
            let error = DueAt::parse(raw).expect_err(raw);
            assert_eq!(error.field(), "due_at", "{raw}");
            assert_eq!(error.kind, "datetime_parsing", "{raw}");
        }
    }
}
