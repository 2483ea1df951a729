//! Why a credential was refused: the `reason` of a security event, and the client's message.

/// A refused credential. `reason()` is the vocabulary of the security events (docs/api.md#security-events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    Malformed,
    BadSignature,
    Expired,
    NotYetValid,
    BadIssuer,
    BadAudience,
    BadSubject,
    UnknownKid,
    AlgNotAllowed,
    TooLarge,
    MultipleCredentials,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Malformed => "malformed",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadIssuer => "bad_issuer",
            Self::BadAudience => "bad_audience",
            Self::BadSubject => "bad_subject",
            Self::UnknownKid => "unknown_kid",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::TooLarge => "too_large",
            Self::MultipleCredentials => "multiple_credentials",
        }
    }

    /// What the client is told. Specific enough to fix a client bug, never a hint of the key.
    pub fn message(self) -> &'static str {
        match self {
            Self::MissingToken => "Not authenticated: an Authorization: Bearer <token> header is required",
            Self::Malformed => "Invalid token: malformed",
            Self::BadSignature => "Invalid token: signature verification failed",
            Self::Expired => "Invalid token: expired",
            Self::NotYetValid => "Invalid token: not valid yet",
            Self::BadIssuer => "Invalid token: wrong issuer",
            Self::BadAudience => "Invalid token: wrong audience",
            Self::BadSubject => "Invalid token: no valid user id (sub, user_id or id)",
            Self::UnknownKid => "Invalid token: unknown signing key",
            Self::AlgNotAllowed => "Invalid token: algorithm not allowed",
            Self::TooLarge => "Invalid token: larger than 8192 bytes",
            Self::MultipleCredentials => "Exactly one Authorization header is allowed",
        }
    }

    /// 400 for a request this server will not interpret at all; 401 otherwise.
    pub fn is_bad_request(self) -> bool {
        self == Self::MultipleCredentials
    }

    /// Whether the failure spends from the client address's budget. A token past its `exp` or
    /// before its `nbf`/`iat` was signed with our key (the verifier reports these only once
    /// the signature checked out): its holder is an honest client whose token aged, and must
    /// get the 401 that makes it refresh, not a 429. Everything else — forged, malformed,
    /// wrongly signed — counts.
    pub fn counts_toward_throttle(self) -> bool {
        !matches!(self, Self::Expired | Self::NotYetValid)
    }
}
