//! Tokens already verified, remembered until they expire, so a client that sends the same
//! bearer token on every request pays for its signature once (an HMAC is cheap, an EdDSA,
//! ES256 or RS256 verification is not).
//!
//! Only successful verifications are kept, keyed by the whole token (not a hash of it, so no
//! two tokens can share an entry). An entry is used only while the token's `exp` (plus the
//! leeway the verifier allows) is in the future, and, for a token verified with a JWKS key,
//! only while the key set it was checked against is still the current one: a refetched JWKS
//! (a key rotated out) sends every such token through verification again. Every other check
//! the verifier makes (`nbf`, `iat`, `iss`, `aud`, the subject) gives the same answer for the
//! same token later, so the cached answer is the answer. The cache is bounded by the bytes of
//! the tokens it holds.

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::token::{LEEWAY_SECONDS, VerifiedToken};

/// At most this many bytes of tokens (plus a fixed overhead per entry) are remembered: about
/// 10,000 typical tokens, a few megabytes whatever their size.
const CAPACITY_BYTES: u64 = 4 * 1024 * 1024;
/// What an entry costs beside its token: the claims kept and the map's own bookkeeping.
const ENTRY_OVERHEAD_BYTES: u64 = 160;

/// Which key verified a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The HS256 secret, fixed for the life of the process.
    Secret,
    /// A key of the JWKS as of this fetch generation.
    Jwks { generation: u64 },
}

#[derive(Clone)]
struct Entry {
    verified: VerifiedToken,
    /// Seconds since the epoch after which the token is expired (`exp` + leeway).
    usable_until: u64,
    source: KeySource,
}

#[derive(Clone)]
struct TokenBytes;

impl Weighter<Box<str>, Entry> for TokenBytes {
    fn weight(&self, token: &Box<str>, _: &Entry) -> u64 {
        token.len() as u64 + ENTRY_OVERHEAD_BYTES
    }
}

/// The verified tokens of one verifier.
pub struct VerifiedTokens {
    entries: Cache<Box<str>, Entry, TokenBytes>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        let estimated_entries = (CAPACITY_BYTES / (512 + ENTRY_OVERHEAD_BYTES)) as usize;
        Self {
            entries: Cache::with_weighter(estimated_entries, CAPACITY_BYTES, TokenBytes),
        }
    }
}

impl VerifiedTokens {
    /// The remembered verification of `token`, if it is still good at `now` (seconds since the
    /// epoch) with the JWKS at `jwks_generation`.
    pub fn get(&self, token: &str, now: u64, jwks_generation: u64) -> Option<VerifiedToken> {
        let entry = self.entries.get(token)?;
        let key_current = match entry.source {
            KeySource::Secret => true,
            KeySource::Jwks { generation } => generation == jwks_generation,
        };
        (key_current && now <= entry.usable_until).then_some(entry.verified)
    }

    /// Remembers a successful verification of `token`, whose `exp` claim is `expires_at`.
    pub fn insert(&self, token: &str, verified: VerifiedToken, expires_at: u64, source: KeySource) {
        let entry = Entry {
            verified,
            usable_until: expires_at.saturating_add(LEEWAY_SECONDS),
            source,
        };
        self.entries.insert(token.into(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{UserId, UserProfile};

    fn verified(user: &str) -> VerifiedToken {
        VerifiedToken {
            user_id: UserId::parse(user).expect("user id"),
            profile: UserProfile::default(),
            expires_at: None,
        }
    }

    #[test]
    fn an_entry_lasts_until_exp_plus_the_leeway() {
        let cache = VerifiedTokens::default();
        cache.insert("t", verified("alice"), 1_000, KeySource::Secret);
        assert_eq!(cache.get("t", 900, 0), Some(verified("alice")));
        assert_eq!(cache.get("t", 1_000 + LEEWAY_SECONDS, 0), Some(verified("alice")));
        assert_eq!(cache.get("t", 1_001 + LEEWAY_SECONDS, 0), None);
        assert_eq!(cache.get("other", 900, 0), None);
    }

    #[test]
    fn a_refetched_jwks_invalidates_what_its_keys_verified() {
        let cache = VerifiedTokens::default();
        cache.insert(
            "jwks",
            verified("alice"),
            1_000,
            KeySource::Jwks { generation: 3 },
        );
        cache.insert("hs256", verified("bob"), 1_000, KeySource::Secret);
        assert_eq!(cache.get("jwks", 900, 3), Some(verified("alice")));
        assert_eq!(cache.get("jwks", 900, 4), None);
        assert_eq!(cache.get("hs256", 900, 4), Some(verified("bob")));
    }

    #[test]
    fn the_cache_holds_a_bounded_number_of_bytes() {
        let cache = VerifiedTokens::default();
        let token = |i: usize| format!("{i:08}{}", "x".repeat(4_000));
        for i in 0..5_000 {
            cache.insert(&token(i), verified("alice"), 1_000, KeySource::Secret);
        }
        let kept = (0..5_000)
            .filter(|&i| cache.get(&token(i), 900, 0).is_some())
            .count();
        // 5,000 tokens of 4 KB are 20 MB: no more than the capacity's worth is kept.
        assert!(kept > 0, "the cache keeps recent tokens");
        assert!(
            (kept as u64) * (4_008 + ENTRY_OVERHEAD_BYTES) <= CAPACITY_BYTES,
            "{kept} tokens kept"
        );
    }
}
