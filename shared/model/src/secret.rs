//! A string that must never reach a log: tokens, refresh tokens, client secrets.

use std::fmt;

/// Holds a secret value. `Debug` and `Display` print a placeholder, so a secret inside a
/// struct that gets logged or formatted into an error stays hidden; only [`Secret::expose`]
/// gives the value, and only the code that sends it over the wire should call it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Secrets can be read from JSON (a token endpoint's answer) but not written: nothing
/// serialises one by accident.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(deserializer).map(Secret::new)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("5Aep861-refresh-token");
        assert!(!format!("{secret:?} {secret}").contains("5Aep861"));
        assert_eq!(secret.expose(), "5Aep861-refresh-token");
    }
}
