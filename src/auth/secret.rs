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

/// Parsing never fails, so that a command-line parser never echoes a rejected secret back in
/// its error message; [`Secret::check_length`] says what is wrong without the value.
impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl Secret {
    /// Refuses a secret shorter than [`Secret::MIN_BYTES`], naming `name` but not the value.
    pub fn check_length(&self, name: &str) -> Result<(), String> {
        if self.0.len() < Self::MIN_BYTES {
            return Err(format!(
                "{name} is {} bytes long; at least {} are required",
                self.0.len(),
                Self::MIN_BYTES
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_and_short_ones_are_refused() {
        let secret = Secret::new("s".repeat(32));
        assert!(!format!("{secret:?} {secret}").contains("sss"));
        assert!(secret.check_length("SECRET").is_ok());
        let short = Secret::new("short".into());
        let error = short.check_length("SECRET").expect_err("too short");
        assert!(error.contains("at least 32") && !error.contains("short"));
    }
}
