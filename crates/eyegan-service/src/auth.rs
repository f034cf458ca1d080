//! Bearer tokens: the set a server accepts, and the one a client presents.
//!
//! Accepted tokens are kept only as SHA-256 digests and compared in constant time (`subtle`), so
//! neither the comparison time nor the length of a guess tells anything about a token.

use std::path::Path;

use http::HeaderValue;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::tls::{read_file, SecurityError};

/// Shortest token accepted: 16 characters.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The bearer tokens a server accepts. Never printed.
#[derive(Clone, Default)]
pub struct AcceptedTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for AcceptedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AcceptedTokens({} tokens)", self.digests.len())
    }
}

impl AcceptedTokens {
    /// No tokens: auth is off.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether auth is on (at least one token).
    pub fn is_enabled(&self) -> bool {
        !self.digests.is_empty()
    }

    /// Adds one token; `origin` names where it came from in errors.
    pub fn add(&mut self, token: &str, origin: &str) -> Result<(), SecurityError> {
        check_token(token, origin)?;
        self.digests.push(digest(token));
        Ok(())
    }

    /// Adds the tokens of a file: one per line; blank lines and lines starting with `#` are
    /// skipped. Errors name the file and line.
    pub fn add_file(&mut self, path: &Path) -> Result<(), SecurityError> {
        let text = read_file(path, "--auth-tokens-file")?;
        let text = String::from_utf8(text).map_err(|_| SecurityError::BadToken {
            origin: format!("file {}", path.display()),
            reason: "the file is not UTF-8".to_owned(),
        })?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add(line, &format!("{}:{}", path.display(), number + 1))?;
        }
        Ok(())
    }

    /// Adds comma-separated tokens (the `EYEGAN_AUTH_TOKENS` form).
    pub fn add_list(&mut self, list: &str, origin: &str) -> Result<(), SecurityError> {
        for (index, token) in list.split(',').map(str::trim).enumerate() {
            if !token.is_empty() {
                self.add(token, &format!("{origin} item {}", index + 1))?;
            }
        }
        Ok(())
    }

    /// Whether an `authorization` header value is `Bearer <an accepted token>`. Every accepted
    /// token is compared, in constant time, whatever matched first.
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(token) = authorization.and_then(bearer_token) else {
            return false;
        };
        let presented = digest_bytes(token);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, accepted| {
                found | accepted.ct_eq(&presented)
            })
            .into()
    }
}

/// The token a client presents. Never printed.
#[derive(Clone)]
pub struct BearerToken {
    header: HeaderValue,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(…)")
    }
}

impl BearerToken {
    /// A token; `origin` names where it came from in errors.
    pub fn new(token: &str, origin: &str) -> Result<Self, SecurityError> {
        let token = token.trim();
        check_token(token, origin)?;
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| bad(origin, "not a valid header value"))?;
        header.set_sensitive(true);
        Ok(Self { header })
    }

    /// The first non-comment line of a file.
    pub fn from_file(path: &Path) -> Result<Self, SecurityError> {
        let text = read_file(path, "--token-file")?;
        let text = String::from_utf8_lossy(&text);
        let line = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .ok_or_else(|| bad(&format!("file {}", path.display()), "the file has no token"))?;
        Self::new(line, &format!("file {}", path.display()))
    }

    /// The `authorization` header value, `Bearer <token>` (marked sensitive).
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }
}

fn bad(origin: &str, reason: &str) -> SecurityError {
    SecurityError::BadToken {
        origin: origin.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_token(token: &str, origin: &str) -> Result<(), SecurityError> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(bad(
            origin,
            &format!("shorter than {MIN_TOKEN_CHARS} characters"),
        ));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) || token.contains(',') {
        return Err(bad(
            origin,
            "only printable ASCII without spaces or commas is allowed",
        ));
    }
    Ok(())
}

/// `Bearer <token>` (scheme case-insensitive) → the token.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

fn digest(token: &str) -> [u8; 32] {
    digest_bytes(token.as_bytes())
}

fn digest_bytes(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "s3cret-token-0123456789";

    #[test]
    fn only_accepted_bearer_tokens_pass() {
        let mut tokens = AcceptedTokens::none();
        assert!(!tokens.is_enabled());
        tokens
            .add_list(
                &format!("{GOOD}, other-token-abcdefghij"),
                "EYEGAN_AUTH_TOKENS",
            )
            .unwrap();
        assert!(tokens.is_enabled());
        assert!(tokens.accepts(Some(format!("Bearer {GOOD}").as_bytes())));
        assert!(tokens.accepts(Some(b"bearer other-token-abcdefghij")));
        for rejected in [
            None,
            Some(&b""[..]),
            Some(GOOD.as_bytes()),
            Some(b"Bearer "),
            Some(b"Bearer s3cret-token-012345678"),
            Some(b"Basic czNjcmV0LXRva2Vu"),
        ] {
            assert!(!tokens.accepts(rejected), "{rejected:?}");
        }
    }

    #[test]
    fn token_files_skip_comments_and_name_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("# operators\n\n{GOOD}\nshort\n")).unwrap();
        let error = AcceptedTokens::none()
            .add_file(&path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("tokens:4") && error.contains("shorter"),
            "{error}"
        );

        std::fs::write(&path, format!("# operators\n{GOOD}\n")).unwrap();
        let mut tokens = AcceptedTokens::none();
        tokens.add_file(&path).unwrap();
        assert!(tokens.accepts(Some(format!("Bearer {GOOD}").as_bytes())));
        let client = BearerToken::from_file(&path).unwrap();
        assert_eq!(client.header().to_str().unwrap(), format!("Bearer {GOOD}"));
        assert!(!format!("{client:?}").contains(GOOD));
    }

    #[test]
    fn tokens_with_spaces_or_control_characters_are_refused() {
        for bad in [
            "with space in the token",
            "tab\there-0123456789",
            "comma,0123456789abc",
        ] {
            assert!(BearerToken::new(bad, "test").is_err(), "{bad:?}");
        }
    }
}
