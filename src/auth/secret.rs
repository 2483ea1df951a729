//! A secret that never prints: `Debug` and `Display` show a placeholder.

use std::fmt;
use std::str::FromStr;

#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The shortest HS256 secret accepted (RFC 7518 §3.2: at least the hash output size).
    pub const MIN_BYTES: usize = 32;

    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl FromStr for Secret {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.len() < Self::MIN_BYTES {
            return Err(format!(
                "the secret is {} bytes long; at least {} are required",
                value.len(),
                Self::MIN_BYTES
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_and_short_ones_are_refused() {
        let secret: Secret = "s".repeat(32).parse().expect("32 bytes is enough");
        assert!(!format!("{secret:?} {secret}").contains("sss"));
        assert!("short".parse::<Secret>().is_err());
    }
}
