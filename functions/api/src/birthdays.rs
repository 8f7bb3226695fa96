//! Birthdays the merchant gives: one customer's (`PUT …/customers/{customer}/birthday`), or many
//! from a CSV file (`POST …/birthdays`), for shops whose platform keeps no birthday (Shopify,
//! WooCommerce) or that collect them elsewhere. A birthday set or changed here is stamped now: the
//! birthday mail's 30-day guard counts from it.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::customer::Birthday;
use stammkunde_domain::ids::CustomerId;
use stammkunde_http::Reply;

use crate::{body, replies, ApiService};

/// Most rows one CSV import takes: each is a read and a conditional write, and an import must
/// finish well inside the API's 29 seconds. A larger file goes in parts.
pub const IMPORT_ROWS_MAX: usize = 1_000;
/// Unknown customers named in the answer; the count is always whole.
const UNKNOWN_LISTED_MAX: usize = 100;
/// Row errors named in a refusal.
const ERRORS_LISTED_MAX: usize = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BirthdayBody {
    /// `YYYY-MM-DD`, `--MM-DD`, `MM-DD`, `DD.MM.YYYY`, `DD.MM.`; `null` clears it.
    birthday: Option<String>,
}

fn parse_birthday(raw: Option<&str>) -> Result<Option<Birthday>, String> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        Some(raw) => Birthday::parse_text(raw).map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// As the customer read (`GET …/customers/{customer}`) shows it.
fn view(customer: &CustomerId, birthday: Option<Birthday>) -> Value {
    let birthday = birthday.map(|b| json!({ "month": b.month, "day": b.day, "year": b.year }));
    json!({ "customer_id": customer, "birthday": birthday })
}

impl ApiService {
    pub(crate) async fn set_birthday(
        &self,
        shop: &ShopConfig,
        customer: &CustomerId,
        raw: &Bytes,
    ) -> Result<Reply, Reply> {
        let request: BirthdayBody = body::json(raw)?;
        let birthday = parse_birthday(request.birthday.as_deref()).map_err(Reply::bad_request)?;
        if !self.store.set_birthday(&shop.id, customer, birthday, self.clock.now()).await? {
            return Err(replies::no_customer());
        }
        Ok(Reply::json(view(customer, birthday)))
    }

    /// The whole file is read and checked before anything is written: a file with a bad row is
    /// refused whole (400, the rows named), so a corrected file can simply be sent again. Rows
    /// for customers we do not know are skipped and counted.
    pub(crate) async fn import_birthdays(&self, shop: &ShopConfig, raw: &Bytes) -> Result<Reply, Reply> {
        let rows = parse_csv(raw)?;
        let now = self.clock.now();
        let (mut updated, mut unknown) = (0usize, Vec::new());
        for (customer, birthday) in &rows {
            if self.store.set_birthday(&shop.id, customer, *birthday, now).await? {
                updated += 1;
            } else {
                unknown.push(customer.clone());
            }
        }
        let unknown_count = unknown.len();
        unknown.truncate(UNKNOWN_LISTED_MAX);
        Ok(Reply::json(json!({
            "rows": rows.len(),
            "updated": updated,
            "unknown_customers": unknown_count,
            "unknown_customer_ids": unknown,
        })))
    }
}

/// `customer_id,birthday` with that header (in any column order; other columns are ignored), one
/// customer per row; an empty birthday clears it. A customer named twice is refused: which row
/// should win?
fn parse_csv(raw: &Bytes) -> Result<Vec<(CustomerId, Option<Birthday>)>, Reply> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(raw.as_ref());
    let headers = reader.headers().map_err(|e| Reply::bad_request(format!("the CSV header: {e}")))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
            .ok_or_else(|| Reply::bad_request(format!("the CSV has no `{name}` column (header: customer_id,birthday)")))
    };
    let (id_column, birthday_column) = (column("customer_id")?, column("birthday")?);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, record) in reader.records().enumerate() {
        // Line 1 is the header.
        let line = index + 2;
        if index >= IMPORT_ROWS_MAX {
            return Err(Reply::bad_request(format!(
                "at most {IMPORT_ROWS_MAX} rows per import; send the rest in parts"
            )));
        }
        let row = record.map_err(|e| e.to_string()).and_then(|record| {
            let id = CustomerId::parse(record.get(id_column).unwrap_or_default()).map_err(|e| e.to_string())?;
            let birthday = parse_birthday(record.get(birthday_column))?;
            if !seen.insert(id.clone()) {
                return Err("the customer is named in an earlier row too".to_owned());
            }
            Ok((id, birthday))
        });
        match row {
            Ok(row) => rows.push(row),
            Err(reason) => errors.push(format!("line {line}: {reason}")),
        }
    }
    if !errors.is_empty() {
        let count = errors.len();
        errors.truncate(ERRORS_LISTED_MAX);
        return Err(Reply::bad_request(format!(
            "{count} rows are not valid, nothing was imported: {}",
            errors.join("; ")
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
        parse_csv(&Bytes::from(text.to_owned()))
            .map(|rows| rows.into_iter().map(|(id, b)| (id.to_string(), b.map(|b| b.to_text()))).collect())
            .map_err(|reply| reply.body.to_string())
    }

    #[test]
    fn a_birthday_file_is_read_by_its_header_with_an_empty_birthday_clearing_it() {
        let file = "\u{feff}Birthday;x,customer_id\n29.02.1992;x,c-1\n,c-2\n--07-14,c-3\n";
        // `;` is no separator: the first column is `Birthday;x`, not `Birthday`.
        assert!(rows(file).is_err());
        let file = "email,birthday,customer_id\na@example.de,29.02.1992,c-1\n,,c-2\nb@example.de, --07-14 ,c-3\n";
        let read = rows(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read,
            vec![
                ("c-1".to_owned(), Some("1992-02-29".to_owned())),
                ("c-2".to_owned(), None),
                ("c-3".to_owned(), Some("--07-14".to_owned())),
            ]
        );
    }

    #[test]
    fn a_file_with_a_bad_row_is_refused_whole_and_names_the_lines() {
        let file = "customer_id,birthday\nc-1,31.04.1990\nc-2,1990-01-01\nc-2,1990-01-02\n,01-01\nc-5\n";
        let refusal = rows(file).err().unwrap_or_default();
        for part in ["4 rows are not valid", "line 2:", "line 4: the customer is named", "line 5:", "line 6:"] {
            assert!(refusal.contains(part), "{part:?} in {refusal}");
        }
        assert!(!refusal.contains("line 3"), "{refusal}");
        assert!(rows("customer,birthday\nc-1,01-01\n").is_err(), "no customer_id column");
        let many: String = std::iter::once("customer_id,birthday\n".to_owned())
            .chain((0..=IMPORT_ROWS_MAX).map(|i| format!("c{i},01-01\n")))
            .collect();
        assert!(rows(&many).err().unwrap_or_default().contains("at most 1000 rows"));
    }
}
