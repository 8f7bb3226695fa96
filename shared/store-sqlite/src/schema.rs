//! Opening connections and migrating the schema.
//!
//! The schema is a list of migrations; `PRAGMA user_version` records how many have run. A new
//! migration is appended, never edited, so every existing database can be brought forward.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use stammkunde_domain::error::StoreError;

use crate::error::{SqlResultExt, SqliteStoreError};

/// How long a connection waits for a lock held by another connection (another process, or a
/// checkpoint) before reporting `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Statements each connection keeps prepared; covers every statement this adapter issues.
const STATEMENT_CACHE_CAPACITY: usize = 100;

const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE customers (
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        email TEXT,
        first_name TEXT,
        last_name TEXT,
        locale TEXT,
        country TEXT,
        birthday_month INTEGER,
        birthday_day INTEGER,
        birthday_year INTEGER,
        accepts_email_marketing INTEGER,
        source_updated_at TEXT,
        last_order_at TEXT,
        -- The UTC date of last_order_at, kept beside it for the index.
        last_order_date TEXT,
        available INTEGER NOT NULL DEFAULT 0,
        pending INTEGER NOT NULL DEFAULT 0,
        deleted_at TEXT,
        PRIMARY KEY (shop, customer_id)
    ) STRICT, WITHOUT ROWID;

    -- The sweeps' indexes. Partial: deleted customers are never selected, so never indexed.
    CREATE INDEX customers_by_email ON customers (shop, email, customer_id)
        WHERE deleted_at IS NULL AND email IS NOT NULL;
    CREATE INDEX customers_by_birthday ON customers (shop, birthday_month, birthday_day, customer_id)
        WHERE deleted_at IS NULL AND birthday_month IS NOT NULL;
    CREATE INDEX customers_by_last_order_date ON customers (shop, last_order_date, customer_id)
        WHERE deleted_at IS NULL AND last_order_date IS NOT NULL;

    CREATE TABLE orders (
        shop TEXT NOT NULL,
        order_id TEXT NOT NULL,
        -- The version as two sortable columns, compared as a pair by the write guard.
        version_at TEXT NOT NULL,
        version_progress INTEGER NOT NULL,
        cancelled INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, order_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY,
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        entry_key TEXT NOT NULL,
        bucket TEXT NOT NULL,
        points INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (shop, customer_id, entry_key),
        -- The balance lives on the customer row: an entry without one could not be counted.
        FOREIGN KEY (shop, customer_id) REFERENCES customers (shop, customer_id)
    ) STRICT;
    CREATE INDEX ledger_entries_by_time ON ledger_entries (shop, customer_id, created_at, seq);

    CREATE TABLE deliveries (
        shop TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        received_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (shop, delivery_id)
    ) STRICT;
    CREATE INDEX deliveries_by_expiry ON deliveries (expires_at);

    CREATE TABLE privacy_requests (
        seq INTEGER PRIMARY KEY,
        shop TEXT NOT NULL,
        kind TEXT NOT NULL,
        request_ref TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (shop, kind, request_ref)
    ) STRICT;

    -- One row per shop: its Shopware registration (all NULL for other platforms) and uninstall.
    CREATE TABLE shops (
        shop TEXT NOT NULL PRIMARY KEY,
        shop_url TEXT,
        pending_secret TEXT,
        shop_secret TEXT,
        api_key TEXT,
        secret_key TEXT,
        registered_at TEXT,
        confirmed_at TEXT,
        uninstalled_at TEXT
    ) STRICT, WITHOUT ROWID;
    "#,
    // 2: a customer's entries are found through the UNIQUE (shop, customer_id, entry_key) index
    // and sorted in memory (a customer has hundreds, not millions). The time index cost every
    // credit one more randomly placed page write.
    r#"
    DROP INDEX ledger_entries_by_time;
    "#,
    // 3: the ledger redesign, and the state the sweeps and rewards keep.
    //
    // An entry now has a position in its customer's ledger (1, 2, …), moves two balances by
    // signed deltas, and says what it records in `detail`. Appends are conditional on the ledger's
    // length, so the length lives on the customer row beside the balances: the condition, the
    // balance and the length move in one guarded UPDATE. Entries are clustered by position, so
    // reading a ledger is one range scan in order.
    //
    // Every entry written before was an order credit in one bucket with its basis: it becomes an
    // earn entry at its place in `seq` order, its points in its bucket's delta, its basis the
    // detail. The customer's balances were moved with each insert, so they stay as they are.
    r#"
    ALTER TABLE customers ADD COLUMN ledger_len INTEGER NOT NULL DEFAULT 0;

    ALTER TABLE ledger_entries RENAME TO ledger_entries_v2;
    CREATE TABLE ledger_entries (
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        position INTEGER NOT NULL CHECK (position >= 1),
        entry_key TEXT NOT NULL,
        available INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, customer_id, position),
        UNIQUE (shop, customer_id, entry_key),
        -- The balance and length live on the customer row: an entry without one could not be counted.
        FOREIGN KEY (shop, customer_id) REFERENCES customers (shop, customer_id)
    ) STRICT, WITHOUT ROWID;

    -- `->` keeps the basis a JSON object, so json_set nests it instead of quoting it as text.
    INSERT INTO ledger_entries (shop, customer_id, position, entry_key, available, pending, body)
    SELECT shop, customer_id, position, entry_key, available, pending,
           json_set(json_remove(body, '$.bucket', '$.points', '$.basis'),
                    '$.position', position,
                    '$.available', available,
                    '$.pending', pending,
                    '$.detail', json_set(body -> '$.basis', '$.type', 'earn'))
    FROM (
        SELECT shop, customer_id, entry_key, body,
               row_number() OVER (PARTITION BY shop, customer_id ORDER BY seq) AS position,
               CASE body ->> '$.bucket' WHEN 'available' THEN body ->> '$.points' ELSE 0 END AS available,
               CASE body ->> '$.bucket' WHEN 'pending' THEN body ->> '$.points' ELSE 0 END AS pending
        FROM ledger_entries_v2
    );
    DROP TABLE ledger_entries_v2;

    UPDATE customers SET ledger_len = counted.entries
    FROM (SELECT shop, customer_id, count(*) AS entries FROM ledger_entries GROUP BY shop, customer_id) AS counted
    WHERE customers.shop = counted.shop AND customers.customer_id = counted.customer_id;

    -- When each customer's ledger next needs the sweep, as computed from its first `ledger_len`
    -- entries. No foreign key: a timer may be set before the customer has a row.
    CREATE TABLE timers (
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        due_at TEXT,
        ledger_len INTEGER NOT NULL CHECK (ledger_len >= 0),
        PRIMARY KEY (shop, customer_id)
    ) STRICT, WITHOUT ROWID;
    -- The sweep's page: who is due, earliest first. Customers without a timer are never selected.
    CREATE INDEX timers_by_due ON timers (shop, due_at, customer_id) WHERE due_at IS NOT NULL;

    -- Coupon codes: pooled (the issue columns all NULL) or bound to one redemption.
    CREATE TABLE codes (
        shop TEXT NOT NULL,
        code TEXT NOT NULL,
        reward TEXT NOT NULL,
        generated INTEGER NOT NULL,
        customer_id TEXT,
        redemption TEXT,
        issued_at TEXT,
        expires_at TEXT,
        PRIMARY KEY (shop, code),
        -- One code per redemption. NULLs are distinct, so any number of codes wait in pools.
        UNIQUE (shop, redemption),
        CHECK ((customer_id IS NULL) = (redemption IS NULL)
           AND (issued_at IS NULL) = (redemption IS NULL)
           AND (expires_at IS NULL) = (redemption IS NULL))
    ) STRICT, WITHOUT ROWID;
    -- A claim takes the first pooled code of its reward: a lookup, however many were issued.
    CREATE INDEX codes_pooled ON codes (shop, reward, code) WHERE redemption IS NULL;
    -- The merchant's list of one reward's codes.
    CREATE INDEX codes_by_reward ON codes (shop, reward, code);

    -- Refunds as the platform reported them, kept whether or not their order is known yet.
    CREATE TABLE refunds (
        shop TEXT NOT NULL,
        order_id TEXT NOT NULL,
        refund_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, order_id, refund_id)
    ) STRICT, WITHOUT ROWID;

    -- A sweep's bookmark per shop, by name.
    CREATE TABLE sweep_marks (
        shop TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (shop, name)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 4: the signed `timestamp` of the latest accepted Shopware registration. A registration is
    // stored only if its timestamp is newer, so a replayed registration URL gets no new secret.
    // Registrations stored before have none (NULL), and the next one is accepted.
    r#"
    ALTER TABLE shops ADD COLUMN registration_requested_at TEXT;
    "#,
    // 5: retention mail. When each customer's birthday was first stored (the birthday mail's
    // anti-fraud guard; NULL for birthdays stored before), the send records that make each mail
    // go out once, each customer's mail settings, and the suppression list.
    r#"
    ALTER TABLE customers ADD COLUMN birthday_since TEXT;

    CREATE TABLE mail_sends (
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        campaign TEXT NOT NULL,
        -- The customer-local date the mail is for, YYYY-MM-DD.
        date TEXT NOT NULL,
        state TEXT NOT NULL,
        -- When it was handed to the mailer (what the frequency cap counts); NULL before.
        claimed_at TEXT,
        -- While deferred: when it is due (what the deferred index holds).
        deferred_due TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, customer_id, campaign, date)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX mail_sends_deferred ON mail_sends (shop, deferred_due, customer_id, campaign, date)
        WHERE deferred_due IS NOT NULL;

    CREATE TABLE mail_contacts (
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, customer_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE suppressions (
        shop TEXT NOT NULL,
        address TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (shop, address)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 6: soft bounces, one row per bounced message of an address (SES's message id), so a bounce
    // event delivered twice counts once; the count is the rows of the address.
    r#"
    CREATE TABLE soft_bounces (
        shop TEXT NOT NULL,
        address TEXT NOT NULL,
        message_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (shop, address, message_id)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 7: the deferred index becomes the due index: it holds claims too, until their lease runs
    // out, so a claim never confirmed is found and flagged for review even when no other index
    // finds its mail again. Claims stored before stay out of it (none was released with them).
    r#"
    DROP INDEX mail_sends_deferred;
    ALTER TABLE mail_sends RENAME COLUMN deferred_due TO sweep_due;
    CREATE INDEX mail_sends_due ON mail_sends (shop, sweep_due, customer_id, campaign, date)
        WHERE sweep_due IS NOT NULL;
    "#,
    // 8: the preference-centre links of sent mail, by the SHA-256 of their token.
    r#"
    CREATE TABLE link_tokens (
        digest TEXT PRIMARY KEY,
        body TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    "#,
    // 9: the consent ledger: each customer's records under their business key, and the wordings
    // they point at, once per shop.
    r#"
    CREATE TABLE consent_records (
        shop TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, customer_id, key)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE consent_wordings (
        shop TEXT NOT NULL,
        digest TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (shop, digest)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 10: a shop erased as a whole (Shopify's shop/redact): its tombstone, which outlives the
    // erasure of everything else it held, so no later delivery stores anything for it again.
    r#"
    ALTER TABLE shops ADD COLUMN erased_at TEXT;
    "#,
    // 11: fixed-window request counters ("send me a new link": per address and per client IP),
    // under digests only; a key's earlier windows are dropped when it is counted again.
    r#"
    CREATE TABLE request_counters (
        shop TEXT NOT NULL,
        key TEXT NOT NULL,
        window_start TEXT NOT NULL,
        taken INTEGER NOT NULL,
        PRIMARY KEY (shop, key, window_start)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 12: the send records flagged for review, for the merchant API's listing; partial, so it
    // holds those few rows only.
    r#"
    CREATE INDEX mail_sends_flagged ON mail_sends (shop, customer_id, campaign, date) WHERE state = 'review';
    "#,
];

/// The schema migrations in order, as `open` runs them: for tests that build a database the way
/// an older version of this adapter left it.
pub fn migrations() -> &'static [&'static str] {
    MIGRATIONS
}

fn schema_version_known() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Opens the one read-write connection: creates the file and its directory, switches to WAL,
/// makes every commit durable (`synchronous=FULL` fsyncs the WAL on commit), and migrates.
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| {
            StoreError::backend(format!("creating the database directory {}", dir.display()), error)
        })?;
    }
    let mut conn = Connection::open(path).or_store("opening the database")?;
    configure(&conn)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).or_store("enabling WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend { message: format!("journal mode is {mode}, not wal"), source: None });
    }
    conn.pragma_update(None, "synchronous", "FULL").or_store("setting synchronous=FULL")?;
    // Erased personal data must not linger in free space: a deleted row's bytes are zeroed in
    // their page (FAST: without extra I/O, so pruning delivery records costs nothing more).
    conn.pragma_update(None, "secure_delete", "FAST").or_store("setting secure_delete")?;
    conn.pragma_update(None, "wal_autocheckpoint", crate::checkpointer::WRITER_BACKSTOP_PAGES)
        .or_store("setting wal_autocheckpoint")?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens the background checkpointer's connection (see `checkpointer`). The writer must have
/// created the database.
pub fn open_checkpointer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .or_store("opening the checkpointer")?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens a read-only connection for the reader pool. The writer must have created the database.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).or_store("opening a reader")?;
    configure(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT).or_store("setting the busy timeout")?;
    conn.pragma_update(None, "foreign_keys", "ON").or_store("enabling foreign keys")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).or_store("starting the migration")?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).or_store("reading user_version")?;
    let known = schema_version_known();
    if found > known {
        return Err(StoreError::backend("migrating", SqliteStoreError::SchemaTooNew { found, known }));
    }
    let done = usize::try_from(found).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(migration).or_store(&format!("running migration {}", index + 1))?;
    }
    // PRAGMA takes no bound parameters; `known` is our own integer, not input.
    tx.execute_batch(&format!("PRAGMA user_version = {known}")).or_store("writing user_version")?;
    tx.commit().or_store("committing the migration")
}
