//! Repeating tasks: how often a task comes back, and when its next occurrence is due.

use chrono::{DateTime, Datelike, Months, TimeDelta, Utc};

use super::FieldError;
use super::priority::quoted_names;

/// How often a task comes back once completed; a task created without one does not repeat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Repeat {
    #[default]
    None,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Repeat {
    pub const ALL: [Self; 5] = [Self::None, Self::Daily, Self::Weekly, Self::Monthly, Self::Yearly];
    const FIELD: &'static str = "repeat";

    /// The name clients send and receive, which is also the column's encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }

    /// Parses a client's name for a repetition: exactly one of the lower-case names.
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

    /// The repetition named `name` (a client's value or the column's), if it names one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|repeat| repeat.as_str() == name)
    }

    pub fn repeats(self) -> bool {
        self != Self::None
    }

    /// The due date of the next occurrence of a task due at `old_due` and completed at `now`:
    /// the first `old_due + k × interval` (k ≥ 1) strictly after `now`. Each candidate is
    /// computed from `old_due` itself, never from the previous candidate, so a clamped month
    /// end does not stick (Jan 31 + 1 month = Feb 28 or 29, + 2 months = Mar 31). Months and
    /// years are calendar ones, clamped to the month's last day as chrono's
    /// `checked_add_months` does; days and weeks are exact multiples of 24 hours (UTC has no
    /// daylight saving), so the time of day is kept. `k` is found by arithmetic, not by
    /// stepping, so a due date years in the past costs no more than one last week.
    ///
    /// `None` when the task does not repeat, or when the next occurrence would lie past the
    /// last date chrono represents.
    pub fn next_due(self, old_due: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::None => None,
            Self::Daily => next_by_fixed_step(old_due, now, TimeDelta::days(1)),
            Self::Weekly => next_by_fixed_step(old_due, now, TimeDelta::weeks(1)),
            Self::Monthly => next_by_months(old_due, now, 1),
            Self::Yearly => next_by_months(old_due, now, 12),
        }
    }
}

/// The first `old_due + k × step` (k ≥ 1) after `now`, for a step of fixed length.
fn next_by_fixed_step(old_due: DateTime<Utc>, now: DateTime<Utc>, step: TimeDelta) -> Option<DateTime<Utc>> {
    let steps = if old_due > now {
        1
    } else {
        // old + (⌊(now − old) / step⌋ + 1) × step > now, and one step fewer is ≤ now.
        let elapsed = (now - old_due).num_microseconds()?;
        let step_micros = step.num_microseconds()?;
        elapsed / step_micros + 1
    };
    old_due.checked_add_signed(TimeDelta::microseconds(
        steps.checked_mul(step.num_microseconds()?)?,
    ))
}

/// The first `old_due + k × months_per_step` calendar months (k ≥ 1) after `now`.
fn next_by_months(old_due: DateTime<Utc>, now: DateTime<Utc>, months_per_step: i64) -> Option<DateTime<Utc>> {
    let month_index = |at: DateTime<Utc>| i64::from(at.year()) * 12 + i64::from(at.month0());
    let months_between = month_index(now) - month_index(old_due);
    // The candidate for k lands in month `old + k × step`: for k₀ = ⌊months_between / step⌋,
    // the candidate for k₀ − 1 lies in an earlier month than `now` (so it is not the answer),
    // and the one for k₀ + 1 in a later month (so it is). At most two candidates are tried.
    let mut steps = (months_between.div_euclid(months_per_step)).max(1);
    loop {
        let months = u32::try_from(steps.checked_mul(months_per_step)?).ok()?;
        let candidate = old_due.checked_add_months(Months::new(months))?;
        if candidate > now {
            return Some(candidate);
        }
        steps += 1;
    }
}

/// A repeating task needs a due date: its next occurrence is computed from it. Create and
/// update check the task as it would be after the change (the repetition and due date given,
/// or else those it has). The error names `repeat`, the same name on both front ends.
pub fn check_repeat_has_due_date(repeat: Repeat, due_at: Option<DateTime<Utc>>) -> Result<(), FieldError> {
    if repeat.repeats() && due_at.is_none() {
        return Err(FieldError::new(
            Repeat::FIELD,
            "value_error",
            format!(
                "Value error, a task that repeats ({}) needs a due date",
                repeat.as_str()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
            .single()
            .expect("a valid test date")
    }

    /// The next due date found by stepping from the old one candidate by candidate: the
    /// definition, against which the arithmetic is checked.
    fn by_stepping(repeat: Repeat, old_due: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        (1..)
            .map(|k| match repeat {
                Repeat::Daily => old_due + TimeDelta::days(k),
                Repeat::Weekly => old_due + TimeDelta::weeks(k),
                Repeat::Monthly => old_due
                    .checked_add_months(Months::new(k as u32))
                    .expect("in range"),
                Repeat::Yearly => old_due
                    .checked_add_months(Months::new(12 * k as u32))
                    .expect("in range"),
                Repeat::None => unreachable!("only repeating tasks step"),
            })
            .find(|candidate| *candidate > now)
            .expect("some candidate is in the future")
    }

    #[test]
    fn names_parse_round_trip_and_default_to_none() {
        assert_eq!(Repeat::default(), Repeat::None);
        for repeat in Repeat::ALL {
            assert_eq!(Repeat::parse(repeat.as_str()), Ok(repeat));
            assert_eq!(Repeat::from_name(repeat.as_str()), Some(repeat));
        }
        let error = Repeat::parse("fortnightly").expect_err("unknown");
        assert_eq!((error.field().as_str(), error.kind), ("repeat", "enum"));
        assert_eq!(
            error.message,
            "Input should be one of 'none', 'daily', 'weekly', 'monthly', 'yearly'"
        );
        assert!(Repeat::parse("Daily").is_err());
    }

    #[test]
    fn a_task_that_does_not_repeat_has_no_next_occurrence() {
        assert_eq!(
            Repeat::None.next_due(at(2026, 1, 1, 9, 0), at(2026, 6, 1, 9, 0)),
            None
        );
    }

    #[test]
    fn a_due_date_still_in_the_future_advances_by_exactly_one_interval() {
        let old_due = at(2026, 12, 10, 9, 30);
        let now = at(2026, 12, 4, 15, 0);
        assert_eq!(
            Repeat::Daily.next_due(old_due, now),
            Some(at(2026, 12, 11, 9, 30))
        );
        assert_eq!(
            Repeat::Weekly.next_due(old_due, now),
            Some(at(2026, 12, 17, 9, 30))
        );
        assert_eq!(
            Repeat::Monthly.next_due(old_due, now),
            Some(at(2027, 1, 10, 9, 30))
        );
        assert_eq!(
            Repeat::Yearly.next_due(old_due, now),
            Some(at(2027, 12, 10, 9, 30))
        );
    }

    #[test]
    fn daily_and_weekly_keep_the_time_of_day_and_land_strictly_after_now() {
        let old_due = at(2026, 11, 30, 9, 30);
        // Completed later the same day: tomorrow, same time.
        let now = at(2026, 11, 30, 18, 0);
        assert_eq!(Repeat::Daily.next_due(old_due, now), Some(at(2026, 12, 1, 9, 30)));
        // Completed exactly at a candidate: that candidate is not in the future, the next one is.
        let now = at(2026, 12, 3, 9, 30);
        assert_eq!(Repeat::Daily.next_due(old_due, now), Some(at(2026, 12, 4, 9, 30)));
        assert_eq!(
            Repeat::Weekly.next_due(old_due, now),
            Some(at(2026, 12, 7, 9, 30))
        );
        // One microsecond before a candidate: that candidate.
        let now = at(2026, 12, 7, 9, 30) - TimeDelta::microseconds(1);
        assert_eq!(
            Repeat::Weekly.next_due(old_due, now),
            Some(at(2026, 12, 7, 9, 30))
        );
        let exact = old_due + TimeDelta::microseconds(123_456);
        assert_eq!(
            Repeat::Daily.next_due(exact, at(2026, 12, 2, 0, 0)),
            Some(exact + TimeDelta::days(2))
        );
    }

    #[test]
    fn month_ends_clamp_but_later_occurrences_come_back_to_the_31st() {
        let jan_31 = at(2026, 1, 31, 8, 0);
        assert_eq!(
            Repeat::Monthly.next_due(jan_31, at(2026, 1, 31, 12, 0)),
            Some(at(2026, 2, 28, 8, 0))
        );
        // Computed from Jan 31, not from Feb 28.
        assert_eq!(
            Repeat::Monthly.next_due(jan_31, at(2026, 3, 1, 0, 0)),
            Some(at(2026, 3, 31, 8, 0))
        );
        assert_eq!(
            Repeat::Monthly.next_due(jan_31, at(2026, 4, 2, 0, 0)),
            Some(at(2026, 4, 30, 8, 0))
        );
        // In a leap year, Feb 29.
        assert_eq!(
            Repeat::Monthly.next_due(at(2028, 1, 31, 8, 0), at(2028, 2, 1, 0, 0)),
            Some(at(2028, 2, 29, 8, 0))
        );
        // Later the same month as `now` but before `now`: the month after.
        assert_eq!(
            Repeat::Monthly.next_due(at(2026, 1, 15, 8, 0), at(2026, 5, 20, 0, 0)),
            Some(at(2026, 6, 15, 8, 0))
        );
        // Later the same month as `now`, after `now`: this month.
        assert_eq!(
            Repeat::Monthly.next_due(at(2026, 1, 15, 8, 0), at(2026, 5, 10, 0, 0)),
            Some(at(2026, 5, 15, 8, 0))
        );
    }

    #[test]
    fn a_year_after_february_29_is_february_28_and_four_years_after_is_february_29() {
        let leap_day = at(2024, 2, 29, 7, 15);
        assert_eq!(
            Repeat::Yearly.next_due(leap_day, at(2024, 3, 1, 0, 0)),
            Some(at(2025, 2, 28, 7, 15))
        );
        // Completed in 2027 after Feb 28: every candidate is from Feb 29 2024, so 2028 is Feb 29.
        assert_eq!(
            Repeat::Yearly.next_due(leap_day, at(2027, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 7, 15))
        );
        assert_eq!(
            Repeat::Monthly.next_due(leap_day, at(2024, 3, 1, 0, 0)),
            Some(at(2024, 3, 29, 7, 15))
        );
    }

    #[test]
    fn a_due_date_ten_years_past_jumps_straight_to_the_first_future_occurrence() {
        let now = at(2026, 12, 4, 15, 17);
        for old_due in [
            at(2016, 12, 4, 15, 17),
            at(2016, 1, 31, 23, 59),
            at(2016, 2, 29, 6, 0),
        ] {
            for repeat in [Repeat::Daily, Repeat::Weekly, Repeat::Monthly, Repeat::Yearly] {
                let next = repeat.next_due(old_due, now).expect("in range");
                assert_eq!(
                    next,
                    by_stepping(repeat, old_due, now),
                    "{repeat:?} from {old_due}"
                );
                assert!(next > now, "{repeat:?} from {old_due}: {next}");
                assert_eq!(next.time(), old_due.time(), "{repeat:?} keeps the time of day");
            }
        }
        let old_due = at(2016, 12, 4, 15, 17);
        assert_eq!(
            Repeat::Daily.next_due(old_due, now),
            Some(at(2026, 12, 5, 15, 17))
        );
        assert_eq!(
            Repeat::Monthly.next_due(old_due, now),
            Some(at(2027, 1, 4, 15, 17))
        );
        assert_eq!(
            Repeat::Yearly.next_due(old_due, now),
            Some(at(2027, 12, 4, 15, 17))
        );
        let old_due = at(2016, 1, 31, 23, 59);
        assert_eq!(
            Repeat::Monthly.next_due(old_due, now),
            Some(at(2026, 12, 31, 23, 59))
        );
        assert_eq!(
            Repeat::Yearly.next_due(old_due, now),
            Some(at(2027, 1, 31, 23, 59))
        );
    }

    #[test]
    fn the_arithmetic_agrees_with_stepping_across_month_ends_and_leap_years() {
        let starts = [
            at(2023, 1, 29, 0, 0),
            at(2023, 1, 31, 12, 0),
            at(2023, 3, 31, 23, 59),
            at(2023, 8, 31, 1, 0),
            at(2023, 12, 31, 6, 30),
            at(2024, 2, 29, 9, 0),
        ];
        for old_due in starts {
            // Every day for three years after the due date, at a time before and after its time.
            for day in 0..(3 * 366) {
                for hour in [0, 13] {
                    let now = at(2023, 1, 1, hour, 0) + TimeDelta::days(day);
                    for repeat in [Repeat::Daily, Repeat::Weekly, Repeat::Monthly, Repeat::Yearly] {
                        assert_eq!(
                            repeat.next_due(old_due, now),
                            Some(by_stepping(repeat, old_due, now)),
                            "{repeat:?} from {old_due} at {now}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn an_occurrence_past_the_last_representable_date_is_none() {
        let last = DateTime::<Utc>::MAX_UTC - TimeDelta::hours(1);
        assert_eq!(Repeat::Daily.next_due(last, last), None);
        assert_eq!(Repeat::Yearly.next_due(last, last), None);
    }

    #[test]
    fn a_repeating_task_needs_a_due_date_and_a_plain_one_does_not() {
        let due = Some(at(2026, 12, 24, 18, 0));
        assert_eq!(check_repeat_has_due_date(Repeat::None, None), Ok(()));
        assert_eq!(check_repeat_has_due_date(Repeat::None, due), Ok(()));
        for repeat in [Repeat::Daily, Repeat::Weekly, Repeat::Monthly, Repeat::Yearly] {
            assert_eq!(check_repeat_has_due_date(repeat, due), Ok(()));
            let error = check_repeat_has_due_date(repeat, None).expect_err("no due date");
            assert_eq!(error.field(), "repeat");
            assert_eq!(error.kind, "value_error");
            assert!(error.message.contains("needs a due date"), "{}", error.message);
        }
    }
}
