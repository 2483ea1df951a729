//! Bearer-token verification and minting. The key, and with it the algorithm, comes from
//! configuration: the token's header only has to agree with it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use super::cache::{KeySource, VerifiedTokens};
use super::jwks::JwksKeys;
use super::{AuthFailure, Secret};
use crate::domain::{UserId, UserProfile};

/// Clock skew tolerated for `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;
/// The longest credential read; a longer one is refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8192;

/// Who a verified token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub profile: UserProfile,
    /// The `exp` claim (seconds since the epoch), when it fits: a WebSocket authenticated with
    /// the token is closed once it passes (plus the leeway).
    pub expires_at: Option<u64>,
}

/// Verifies bearer tokens against the configured keys and claim rules.
pub struct TokenVerifier {
    hs256: Option<DecodingKey>,
    jwks: Option<JwksKeys>,
    issuer: Option<String>,
    audience: Option<String>,
    /// Tokens verified before, until they expire (see [`super::cache`]).
    verified: VerifiedTokens,
}

impl TokenVerifier {
    pub fn new(
        hs256_secret: Option<&Secret>,
        jwks: Option<JwksKeys>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Self {
        Self {
            hs256: hs256_secret.map(|s| DecodingKey::from_secret(s.expose().as_bytes())),
            jwks,
            issuer,
            audience,
            verified: VerifiedTokens::default(),
        }
    }

    /// Verifies `token`. The key is chosen by configuration and `kid`; the header's `alg` must
    /// then be the one algorithm that key is for.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, AuthFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::TooLarge);
        }
        let now = jsonwebtoken::get_current_timestamp();
        // Read before any key lookup: a JWKS refetched meanwhile makes this entry stale.
        let jwks_generation = self.jwks.as_ref().map_or(0, JwksKeys::generation);
        if let Some(verified) = self.verified.get(token, now, jwks_generation) {
            return Ok(verified);
        }
        let header = read_header(token)?;
        let jwks_key;
        let (key, algorithm, source) = match header.alg.as_str() {
            "HS256" => (
                self.hs256.as_ref().ok_or(AuthFailure::AlgNotAllowed)?,
                Algorithm::HS256,
                KeySource::Secret,
            ),
            "EdDSA" | "ES256" | "RS256" => {
                let jwks = self.jwks.as_ref().ok_or(AuthFailure::AlgNotAllowed)?;
                let algorithm: Algorithm = header.alg.parse().map_err(|_| AuthFailure::AlgNotAllowed)?;
                jwks_key = jwks.key_for(header.kid.as_deref(), algorithm).await?;
                if jwks_key.algorithm != algorithm {
                    return Err(AuthFailure::AlgNotAllowed);
                }
                (
                    &jwks_key.key,
                    algorithm,
                    KeySource::Jwks {
                        generation: jwks_generation,
                    },
                )
            }
            // `none` in any case, HS384/512, PS*, ES384…: no configured key is for them.
            _ => return Err(AuthFailure::AlgNotAllowed),
        };
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation(algorithm))
            .map_err(|e| classify(e.kind()))?
            .claims;
        check_issued_at(&claims)?;
        // `exp` is required and was validated; a value too odd to hold as seconds is simply
        // not cached.
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        let verified = VerifiedToken {
            user_id: user_id_claim(&claims)?,
            profile: profile_claims(&claims),
            expires_at,
        };
        if let Some(expires_at) = expires_at {
            self.verified.insert(token, verified.clone(), expires_at, source);
        }
        Ok(verified)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}

/// What the verifier reads from a token's header before any key is chosen.
struct TokenHeader {
    alg: String,
    kid: Option<String>,
}

/// Reads `alg` and `kid` without trusting them: `alg` only has to match the chosen key. Other
/// header fields (`jku`, `x5u`, `jwk`…) are never looked at.
fn read_header(token: &str) -> Result<TokenHeader, AuthFailure> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthFailure::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthFailure::Malformed)?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| AuthFailure::Malformed)?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => return Err(AuthFailure::Malformed),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthFailure::Malformed),
    };
    Ok(TokenHeader { alg, kid })
}

/// jsonwebtoken checks the algorithm and the signature before it reads a single claim, so
/// `Expired` and `NotYetValid` (like the `iat` check after `decode`) only ever describe a token
/// signed with our key: the throttle relies on it (`AuthFailure::counts_toward_throttle`), and
/// the `forged_…` tests below pin it.
fn classify(kind: &ErrorKind) -> AuthFailure {
    match kind {
        ErrorKind::InvalidSignature => AuthFailure::BadSignature,
        ErrorKind::ExpiredSignature => AuthFailure::Expired,
        ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
        ErrorKind::InvalidIssuer => AuthFailure::BadIssuer,
        ErrorKind::InvalidAudience => AuthFailure::BadAudience,
        ErrorKind::InvalidSubject => AuthFailure::BadSubject,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => AuthFailure::BadIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => AuthFailure::BadAudience,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => AuthFailure::AlgNotAllowed,
        _ => AuthFailure::Malformed,
    }
}

/// `iat` is optional, but when present it must be a number and not in the future.
fn check_issued_at(claims: &Map<String, Value>) -> Result<(), AuthFailure> {
    match claims.get("iat") {
        None => Ok(()),
        Some(Value::Number(iat)) => {
            let iat = iat.as_f64().ok_or(AuthFailure::Malformed)?;
            let now = jsonwebtoken::get_current_timestamp() as f64;
            if iat > now + LEEWAY_SECONDS as f64 {
                Err(AuthFailure::NotYetValid)
            } else {
                Ok(())
            }
        }
        Some(_) => Err(AuthFailure::Malformed),
    }
}

/// The first of `sub`, `user_id`, `id` that is present must be a valid user id: no fallback past
/// an invalid one.
fn user_id_claim(claims: &Map<String, Value>) -> Result<UserId, AuthFailure> {
    let claim = ["sub", "user_id", "id"]
        .iter()
        .find_map(|name| claims.get(*name))
        .ok_or(AuthFailure::BadSubject)?;
    match claim {
        Value::String(id) => UserId::parse(id).ok_or(AuthFailure::BadSubject),
        _ => Err(AuthFailure::BadSubject),
    }
}

/// Email and name when the token carries them as sensible strings; anything else is dropped
/// rather than stored.
fn profile_claims(claims: &Map<String, Value>) -> UserProfile {
    let text = |name: &str, max_chars: usize| match claims.get(name) {
        Some(Value::String(value))
            if !value.is_empty()
                && value.chars().count() <= max_chars
                && !value.chars().any(char::is_control) =>
        {
            Some(value.clone())
        }
        _ => None,
    };
    UserProfile {
        email: text("email", 320),
        name: text("name", 255),
    }
}

/// What to put in a minted token.
pub struct MintRequest<'a> {
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    pub ttl: std::time::Duration,
    pub issuer: Option<&'a str>,
    pub audience: Option<&'a str>,
}

/// Signs an HS256 token the way Better Auth's shared-secret mode does (raw secret bytes).
pub fn mint_hs256(secret: &Secret, request: &MintRequest<'_>) -> anyhow::Result<String> {
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = Map::new();
    claims.insert("sub".into(), request.user_id.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + request.ttl.as_secs()).into());
    for (name, value) in [
        ("email", request.email),
        ("name", request.name),
        ("iss", request.issuer),
        ("aud", request.audience),
    ] {
        if let Some(value) = value {
            claims.insert(name.into(), value.into());
        }
    }
    let key = EncodingKey::from_secret(secret.expose().as_bytes());
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &key,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("unit-test-secret-unit-test-secret-0123".into())
    }

    fn mint(user: &str) -> String {
        let request = MintRequest {
            user_id: user,
            email: Some("a@example.com"),
            name: None,
            ttl: std::time::Duration::from_secs(600),
            issuer: None,
            audience: None,
        };
        mint_hs256(&secret(), &request).expect("minting works")
    }

    #[tokio::test]
    async fn a_minted_token_verifies_and_carries_its_profile() {
        let verifier = TokenVerifier::new(Some(&secret()), None, None, None);
        let verified = verifier.verify(&mint("user-1")).await.expect("valid");
        assert_eq!(verified.user_id.as_str(), "user-1");
        assert_eq!(verified.profile.email.as_deref(), Some("a@example.com"));
    }

    #[tokio::test]
    async fn an_unsigned_token_is_refused_whatever_the_case_of_none() {
        let verifier = TokenVerifier::new(Some(&secret()), None, None, None);
        let token = mint("user-1");
        let payload = token.split('.').nth(1).expect("payload");
        for alg in ["none", "None", "NONE"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let forged = format!("{header}.{payload}.");
            assert_eq!(verifier.verify(&forged).await, Err(AuthFailure::AlgNotAllowed));
        }
    }

    fn sign(claims: Value, secret: &str) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("signing works")
    }

    #[tokio::test]
    async fn a_validly_signed_token_out_of_its_time_window_is_expired_or_not_yet_valid() {
        let verifier = TokenVerifier::new(Some(&secret()), None, None, None);
        let now = jsonwebtoken::get_current_timestamp();
        let key = secret();
        let cases = [
            (
                serde_json::json!({"sub": "u", "exp": now - 120}),
                AuthFailure::Expired,
            ),
            (
                serde_json::json!({"sub": "u", "exp": now + 600, "nbf": now + 300}),
                AuthFailure::NotYetValid,
            ),
            (
                serde_json::json!({"sub": "u", "exp": now + 600, "iat": now + 300}),
                AuthFailure::NotYetValid,
            ),
        ];
        for (claims, failure) in cases {
            assert_eq!(verifier.verify(&sign(claims, key.expose())).await, Err(failure));
        }
    }

    #[tokio::test]
    async fn forged_tokens_out_of_their_time_window_are_bad_signatures() {
        // What makes an expired token exempt from the failure budget must not be reachable
        // without the key: with the wrong secret, the time claims are never looked at.
        let verifier = TokenVerifier::new(Some(&secret()), None, None, None);
        let now = jsonwebtoken::get_current_timestamp();
        let forger = "not-the-configured-secret-0123456789abcdef";
        for claims in [
            serde_json::json!({"sub": "u", "exp": now - 120}),
            serde_json::json!({"sub": "u", "exp": now + 600, "nbf": now + 300}),
            serde_json::json!({"sub": "u", "exp": now + 600, "iat": now + 300}),
        ] {
            assert_eq!(
                verifier.verify(&sign(claims.clone(), forger)).await,
                Err(AuthFailure::BadSignature),
                "{claims}"
            );
        }
    }

    #[tokio::test]
    async fn a_configured_issuer_is_required() {
        let verifier = TokenVerifier::new(Some(&secret()), None, Some("https://auth.example".into()), None);
        assert_eq!(
            verifier.verify(&mint("user-1")).await,
            Err(AuthFailure::BadIssuer)
        );
    }
}
