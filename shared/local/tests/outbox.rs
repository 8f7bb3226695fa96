//! OutboxMailer on a temp dir: files hold exactly the raw message, equal labels never overwrite
//! each other, the list is newest first, and `read` cannot leave the directory.

use stammkunde_domain::customer::Email;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ports::{Mailer, OutgoingMail};
use stammkunde_local::OutboxMailer;

fn mail(label: &str, raw: &[u8]) -> OutgoingMail {
    OutgoingMail {
        shop: ShopId::parse("shopify-shop").unwrap_or_else(|e| panic!("{e}")),
        from_address: "info@shop.example".into(),
        to: Email::parse("juergen.mueller@kunde.example").unwrap_or_else(|e| panic!("{e}")),
        raw: raw.to_vec(),
        configuration_set: Some("stammkunde-mail".into()),
        tags: vec![("campaign".into(), "birthday".into())],
        label: label.into(),
    }
}

const RAW: &[u8] = b"From: Beispiel Shop <info@shop.example>\r\nTo: juergen.mueller@kunde.example\r\n\
Subject: =?UTF-8?Q?Alles_Gute_zum_Geburtstag=2C_J=C3=BCrgen?=\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo J\xc3\xbcrgen!\r\n";

fn outbox() -> (tempfile::TempDir, OutboxMailer) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A directory that does not exist yet: `new` creates it.
    let outbox = OutboxMailer::new(dir.path().join("outbox")).unwrap_or_else(|e| panic!("{e}"));
    (dir, outbox)
}

#[tokio::test]
async fn a_sent_mail_is_a_file_holding_exactly_the_raw_bytes() {
    let (dir, outbox) = outbox();
    let id = outbox.send(&mail("shopify-shop-7654321098765-birthday-2026-11-20", RAW)).await;
    let id = id.unwrap_or_else(|e| panic!("{e}"));

    let entries = outbox.list().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].name, format!("{id}.eml"));
    assert!(entries[0].name.ends_with("-shopify-shop-7654321098765-birthday-2026-11-20.eml"), "{entries:?}");
    assert_eq!(entries[0].size, RAW.len() as u64);
    let on_disk = std::fs::read(dir.path().join("outbox").join(&entries[0].name)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(on_disk, RAW);
    assert_eq!(outbox.read(&entries[0].name).unwrap_or_else(|e| panic!("{e}")).as_deref(), Some(RAW));
    // Nothing but the mail is left in the directory (no temp file, no envelope file).
    let files = std::fs::read_dir(dir.path().join("outbox")).unwrap_or_else(|e| panic!("{e}")).count();
    assert_eq!(files, 1);
}

#[tokio::test]
async fn two_mails_with_the_same_label_get_two_files() {
    let (_dir, outbox) = outbox();
    let sends = (0..5).map(|i| {
        let outbox = outbox.clone();
        async move { outbox.send(&mail("same-label", format!("mail {i}\r\n").as_bytes())).await }
    });
    let ids: Vec<String> = spawn_all(sends).await;
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{ids:?}");

    let entries = outbox.list().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries.len(), 5, "{entries:?}");
    let mut bodies: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| outbox.read(&e.name).unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("gone")))
        .collect();
    bodies.sort();
    let expected: Vec<Vec<u8>> = (0..5).map(|i| format!("mail {i}\r\n").into_bytes()).collect();
    assert_eq!(bodies, expected, "no mail overwrote another");
}

/// Runs the sends concurrently on the runtime, each as its own task.
async fn spawn_all<F>(sends: impl Iterator<Item = F>) -> Vec<String>
where
    F: std::future::Future<Output = Result<String, stammkunde_domain::error::MailError>> + Send + 'static,
{
    let tasks: Vec<_> = sends.map(tokio::spawn).collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}")));
    }
    ids
}

#[tokio::test]
async fn the_list_is_newest_first() {
    let (_dir, outbox) = outbox();
    for label in ["first", "second", "third"] {
        outbox.send(&mail(label, RAW)).await.unwrap_or_else(|e| panic!("{e}"));
        // Past any coarse modification-time granularity, so the order is the time's, not the name's.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let entries = outbox.list().unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<&str> = entries.iter().map(|e| e.name.rsplit_once('-').map_or("", |(_, l)| l)).collect();
    assert_eq!(labels, ["third.eml", "second.eml", "first.eml"], "{entries:?}");
    assert!(entries.windows(2).all(|w| w[0].modified >= w[1].modified), "{entries:?}");
}

#[tokio::test]
async fn read_refuses_names_outside_the_outbox() {
    let (dir, outbox) = outbox();
    // Files that exist, so a refusal is not just "not found".
    std::fs::write(dir.path().join("x.eml"), b"outside").unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("outbox").join("a")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("outbox").join("a").join("b.eml"), b"nested").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("outbox").join("x.txt"), b"not a mail").unwrap_or_else(|e| panic!("{e}"));
    let absolute = dir.path().join("x.eml").display().to_string();

    for name in ["../x.eml", "a/b.eml", "x.txt", absolute.as_str(), "..", ".", "", "a\\b.eml", "a"] {
        assert_eq!(outbox.read(name).unwrap_or_else(|e| panic!("{name}: {e}")), None, "{name:?} must be refused");
    }
    assert_eq!(outbox.read("missing.eml").unwrap_or_else(|e| panic!("{e}")), None);
    assert!(outbox.list().unwrap_or_else(|e| panic!("{e}")).is_empty(), "only plain .eml files are listed");
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_in_the_outbox_is_not_followed() {
    let (dir, outbox) = outbox();
    std::fs::write(dir.path().join("secret.txt"), b"outside").unwrap_or_else(|e| panic!("{e}"));
    let link = dir.path().join("outbox").join("link.eml");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), link).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outbox.read("link.eml").unwrap_or_else(|e| panic!("{e}")), None);
    assert!(outbox.list().unwrap_or_else(|e| panic!("{e}")).is_empty());
}
