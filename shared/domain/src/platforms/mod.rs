//! Turning each platform's webhook payloads into typed changes. Pure functions of (topic, body,
//! shop, time): the HTTP handler reads headers and verifies signatures before calling these.

pub mod shopify;
pub mod shopware;
pub mod woocommerce;

use crate::ingest::Change;

/// What a verified payload means for us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    Changes(Vec<Change>),
    /// A topic we do not act on. Answered with 2xx so the platform keeps the subscription alive.
    Ignored {
        reason: String,
    },
}

/// Parses a JSON body, mapping serde's error to a 400 reason without echoing the body.
pub fn parse_json(body: &[u8]) -> Result<serde_json::Value, crate::error::InputError> {
    serde_json::from_slice(body).map_err(|e| {
        crate::error::InputError::MalformedJson(format!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            e.classify_label()
        ))
    })
}

trait ClassifyLabel {
    fn classify_label(&self) -> &'static str;
}

impl ClassifyLabel for serde_json::Error {
    fn classify_label(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
    }
}
