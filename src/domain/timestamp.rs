//! The one text both front ends write an instant as: RFC 3339, UTC, microseconds and a `Z`
//! (`2026-01-18T10:00:00.123456Z`), the bytes chrono's `to_rfc3339_opts(Micros, true)` writes.

use std::fmt;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// An instant as clients read it: a REST field (serialized straight from a stack buffer) or a
/// GraphQL `DateTime` and cursor (through `Display`). A page of 1000 REST tasks carries up to
/// 3000 timestamps, and formatting each into its own `String` through chrono's general
/// formatter was a measurable part of a list's time (see BENCHMARKS.md, issue 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc3339Micros(pub DateTime<Utc>);

impl Rfc3339Micros {
    const LENGTH: usize = "2026-01-18T10:00:00.123456Z".len();

    /// The text, for the instants that have four-digit years and no leap second (every instant
    /// a task can hold in practice); `None` for the rest, which chrono writes instead.
    fn write<'b>(&self, buffer: &'b mut [u8; Self::LENGTH]) -> Option<&'b str> {
        let (date, time) = (self.0.date_naive(), self.0.time());
        let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999)?;
        let micros = Some(time.nanosecond() / 1000).filter(|micros| *micros < 1_000_000)?;
        let mut at = 0;
        let mut put = |value: u32, digits: u32, separator: u8| {
            for place in (0..digits).rev() {
                buffer[at] = b'0' + (value / 10u32.pow(place) % 10) as u8;
                at += 1;
            }
            buffer[at] = separator;
            at += 1;
        };
        put(year, 4, b'-');
        put(date.month(), 2, b'-');
        put(date.day(), 2, b'T');
        put(time.hour(), 2, b':');
        put(time.minute(), 2, b':');
        put(time.second(), 2, b'.');
        put(micros, 6, b'Z');
        std::str::from_utf8(buffer).ok()
    }

    /// Hands the text to `sink`, from the stack buffer when it can.
    fn with_text<R>(&self, sink: impl FnOnce(&str) -> R) -> R {
        let mut buffer = [0; Self::LENGTH];
        match self.write(&mut buffer) {
            Some(text) => sink(text),
            None => sink(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true)),
        }
    }
}

impl fmt::Display for Rfc3339Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
}

impl serde::Serialize for Rfc3339Micros {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_text(|text| serializer.serialize_str(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_the_bytes_chrono_writes() {
        use chrono::{NaiveDate, TimeZone};
        let chrono_text = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let sent = |at: DateTime<Utc>| {
            serde_json::to_value(Rfc3339Micros(at))
                .expect("serializable")
                .as_str()
                .map(str::to_owned)
        };
        let leap_second = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|day| day.and_hms_nano_opt(23, 59, 59, 1_234_567_891))
            .map(|naive| Utc.from_utc_datetime(&naive))
            .expect("a leap second");
        let mut instants = vec![
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::UNIX_EPOCH,
            leap_second,
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single().expect("year 0"),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59)
                .single()
                .expect("year -1"),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .single()
                .expect("year 9999")
                + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0)
                .single()
                .expect("year 10000"),
        ];
        // Instants spread over years 0..=10100 with every sub-second precision (a fixed
        // xorshift sequence, so a failure repeats).
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let seconds = (state % 318_700_000_000) as i64 - 62_167_219_200;
            let nanos = (state >> 40) as u32 % 1_000_000_000;
            instants.extend(DateTime::from_timestamp(seconds, nanos));
        }
        let mut buffer = [0; Rfc3339Micros::LENGTH];
        let mut written_from_the_buffer = 0;
        for at in instants {
            let expected = chrono_text(at);
            assert_eq!(sent(at), Some(expected.clone()), "{at:?}");
            assert_eq!(Rfc3339Micros(at).to_string(), expected, "{at:?}");
            // The buffer writes every four-digit year without a leap second; chrono the rest.
            let for_the_buffer = expected.len() == Rfc3339Micros::LENGTH && !expected.contains(":60.");
            let written = Rfc3339Micros(at).write(&mut buffer).map(str::to_owned);
            assert_eq!(written, for_the_buffer.then_some(expected), "{at:?}");
            written_from_the_buffer += usize::from(for_the_buffer);
        }
        // Years 0..=9999 are 99 % of the sequence: the buffer is what most of them went through.
        assert!(written_from_the_buffer > 19_000, "{written_from_the_buffer}");
    }
}
