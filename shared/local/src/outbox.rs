//! The local outbox: `Mailer` that writes each message to `{dir}/{timestamp}-{label}.eml` instead
//! of sending it, for the local runner to show at `/dev/outbox`.
//!
//! A file holds exactly the raw message, nothing else (the recipient is in its `To` header). It
//! appears under its final name complete or not at all: the bytes go to a temp file in the same
//! directory, which is then hard-linked to the final name. A link, unlike a rename, never replaces
//! an existing file, so two mails with the same label and timestamp get two files.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stammkunde_domain::customer::Email;
use stammkunde_domain::error::MailError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::SHOP_HEADER;
use stammkunde_domain::ports::{MailArchive, Mailer, OutgoingMail};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;

/// Longest label kept in a file name: file names stay far below the usual 255-byte limit.
pub const LABEL_CHARS_MAX: usize = 100;
/// Names tried for one message (`…`, `…-2`, `…-3`, …) before giving up.
const NAME_ATTEMPTS_MAX: u32 = 100;
const EXTENSION: &str = ".eml";

/// Makes temp file names unique within the process (the pid makes them unique across processes).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
}

/// One mail in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The file name, e.g. `20261120T090000.123456Z-shop-customer-birthday-2026-11-20.eml`.
    pub name: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

impl OutboxMailer {
    /// An outbox writing to `dir`, which is created if missing.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, io::Error> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(OutboxMailer { dir })
    }

    /// The mails in the outbox, newest first. Other files in the directory (temp files, anything
    /// put there by hand that is not a plain `.eml` file) are left out.
    pub fn list(&self) -> Result<Vec<OutboxEntry>, io::Error> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().filter(|n| is_mail_name(n)).map(str::to_owned) else {
                continue;
            };
            // Not following symlinks: a link could point outside the outbox.
            let metadata = match std::fs::symlink_metadata(entry.path()) {
                Ok(metadata) => metadata,
                // Deleted since the directory was read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if metadata.is_file() {
                entries.push(OutboxEntry { name, size: metadata.len(), modified: metadata.modified()?.into() });
            }
        }
        // Names start with the time of sending, so they order mails written in the same tick.
        entries.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| b.name.cmp(&a.name)));
        Ok(entries)
    }

    /// The raw message stored under `name`. `None` if there is none, and for every name that is
    /// not a plain `.eml` file name of the outbox (a path, `..`, a hidden or temp file), so no
    /// request can read outside the directory.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, io::Error> {
        if !is_mail_name(name) {
            return Ok(None);
        }
        let path = self.dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_file() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `raw` to a new temp file in the outbox and makes sure it is on disk.
    async fn write_temp(&self, stem: &str, raw: &[u8]) -> Result<PathBuf, io::Error> {
        let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(".{stem}.{}.{counter}.tmp", std::process::id()));
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&temp).await?;
        let written = async {
            file.write_all(raw).await?;
            file.sync_all().await
        };
        if let Err(e) = written.await {
            drop(file);
            remove_temp(&temp).await;
            return Err(e);
        }
        Ok(temp)
    }

    /// Links the temp file to the first free name `{stem}.eml`, `{stem}-2.eml`, …; returns the
    /// stem it got.
    async fn link_to_free_name(&self, temp: &PathBuf, stem: &str) -> Result<String, io::Error> {
        for attempt in 1..=NAME_ATTEMPTS_MAX {
            let candidate = if attempt == 1 { stem.to_owned() } else { format!("{stem}-{attempt}") };
            match tokio::fs::hard_link(temp, self.dir.join(format!("{candidate}{EXTENSION}"))).await {
                Ok(()) => return Ok(candidate),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{NAME_ATTEMPTS_MAX} names for {stem} are taken")))
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    /// Returns the file's stem (its name without `.eml`) as the message id.
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let stem = format!("{}-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), sanitise_label(&mail.label));
        let not_sent = |e: io::Error| MailError::NotSent {
            message: format!("writing mail {} of shop {} to the outbox {}", mail.label, mail.shop, self.dir.display()),
            source: Some(Box::new(e)),
        };
        let temp = self.write_temp(&stem, &mail.raw).await.map_err(not_sent)?;
        let linked = self.link_to_free_name(&temp, &stem).await;
        remove_temp(&temp).await;
        let id = linked.map_err(not_sent)?;
        tracing::info!(shop = %mail.shop, message_id = %id, "mail written to the outbox");
        Ok(id)
    }
}

/// Removes a temp file. A leftover one is harmless (`list` skips it), so a failure is only logged.
async fn remove_temp(temp: &PathBuf) {
    if let Err(e) = tokio::fs::remove_file(temp).await {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(file = %temp.display(), error = %e, "could not remove an outbox temp file");
        }
    }
}

#[async_trait]
impl MailArchive for OutboxMailer {
    /// A mail is the customer's if its file name carries their send label
    /// (`{time}-{shop}-{customer}-…`) or its text names the address in angle brackets, as the
    /// `To` header does.
    async fn erase(&self, shop: &ShopId, customer: &CustomerId, address: Option<&Email>) -> Result<usize, MailError> {
        let failed = |error: io::Error| MailError::NotSent {
            message: format!("erasing mail of shop {shop} from the outbox {}", self.dir.display()),
            source: Some(Box::new(error)),
        };
        let label = sanitise_label(&format!("{shop}-{customer}-"));
        let bracketed = address.map(|a| format!("<{}>", a.as_str()));
        let mut erased = 0;
        for entry in self.list().map_err(failed)? {
            let by_label = entry.name.split_once('-').is_some_and(|(_, rest)| rest.starts_with(&label));
            let by_address = match &bracketed {
                Some(needle) if !by_label => self
                    .read(&entry.name)
                    .map_err(failed)?
                    .is_some_and(|raw| raw.windows(needle.len()).any(|w| w == needle.as_bytes())),
                _ => false,
            };
            if by_label || by_address {
                match std::fs::remove_file(self.dir.join(&entry.name)) {
                    Ok(()) => erased += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(failed(e)),
                }
            }
        }
        Ok(erased)
    }

    /// A mail is the shop's if its `X-Stammkunde-Shop` header names it: file names cannot tell,
    /// since a shop id may continue another's (`demo` and `demo-2`).
    async fn erase_shop(&self, shop: &ShopId) -> Result<usize, MailError> {
        let failed = |error: io::Error| MailError::NotSent {
            message: format!("erasing mail of shop {shop} from the outbox {}", self.dir.display()),
            source: Some(Box::new(error)),
        };
        let mut erased = 0;
        for entry in self.list().map_err(failed)? {
            let Some(raw) = self.read(&entry.name).map_err(failed)? else { continue };
            if shop_header(&raw) != Some(shop.as_str()) {
                continue;
            }
            match std::fs::remove_file(self.dir.join(&entry.name)) {
                Ok(()) => erased += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(failed(e)),
            }
        }
        Ok(erased)
    }
}

/// The value of the message's `X-Stammkunde-Shop` header, from the header block only.
fn shop_header(raw: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(raw).ok()?;
    let headers = text.split("\r\n\r\n").next()?;
    headers.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case(SHOP_HEADER).then(|| value.trim())
    })
}

/// The label as a file name part: `[A-Za-z0-9._-]` kept, anything else `-`, at most
/// `LABEL_CHARS_MAX` characters, never empty.
pub fn sanitise_label(label: &str) -> String {
    let safe: String = label
        .chars()
        .take(LABEL_CHARS_MAX)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    if safe.is_empty() {
        "mail".to_owned()
    } else {
        safe
    }
}

/// A plain name of a mail file: `[A-Za-z0-9._-]` only (so no separator of any platform), not
/// hidden (which also rules out `.` and `..`), ending in `.eml`.
fn is_mail_name(name: &str) -> bool {
    name.len() > EXTENSION.len()
        && name.ends_with(EXTENSION)
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_keeps_its_safe_characters_and_is_bounded() {
        assert_eq!(sanitise_label("shop-42_customer.7-birthday-2026-11-20"), "shop-42_customer.7-birthday-2026-11-20");
        assert_eq!(sanitise_label("../Jürgen Müller/ä"), "..-J-rgen-M-ller--");
        assert_eq!(sanitise_label(""), "mail");
        assert_eq!(sanitise_label(&"x".repeat(500)).len(), LABEL_CHARS_MAX);
    }

    #[tokio::test]
    async fn a_taken_name_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let outbox = OutboxMailer::new(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let mut stems = Vec::new();
        for body in [b"first", b"again"] {
            let temp = outbox.write_temp("20261120T090000.000000Z-same", body).await.unwrap_or_else(|e| panic!("{e}"));
            stems.push(outbox.link_to_free_name(&temp, "20261120T090000.000000Z-same").await);
            remove_temp(&temp).await;
        }
        let stems: Vec<String> = stems.into_iter().map(|s| s.unwrap_or_else(|e| panic!("{e}"))).collect();
        assert_eq!(stems, ["20261120T090000.000000Z-same", "20261120T090000.000000Z-same-2"]);
        let read = |name: &str| outbox.read(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read("20261120T090000.000000Z-same.eml").as_deref(), Some(&b"first"[..]));
        assert_eq!(read("20261120T090000.000000Z-same-2.eml").as_deref(), Some(&b"again"[..]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap_or_else(|e| panic!("{e}")).count(), 2, "no temp file left");
    }

    #[test]
    fn only_plain_eml_names_are_mail_names() {
        assert!(is_mail_name("20261120T090000.123456Z-shop-birthday.eml"));
        for refused in ["../x.eml", "a/b.eml", "a\\b.eml", "x.txt", ".eml", ".x.eml", "/etc/x.eml", "", "x.eml/"] {
            assert!(!is_mail_name(refused), "{refused:?}");
        }
    }
}
