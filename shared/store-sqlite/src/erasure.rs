//! Erasing a customer's personal data, in one transaction: the profile's personal columns, the
//! mail settings and the consent records. The connection runs with `secure_delete = FAST`, so
//! what a deleted row or a cleared column held is overwritten in its page, not left in free space.

use rusqlite::{params, Connection};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};

use crate::error::SqlResultExt;

pub fn erase_customer(conn: &Connection, shop: &ShopId, customer: &CustomerId, at: &str) -> Result<(), StoreError> {
    let (shop, customer) = (shop.as_str(), customer.as_str());
    // A tombstone for an unknown customer, as a deletion makes one: nothing sent later revives it.
    conn.prepare_cached(
        "INSERT INTO customers (shop, customer_id, deleted_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (shop, customer_id) DO UPDATE SET
             email = NULL, first_name = NULL, last_name = NULL, locale = NULL, country = NULL,
             birthday_month = NULL, birthday_day = NULL, birthday_year = NULL, birthday_since = NULL,
             accepts_email_marketing = NULL, deleted_at = coalesce(customers.deleted_at, excluded.deleted_at)",
    )
    .and_then(|mut statement| statement.execute(params![shop, customer, at]))
    .or_store("erasing a customer's profile")?;
    conn.prepare_cached("DELETE FROM mail_contacts WHERE shop = ?1 AND customer_id = ?2")
        .and_then(|mut statement| statement.execute(params![shop, customer]))
        .or_store("erasing a customer's mail settings")?;
    conn.prepare_cached("DELETE FROM consent_records WHERE shop = ?1 AND customer_id = ?2")
        .and_then(|mut statement| statement.execute(params![shop, customer]))
        .or_store("erasing a customer's consent records")?;
    Ok(())
}
