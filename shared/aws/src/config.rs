//! The shop configuration (TOML) from a Secrets Manager secret string.
//!
//! Errors never carry the secret's text: a TOML parse error's message quotes the offending line
//! (and with it, possibly, a webhook secret), so only its position is kept.

use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use stammkunde_domain::config::{AppConfig, ConfigError};
use thiserror::Error;

use crate::sdk_error::is_transient;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigLoadError {
    #[error("could not read secret {secret_id}")]
    Fetch {
        secret_id: String,
        /// Whether a later attempt may succeed (throttling, network).
        retryable: bool,
        #[source]
        source: Box<SdkError<GetSecretValueError, HttpResponse>>,
    },
    #[error("secret {secret_id} has no string value (the configuration is stored as TOML text)")]
    NotText { secret_id: String },
    #[error("configuration in secret {secret_id} is not valid TOML or has unknown or mistyped keys, at line {line}, column {column}")]
    Toml { secret_id: String, line: usize, column: usize },
    #[error("configuration in secret {secret_id} is invalid: {reason}")]
    Invalid { secret_id: String, reason: String },
}

pub async fn load_app_config(client: &Client, secret_id: &str) -> Result<AppConfig, ConfigLoadError> {
    let out = client.get_secret_value().secret_id(secret_id).send().await.map_err(|err| ConfigLoadError::Fetch {
        secret_id: secret_id.to_owned(),
        retryable: is_transient(&err),
        source: Box::new(err),
    })?;
    let text = out.secret_string().ok_or_else(|| ConfigLoadError::NotText { secret_id: secret_id.to_owned() })?;
    AppConfig::from_toml(text).map_err(|err| match err {
        ConfigError::Toml(toml) => {
            let (line, column) = toml.span().map(|span| position(text, span.start)).unwrap_or((0, 0));
            ConfigLoadError::Toml { secret_id: secret_id.to_owned(), line, column }
        }
        // The domain's validation messages name shops, domains and fields, never secret values.
        ConfigError::Invalid(reason) => ConfigLoadError::Invalid { secret_id: secret_id.to_owned(), reason },
    })
}

/// One-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_are_one_based() {
        assert_eq!(super::position("a = 1\nb = x", 10), (2, 5));
        assert_eq!(super::position("abc", 0), (1, 1));
        assert_eq!(super::position("abc", 99), (1, 4));
    }
}
