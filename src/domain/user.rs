//! Who is asking: the user id from a verified token.

use std::fmt;

/// A user id as the identity provider issues it: non-empty, not only whitespace, at most 255
/// characters, compared exactly (case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Option<Self> {
        let valid = !raw.trim().is_empty()
            && raw.chars().count() <= Self::MAX_CHARS
            && !super::has_forbidden_control(raw);
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The profile claims that come with a token (Better Auth puts the user object in its claims).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserProfile {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// The owner of the data a request may touch. Only authentication creates one, from a
/// verified token; every service call that reads or writes tasks takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    id: UserId,
}

impl Owner {
    /// Only for a user id that came out of a verified token.
    pub fn verified(id: UserId) -> Self {
        Self { id }
    }

    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    pub fn user_id(&self) -> &UserId {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_exact_and_bounded() {
        assert_eq!(UserId::parse("Abc").map(|u| u.0), Some("Abc".to_owned()));
        assert!(UserId::parse("").is_none());
        assert!(UserId::parse("   ").is_none());
        assert!(UserId::parse(&"x".repeat(255)).is_some());
        assert!(UserId::parse(&"x".repeat(256)).is_none());
        assert!(UserId::parse("a\u{0}b").is_none());
    }
}
