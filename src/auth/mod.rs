//! Authentication: bearer-token verification, the extractor both front ends use, and the
//! security events every refusal emits.

mod events;
mod extractor;
mod failure;
mod secret;
mod token;

pub use events::{RequestMeta, access_denied};
pub use extractor::{AuthUser, authenticate};
pub use failure::AuthFailure;
pub use secret::Secret;
pub use token::{MintRequest, TokenVerifier, VerifiedToken, mint_hs256};
