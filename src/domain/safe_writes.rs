//! What makes a write safe to race or to retry: the versions a change requires (`If-Match`,
//! `expectedVersion`), a task's entity tag, and the key that names one create
//! (`Idempotency-Key`).

use super::{FieldError, LocPart};

/// What a change requires of the task's current version. Checked by the statement that writes
/// (`… WHERE version IN (…)`), so the check and the write are one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Any existing task (no precondition, or `If-Match: *`).
    #[default]
    Any,
    /// The task's version must be one of these. Empty matches no task: an `If-Match` naming no
    /// version of ours (a weak or foreign entity tag, a malformed value) always fails.
    OneOf(Vec<i32>),
}

impl Precondition {
    /// `expectedVersion` of a GraphQL mutation: absent = any.
    pub fn expected(version: Option<i32>) -> Self {
        version.map_or(Self::Any, |version| Self::OneOf(vec![version]))
    }

    /// At most this many distinct versions of an `If-Match` list are checked (each is a bound
    /// parameter of the writing statement); a client names one, rarely two.
    pub const MAX_VERSIONS: usize = 32;

    /// The `If-Match` values of a request (several header lines read as one list): `*`, or the
    /// versions its strong entity tags name (the first [`MAX_VERSIONS`](Self::MAX_VERSIONS)
    /// distinct ones). Weak tags never match (RFC 9110 §13.1.1: strong comparison).
    pub fn if_match<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut versions = Vec::new();
        for tag in values.into_iter().flat_map(entity_tags) {
            match tag {
                EntityTag::Any => return Self::Any,
                EntityTag::Strong(opaque) => {
                    if let Some(version) = version_named(opaque)
                        && !versions.contains(&version)
                        && versions.len() < Self::MAX_VERSIONS
                    {
                        versions.push(version);
                    }
                }
                EntityTag::Weak(_) => {}
            }
        }
        Self::OneOf(versions)
    }

    pub fn allows(&self, version: i32) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&version),
        }
    }
}

/// A task's entity tag: its version, quoted (`"3"`).
pub fn entity_tag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Whether `If-None-Match` values name `version` (weak comparison, as RFC 9110 §13.1.2 says:
/// `W/"3"` matches too), or are `*`.
pub fn none_match_names(values: &[&str], version: i32) -> bool {
    values
        .iter()
        .flat_map(|value| entity_tags(value))
        .any(|tag| match tag {
            EntityTag::Any => true,
            EntityTag::Strong(opaque) | EntityTag::Weak(opaque) => version_named(opaque) == Some(version),
        })
}

enum EntityTag<'a> {
    Any,
    Strong(&'a str),
    Weak(&'a str),
}

/// The members of a header value: `*` or a comma-separated list of entity tags
/// (`"opaque"`, `W/"opaque"`). What is not an entity tag is skipped up to the next comma.
fn entity_tags(value: &str) -> Vec<EntityTag<'_>> {
    if value.trim() == "*" {
        return vec![EntityTag::Any];
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return tags;
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let parsed = quoted.strip_prefix('"').and_then(|inner| inner.split_once('"'));
        match parsed {
            Some((opaque, after)) => {
                tags.push(if weak {
                    EntityTag::Weak(opaque)
                } else {
                    EntityTag::Strong(opaque)
                });
                rest = after;
            }
            None => rest = rest.split_once(',').map_or("", |(_, after)| after),
        }
    }
}

/// The version an entity tag's opaque part names: a positive decimal, exactly as
/// [`entity_tag`] writes it (`"03"` names nothing).
fn version_named(opaque: &str) -> Option<i32> {
    let version: i32 = opaque.parse().ok()?;
    (version > 0 && version.to_string() == opaque).then_some(version)
}

/// A client's name for one create (`Idempotency-Key`, `idempotencyKey`): 1 to 255 printable
/// ASCII characters (space to `~`), kept exactly as sent, with where it was sent (for errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    key: String,
    loc: Vec<LocPart>,
}

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    /// Parses a key; an error is placed at `loc` (`header.Idempotency-Key` on REST,
    /// `idempotencyKey` on GraphQL).
    pub fn parse(raw: &str, loc: Vec<LocPart>) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::at(
                loc,
                "string_too_short",
                "String should have at least 1 character",
            ));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(FieldError::at(
                loc,
                "string_too_long",
                format!("String should have at most {} characters", Self::MAX_LEN),
            ));
        }
        if !raw.bytes().all(|byte| (b' '..=b'~').contains(&byte)) {
            return Err(FieldError::at(
                loc,
                "value_error",
                "Value error, an idempotency key must be printable ASCII (space to ~)",
            ));
        }
        Ok(Self {
            key: raw.to_owned(),
            loc,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The refusal of a request that reuses this key for another create.
    pub fn reused(&self) -> FieldError {
        FieldError::at(
            self.loc.clone(),
            "value_error",
            "Value error, this idempotency key was used with a different request",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_names_versions_by_strong_tags_only() {
        assert_eq!(Precondition::if_match(["\"3\""]), Precondition::OneOf(vec![3]));
        assert_eq!(
            Precondition::if_match([" \"3\" , \"5\"", "\"7\""]),
            Precondition::OneOf(vec![3, 5, 7])
        );
        assert_eq!(Precondition::if_match(["*"]), Precondition::Any);
        assert_eq!(Precondition::if_match([" * "]), Precondition::Any);
        // Weak, unquoted, foreign, zero, negative, padded or overflowing: nothing named.
        for value in [
            "W/\"3\"",
            "3",
            "\"abc\"",
            "\"0\"",
            "\"-1\"",
            "\"03\"",
            "\"99999999999\"",
            "",
            "\"3",
        ] {
            assert_eq!(
                Precondition::if_match([value]),
                Precondition::OneOf(vec![]),
                "{value:?}"
            );
        }
        // Repeats count once, and a list is cut at MAX_VERSIONS distinct versions.
        assert_eq!(
            Precondition::if_match(["\"4\", \"4\", \"5\""]),
            Precondition::OneOf(vec![4, 5])
        );
        let long: Vec<String> = (1..=1000).map(|v| format!("\"{v}\"")).collect();
        let Precondition::OneOf(kept) = Precondition::if_match([long.join(",").as_str()]) else {
            panic!("a list");
        };
        assert_eq!(kept, (1..=32).collect::<Vec<i32>>());
        // A malformed member does not hide the next one.
        assert_eq!(
            Precondition::if_match(["xyz, \"4\""]),
            Precondition::OneOf(vec![4])
        );
        assert!(Precondition::OneOf(vec![2, 4]).allows(4));
        assert!(!Precondition::OneOf(vec![]).allows(1));
        assert!(Precondition::Any.allows(9));
        assert_eq!(Precondition::expected(Some(2)), Precondition::OneOf(vec![2]));
        assert_eq!(Precondition::expected(None), Precondition::Any);
    }

    #[test]
    fn if_none_match_compares_weakly_and_star_matches_any_version() {
        assert!(none_match_names(&["\"3\""], 3));
        assert!(none_match_names(&["W/\"3\""], 3));
        assert!(none_match_names(&["\"1\", W/\"3\""], 3));
        assert!(none_match_names(&["*"], 8));
        assert!(!none_match_names(&["\"4\""], 3));
        assert!(!none_match_names(&["3"], 3));
        assert!(!none_match_names(&[], 3));
        assert_eq!(entity_tag(12), "\"12\"");
    }

    #[test]
    fn idempotency_keys_are_1_to_255_printable_ascii_characters() {
        let loc = || vec![LocPart::from("idempotencyKey")];
        assert_eq!(
            IdempotencyKey::parse("order 42 ~ retry", loc())
                .expect("printable")
                .as_str(),
            "order 42 ~ retry"
        );
        assert!(IdempotencyKey::parse(&"k".repeat(255), loc()).is_ok());
        for (raw, kind) in [
            ("", "string_too_short"),
            (&"k".repeat(256) as &str, "string_too_long"),
            ("tab\there", "value_error"),
            ("naïve", "value_error"),
            ("del\u{7f}", "value_error"),
        ] {
            let error = IdempotencyKey::parse(raw, loc()).expect_err(raw);
            assert_eq!(
                (error.field().as_str(), error.kind),
                ("idempotencyKey", kind),
                "{raw:?}"
            );
        }
    }
}
