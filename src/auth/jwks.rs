//! Public keys from a JWKS endpoint (Better Auth's `/api/auth/jwks`), cached by `kid`.
//!
//! The set is fetched at start (a failure does not stop the server), refetched when a token
//! names an unknown `kid` — at most once per refetch interval (30 s), the start-up fetch
//! included — and the last good set is kept when a refetch fails. A request that triggers a
//! refetch waits for it at most [`MAX_REFETCH_WAIT`]. Keys come only from this address: never
//! from a token's `jku`, `x5u` or `jwk` header.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::sync::Mutex;

use super::AuthFailure;

/// How long a request waits for a refetch triggered by an unknown `kid`.
pub const MAX_REFETCH_WAIT: Duration = Duration::from_secs(2);

/// A verification key and the one algorithm it may be used with.
#[derive(Clone)]
pub struct PublicKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<PublicKey>>,
    /// When the last fetch was attempted (successful or not): the rate limit's clock.
    last_attempt: Option<Instant>,
}

/// The JWKS key source. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct JwksKeys {
    url: String,
    client: reqwest::Client,
    refetch_interval: Duration,
    keys: Arc<RwLock<KeySet>>,
    /// Serialises fetches: concurrent unknown `kid`s wait for one fetch instead of starting many.
    fetching: Arc<Mutex<()>>,
    /// Bumped each time a fetched key set replaces the current one: what the previous set
    /// verified is not trusted from the token cache any more.
    generation: Arc<AtomicU64>,
}

impl JwksKeys {
    pub fn new(url: String, refetch_interval: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(MAX_REFETCH_WAIT)
            // A JWKS endpoint that redirects elsewhere is not followed: keys come from this URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            url,
            client,
            refetch_interval,
            keys: Arc::default(),
            fetching: Arc::default(),
            generation: Arc::default(),
        }
    }

    /// The start-up fetch, in the background: a down auth server only delays JWKS tokens.
    pub fn prefetch(&self) {
        let keys = self.clone();
        tokio::spawn(async move {
            let _guard = keys.fetching.lock().await;
            keys.fetch().await;
        });
    }

    /// The key for `kid` (or, without a `kid`, the only key for `algorithm`), refetching the set
    /// once if it is unknown and the rate limit allows.
    pub async fn key_for(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Arc<PublicKey>, AuthFailure> {
        if let Some(key) = self.lookup(kid, algorithm) {
            return Ok(key);
        }
        let refetched = tokio::time::timeout(MAX_REFETCH_WAIT, async {
            let _guard = self.fetching.lock().await;
            // Another request may have refetched while this one waited.
            if self.lookup(kid, algorithm).is_none() && self.may_refetch() {
                self.fetch().await;
            }
        })
        .await;
        if refetched.is_err() {
            tracing::warn!(url = %self.url, "JWKS refetch did not finish in time");
        }
        self.lookup(kid, algorithm).ok_or(AuthFailure::UnknownKid)
    }

    /// How many key sets have been fetched: changes whenever the keys may have.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn lookup(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<Arc<PublicKey>> {
        let keys = self.keys.read().ok()?;
        match kid {
            Some(kid) => keys.by_kid.get(kid).cloned(),
            None => {
                let mut candidates = keys.by_kid.values().filter(|k| k.algorithm == algorithm);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                }
            }
        }
    }

    fn may_refetch(&self) -> bool {
        self.keys
            .read()
            .map(|keys| {
                keys.last_attempt
                    .is_none_or(|at| at.elapsed() >= self.refetch_interval)
            })
            .unwrap_or(false)
    }

    /// Fetches the set; on success replaces the cache (keys no longer published stop working),
    /// on failure keeps the last good set.
    async fn fetch(&self) {
        if let Ok(mut keys) = self.keys.write() {
            keys.last_attempt = Some(Instant::now());
        }
        match self.download().await {
            Ok(by_kid) => {
                tracing::info!(url = %self.url, keys = by_kid.len(), "JWKS fetched");
                if let Ok(mut keys) = self.keys.write() {
                    keys.by_kid = by_kid;
                    self.generation.fetch_add(1, Ordering::Release);
                }
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "JWKS fetch failed; keeping the last good keys")
            }
        }
    }

    async fn download(&self) -> anyhow::Result<HashMap<String, Arc<PublicKey>>> {
        let response = self.client.get(&self.url).send().await?.error_for_status()?;
        let document: Value = response.json().await?;
        let Some(entries) = document.get("keys").and_then(Value::as_array) else {
            anyhow::bail!("the JWKS document has no \"keys\" array");
        };
        Ok(entries.iter().filter_map(usable_key).collect())
    }
}

/// A published key this server will verify with, keyed by `kid`: Ed25519 (EdDSA), P-256
/// (ES256) or RSA (RS256). Symmetric (`oct`) keys and anything else are skipped, as is a key
/// whose declared `alg` disagrees with its type.
fn usable_key(entry: &Value) -> Option<(String, Arc<PublicKey>)> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).ok()?;
    let kid = jwk.common.key_id.clone()?;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        _ => return None,
    };
    let declared_matches = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::EdDSA) => algorithm == Algorithm::EdDSA,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(_) => false,
    };
    if !declared_matches {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Arc::new(PublicKey { key, algorithm })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_asymmetric_keys_of_the_three_families_are_used() {
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"});
        assert_eq!(
            usable_key(&ed).map(|(kid, k)| (kid, k.algorithm)),
            Some(("a".into(), Algorithm::EdDSA))
        );
        let oct = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "b"});
        assert!(
            usable_key(&oct).is_none(),
            "a symmetric key must never verify tokens"
        );
        let no_kid =
            json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert!(usable_key(&no_kid).is_none());
        let mislabelled = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "c", "alg": "RS256"});
        assert!(usable_key(&mislabelled).is_none());
    }
}
