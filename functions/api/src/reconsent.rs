//! Re-permission through the merchant API: consents imported from the shop's previous tool
//! (`POST …/consents/imports`), and the run that finds double opt-ins from before the consent
//! ledger (`POST …/consents/reconsent`). Both give each customer a deadline and schedule their
//! re-permission mail (`services::reconsent`); what may go before and after the deadline is
//! `mail::contact::permission`.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::ids::{CustomerId, IdempotencyKey};
use stammkunde_http::Reply;
use stammkunde_services::reconsent::{Import, ImportRow, ReconsentError};

use crate::{body, ApiService};

/// Most customers one import takes: each is a handful of reads and conditional writes, and an
/// import must finish well inside the API's 29 seconds. A longer list goes in parts, each under
/// its own idempotency key.
pub const IMPORT_ROWS_MAX: usize = 100;
/// An import's body: far more than 100 rows need, far less than a mistaken upload.
pub const IMPORT_BODY_BYTES_MAX: usize = 256 * 1024;
/// The import's `source` (which tool) and a row's (where there): together they fit a record's
/// source (`consent::SOURCE_CHARS_MAX`) with the `import: ` before them.
const TOOL_CHARS_MAX: usize = 120;
const WHERE_CHARS_MAX: usize = 160;
/// Row errors named in a refusal.
const ERRORS_LISTED_MAX: usize = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    idempotency_key: String,
    /// The tool the consents come from (`Mailchimp`, `CleverReach: newsletter form`).
    source: String,
    consents: Vec<ImportedConsent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportedConsent {
    customer_id: String,
    /// When the person consented there (RFC 3339), if the tool says. Read as text, so that a
    /// refusal can name it.
    #[serde(default)]
    consented_at: Option<String>,
    /// Where they consented there (a form, a page), if the tool says.
    #[serde(default)]
    source: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// The previous answer's `next`; none to start.
    #[serde(default)]
    cursor: Option<String>,
}

/// A merchant's text for the proof: refused, not cleaned, if it holds control characters (a line
/// break in a source is an attempt at something).
fn text(field: &str, raw: &str, max: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(format!("`{field}` is empty"));
    }
    if trimmed.chars().count() > max {
        return Err(format!("`{field}` is longer than {max} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(format!("`{field}` holds control characters"));
    }
    Ok(trimmed.to_owned())
}

impl ApiService {
    pub(crate) async fn import_consents(&self, shop: &ShopConfig, raw: &Bytes) -> Result<Reply, Reply> {
        if raw.len() > IMPORT_BODY_BYTES_MAX {
            let reason = format!("an import is at most {IMPORT_BODY_BYTES_MAX} bytes; send it in parts");
            return Err(Reply::error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", reason));
        }
        let request: ImportBody = body::json(raw)?;
        let import = parse_import(&request, self.clock.now()).map_err(Reply::bad_request)?;
        let report = self.reconsent.import(shop, &import).await.map_err(refusal)?;
        Ok(Reply::json(json!({
            "idempotency_key": import.key,
            "rows": report.rows,
            "imported": report.imported,
            "skipped": report.skipped,
            "confirm_by": report.confirm_by,
        })))
    }

    pub(crate) async fn run_reconsent(&self, shop: &ShopConfig, raw: &Bytes) -> Result<Reply, Reply> {
        let request: RunBody = if raw.is_empty() { RunBody::default() } else { body::json(raw)? };
        let report = self.reconsent.ask_unproven(shop, request.cursor).await.map_err(refusal)?;
        Ok(Reply::json(json!({
            "customers": report.customers,
            "scheduled": report.scheduled,
            "next": report.next,
        })))
    }
}

/// Every row checked before anything is written; a refusal names the rows (first 20).
fn parse_import(request: &ImportBody, now: DateTime<Utc>) -> Result<Import, String> {
    let key = IdempotencyKey::parse(&request.idempotency_key).map_err(|e| e.to_string())?;
    let tool = text("source", &request.source, TOOL_CHARS_MAX)?;
    if request.consents.is_empty() {
        return Err("`consents` is empty".into());
    }
    if request.consents.len() > IMPORT_ROWS_MAX {
        return Err(format!("at most {IMPORT_ROWS_MAX} consents per import; send the rest in parts"));
    }
    let mut rows = Vec::with_capacity(request.consents.len());
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (index, consent) in request.consents.iter().enumerate() {
        match parse_row(consent, &tool, now, &mut seen) {
            Ok(row) => rows.push(row),
            Err(reason) => errors.push(format!("consents[{index}]: {reason}")),
        }
    }
    if !errors.is_empty() {
        let count = errors.len();
        errors.truncate(ERRORS_LISTED_MAX);
        return Err(format!("{count} consents are not valid, nothing was imported: {}", errors.join("; ")));
    }
    Ok(Import { key, rows })
}

fn parse_row(
    consent: &ImportedConsent,
    tool: &str,
    now: DateTime<Utc>,
    seen: &mut HashSet<CustomerId>,
) -> Result<ImportRow, String> {
    let customer_id = CustomerId::parse(&consent.customer_id).map_err(|e| e.to_string())?;
    let claimed_at = match consent.consented_at.as_deref() {
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw)
                .map_err(|_| "`consented_at` is not a time like 2021-03-04T18:12:00Z".to_owned())?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    if claimed_at.is_some_and(|at| at > now) {
        return Err("`consented_at` lies in the future".into());
    }
    let source = match consent.source.as_deref() {
        Some(place) => format!("import: {tool}; {}", text("source", place, WHERE_CHARS_MAX)?),
        None => format!("import: {tool}"),
    };
    if !seen.insert(customer_id.clone()) {
        return Err("the customer is named in an earlier row too".into());
    }
    Ok(ImportRow { customer_id, claimed_at, source })
}

fn refusal(error: ReconsentError) -> Reply {
    match error {
        ReconsentError::Store(e) => e.into(),
        ReconsentError::MailDisabled => Reply::error(StatusCode::CONFLICT, "mail_disabled", error.to_string()),
        ReconsentError::UnknownCustomers(ids) => {
            let named: Vec<&str> = ids.iter().map(CustomerId::as_str).collect();
            let reason = format!("customers not known in this shop, nothing was imported: {}", named.join(", "));
            Reply::error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_customers", reason)
        }
        ReconsentError::KeyReused(_) => {
            Reply::error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", error.to_string())
        }
        ReconsentError::Invalid(e) => Reply::bad_request(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> ImportBody {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn now() -> DateTime<Utc> {
        "2026-05-04T10:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_import_names_the_tool_and_the_place_in_each_records_source() {
        let request = body(json!({"idempotency_key": "mc-1", "source": "Mailchimp", "consents": [
            {"customer_id": "c-1", "consented_at": "2021-03-04T10:00:00Z", "source": "Newsletter-Formular"},
            {"customer_id": "c-2"},
        ]}));
        let import = parse_import(&request, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(import.rows[0].source, "import: Mailchimp; Newsletter-Formular");
        assert_eq!(import.rows[0].claimed_at, "2021-03-04T10:00:00Z".parse().ok());
        assert_eq!((import.rows[1].source.as_str(), import.rows[1].claimed_at), ("import: Mailchimp", None));
    }

    #[test]
    fn an_import_with_a_bad_row_is_refused_whole_and_names_the_rows() {
        let request = body(json!({"idempotency_key": "mc-1", "source": "Mailchimp", "consents": [
            {"customer_id": "c-1", "consented_at": "2027-01-01T00:00:00Z"},
            {"customer_id": "c-2", "source": "form\r\nBcc: victim@example.com"},
            {"customer_id": "c-3"},
            {"customer_id": "c-3"},
            {"customer_id": "c'; DROP TABLE"},
        ]}));
        let refusal = parse_import(&request, now()).err().unwrap_or_default();
        for part in [
            "4 consents are not valid",
            "consents[0]: `consented_at` lies in the future",
            "consents[1]: `source` holds control",
            "consents[3]: the customer is named",
            "consents[4]:",
        ] {
            assert!(refusal.contains(part), "{part:?} in {refusal}");
        }
        assert!(!refusal.contains("consents[2]"), "{refusal}");
        let many: Vec<_> = (0..=IMPORT_ROWS_MAX).map(|i| json!({"customer_id": format!("c{i}")})).collect();
        let too_many = body(json!({"idempotency_key": "mc-1", "source": "Mailchimp", "consents": many}));
        assert!(parse_import(&too_many, now()).err().unwrap_or_default().contains("at most 100"));
        let long_tool =
            body(json!({"idempotency_key": "mc-1", "source": "x".repeat(121), "consents": [{"customer_id": "c"}]}));
        assert!(parse_import(&long_tool, now()).is_err());
        let no_key = body(json!({"idempotency_key": "", "source": "Mailchimp", "consents": [{"customer_id": "c"}]}));
        assert!(parse_import(&no_key, now()).is_err());
    }
}
