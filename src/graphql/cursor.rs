//! Opaque keyset cursors: base64url (no padding) of a small JSON object naming the ordering it
//! was made for and the position of one row in it:
//! `{"v":1,"f":"CREATED_AT","d":"DESC","k":"2026-01-18T10:00:00.000000Z","i":"<uuid>"}`.
//! The key `k` is a time, a title, a priority's column number (`"0"` to `"2"`), or for
//! `DUE_AT` a time or `""` for a task without a due date.
//!
//! A cursor carries no owner data. Every query is scoped to the caller, so a cursor made for
//! someone else only marks a position in the caller's own list: it can never reveal another
//! user's rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::bad_input;
use crate::domain::{Priority, Rfc3339Micros, SortDirection, SortField};
use crate::error::AppError;
use crate::service::tasks::{Keyset, SortKey};

const VERSION: u8 = 1;
/// Far above any cursor this server makes (a 200-character title encodes to under 1 KiB).
const MAX_CURSOR_CHARS: usize = 2048;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    v: u8,
    f: String,
    d: String,
    k: String,
    i: Uuid,
}

/// The ordering a cursor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ordering {
    pub sort: SortField,
    pub direction: SortDirection,
}

impl Ordering {
    fn field_name(self) -> &'static str {
        match self.sort {
            SortField::CreatedAt => "CREATED_AT",
            SortField::UpdatedAt => "UPDATED_AT",
            SortField::Title => "TITLE",
            SortField::DueAt => "DUE_AT",
            SortField::Priority => "PRIORITY",
        }
    }

    fn direction_name(self) -> &'static str {
        match self.direction {
            SortDirection::Asc => "ASC",
            SortDirection::Desc => "DESC",
        }
    }
}

/// The cursor of the row at `keyset` in `ordering`.
pub fn encode(ordering: Ordering, keyset: &Keyset) -> String {
    let time = |at: &chrono::DateTime<Utc>| Rfc3339Micros(*at).to_string();
    let key = match &keyset.key {
        SortKey::Time(at) => time(at),
        SortKey::Text(text) => text.clone(),
        SortKey::Priority(priority) => priority.to_string(),
        SortKey::Due(due) => due.as_ref().map(time).unwrap_or_default(),
    };
    let payload = Payload {
        v: VERSION,
        f: ordering.field_name().to_owned(),
        d: ordering.direction_name().to_owned(),
        k: key,
        i: keyset.id,
    };
    // Serializing a struct of strings cannot fail.
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Reads the cursor passed as argument `field` (`after` or `before`) for a list in `ordering`.
/// Anything this server did not make for that ordering is `BAD_USER_INPUT` on that field.
pub fn decode(field: &'static str, cursor: &str, ordering: Ordering) -> Result<Keyset, AppError> {
    let malformed = || bad_input(field, format!("{field} is not a cursor of this list"));
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(malformed());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    let payload: Payload = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    if payload.v != VERSION {
        return Err(malformed());
    }
    if payload.f != ordering.field_name() || payload.d != ordering.direction_name() {
        return Err(bad_input(
            field,
            format!(
                "{field} is a cursor of a list ordered by {} {}, not {} {}: start again from the first page",
                payload.f,
                payload.d,
                ordering.field_name(),
                ordering.direction_name()
            ),
        ));
    }
    let time = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| malformed())
    };
    let key = match ordering.sort {
        SortField::CreatedAt | SortField::UpdatedAt => SortKey::Time(time(&payload.k)?),
        SortField::Title => SortKey::Text(payload.k),
        SortField::Priority => payload
            .k
            .parse::<i16>()
            .ok()
            .filter(|n| Priority::from_column(*n).is_some())
            .map(SortKey::Priority)
            .ok_or_else(malformed)?,
        SortField::DueAt if payload.k.is_empty() => SortKey::Due(None),
        SortField::DueAt => SortKey::Due(Some(time(&payload.k)?)),
    };
    Ok(Keyset { key, id: payload.i })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED_DESC: Ordering = Ordering {
        sort: SortField::CreatedAt,
        direction: SortDirection::Desc,
    };

    fn keyset() -> Keyset {
        Keyset {
            key: SortKey::Time(
                chrono::DateTime::parse_from_rfc3339("2026-01-18T10:00:00.123456Z")
                    .expect("time")
                    .with_timezone(&Utc),
            ),
            id: Uuid::now_v7(),
        }
    }

    #[test]
    fn a_cursor_reads_back_as_the_position_it_was_made_for() {
        let keyset = keyset();
        let cursor = encode(CREATED_DESC, &keyset);
        assert_eq!(decode("after", &cursor, CREATED_DESC).ok(), Some(keyset));
    }

    #[test]
    fn a_title_cursor_keeps_the_title_exactly() {
        let ordering = Ordering {
            sort: SortField::Title,
            direction: SortDirection::Asc,
        };
        let keyset = Keyset {
            key: SortKey::Text("  \"Ünï\" 🦀 ".to_owned()),
            id: Uuid::now_v7(),
        };
        let cursor = encode(ordering, &keyset);
        assert_eq!(decode("before", &cursor, ordering).ok(), Some(keyset));
    }

    #[test]
    fn due_date_and_priority_cursors_read_back_including_a_missing_due_date() {
        for (sort, key) in [
            (SortField::DueAt, SortKey::Due(None)),
            (SortField::DueAt, keyset().key.into_due()),
            (SortField::Priority, SortKey::Priority(2)),
            (SortField::Priority, SortKey::Priority(0)),
        ] {
            let ordering = Ordering {
                sort,
                direction: SortDirection::Asc,
            };
            let keyset = Keyset {
                key,
                id: Uuid::now_v7(),
            };
            let cursor = encode(ordering, &keyset);
            assert_eq!(decode("after", &cursor, ordering).ok(), Some(keyset));
        }
        let priority = Ordering {
            sort: SortField::Priority,
            direction: SortDirection::Desc,
        };
        let out_of_range = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"v": 1, "f": "PRIORITY", "d": "DESC", "k": "7", "i": Uuid::nil()}).to_string(),
        );
        assert!(decode("after", &out_of_range, priority).is_err());
    }

    impl SortKey {
        fn into_due(self) -> SortKey {
            match self {
                SortKey::Time(at) => SortKey::Due(Some(at)),
                other => other,
            }
        }
    }

    #[test]
    fn a_cursor_of_another_ordering_is_refused() {
        let cursor = encode(CREATED_DESC, &keyset());
        for ordering in [
            Ordering {
                sort: SortField::CreatedAt,
                direction: SortDirection::Asc,
            },
            Ordering {
                sort: SortField::UpdatedAt,
                direction: SortDirection::Desc,
            },
        ] {
            match decode("after", &cursor, ordering) {
                Err(AppError::Validation(fields)) => assert_eq!(fields[0].field(), "after"),
                other => panic!("expected a validation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_cursors_are_refused() {
        let wrong_version = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"v": 2, "f": "CREATED_AT", "d": "DESC", "k": "2026-01-18T10:00:00Z",
                "i": Uuid::nil()})
            .to_string(),
        );
        let bad_time = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"v": 1, "f": "CREATED_AT", "d": "DESC", "k": "yesterday", "i": Uuid::nil()})
                .to_string(),
        );
        for cursor in [
            "",
            "!!!",
            "bm90IGpzb24",
            &wrong_version,
            &bad_time,
            &"A".repeat(5000),
        ] {
            assert!(
                matches!(
                    decode("before", cursor, CREATED_DESC),
                    Err(AppError::Validation(_))
                ),
                "{cursor:?} was accepted"
            );
        }
    }
}
