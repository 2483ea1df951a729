//! Authentication: bearer-token verification (HS256 secret, JWKS), the extractor both front
//! ends use, throttling of repeated failures, and the security events every refusal emits.

mod cache;
mod events;
mod extractor;
mod failure;
mod jwks;
mod secret;
mod throttle;
mod token;

pub use events::{RequestMeta, access_denied};
pub use extractor::{AuthUser, authenticate};
pub use failure::AuthFailure;
pub use jwks::JwksKeys;
pub use secret::Secret;
pub use throttle::FailureThrottle;
pub use token::{LEEWAY_SECONDS, MintRequest, TokenVerifier, mint_hs256};

use crate::client_addr::TrustedProxies;

/// Everything that decides whether a request is authenticated.
pub struct Authenticator {
    pub verifier: TokenVerifier,
    pub throttle: FailureThrottle,
    /// Whose forwarding headers name the client the throttle and the security events see.
    pub trusted_proxies: TrustedProxies,
}
