//! Webhook signatures: HMAC-SHA256 over the exact raw body, compared in constant time.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// How a platform writes the digest into its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestEncoding {
    /// Shopify and WooCommerce.
    Base64,
    /// Shopware: lowercase hex.
    Hex,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing signature header `{0}`")]
    Missing(&'static str),
    #[error("signature does not match the body")]
    Mismatch,
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Computes the header value a platform would send for `body` (used by tests and the benchmark).
pub fn sign(body: &[u8], secret: &Secret, encoding: DigestEncoding) -> String {
    let digest = hmac_sha256(secret.expose().as_bytes(), body);
    match encoding {
        DigestEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
        DigestEncoding::Hex => hex::encode(digest),
    }
}

/// Verifies `header` against the body under any of `secrets` (the current one and, during a
/// rotation window, the previous one).
pub fn verify(
    body: &[u8],
    header_name: &'static str,
    header: Option<&str>,
    secrets: &[&Secret],
    encoding: DigestEncoding,
) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing(header_name))?;
    let given = match encoding {
        DigestEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(header),
        DigestEncoding::Hex => {
            hex::decode(header.to_ascii_lowercase()).map_err(|_| base64::DecodeError::InvalidLength(0))
        }
    }
    .map_err(|_| SignatureError::Mismatch)?;
    let matched = secrets.iter().fold(subtle::Choice::from(0), |acc, secret| {
        let expected = hmac_sha256(secret.expose().as_bytes(), body);
        acc | expected.ct_eq(&given)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_with_the_secret_verifies_in_both_encodings() {
        let secret = Secret::new("s3cret");
        for enc in [DigestEncoding::Base64, DigestEncoding::Hex] {
            let header = sign(b"{}", &secret, enc);
            assert_eq!(verify(b"{}", "h", Some(&header), &[&secret], enc), Ok(()));
            assert_eq!(verify(b"{ }", "h", Some(&header), &[&secret], enc), Err(SignatureError::Mismatch));
        }
    }

    #[test]
    fn the_previous_secret_verifies_while_it_is_offered() {
        let (old, new) = (Secret::new("old"), Secret::new("new"));
        let header = sign(b"x", &old, DigestEncoding::Base64);
        assert_eq!(verify(b"x", "h", Some(&header), &[&new, &old], DigestEncoding::Base64), Ok(()));
        assert_eq!(verify(b"x", "h", Some(&header), &[&new], DigestEncoding::Base64), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_empty_and_garbage_headers_are_refused() {
        let s = Secret::new("k");
        assert_eq!(verify(b"x", "h", None, &[&s], DigestEncoding::Hex), Err(SignatureError::Missing("h")));
        assert_eq!(verify(b"x", "h", Some(" "), &[&s], DigestEncoding::Hex), Err(SignatureError::Missing("h")));
        assert_eq!(verify(b"x", "h", Some("zz"), &[&s], DigestEncoding::Hex), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"x", "h", Some("%%%"), &[&s], DigestEncoding::Base64), Err(SignatureError::Mismatch));
    }
}
