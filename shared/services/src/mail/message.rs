//! The MIME message: multipart/alternative (text, HTML), UTF-8 subject, and the headers every
//! marketing mail carries: `List-Unsubscribe` with an https one-click URL and a mailto,
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) and `List-Id` (RFC 2919).

use chrono::{DateTime, Utc};
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::MessageBuilder;
use thiserror::Error;

use stammkunde_domain::customer::Email;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::mail::{Campaign, MailClass, SHOP_HEADER};

use super::render::RenderedMail;

#[derive(Debug, Error)]
pub enum MessageError {
    #[error("the sender `{0}` is not `Name <address>` or `address`")]
    Sender(String),
    #[error("writing the message failed: {0}")]
    Write(#[from] std::io::Error),
}

/// `Name <address>` (or a bare address) split into its parts.
pub fn parse_sender(raw: &str) -> Result<(Option<String>, String), MessageError> {
    let raw = raw.trim();
    let bad = || MessageError::Sender(raw.to_owned());
    let (name, address) = match raw.split_once('<') {
        Some((name, rest)) => (Some(name.trim().trim_matches('"').to_owned()), rest.strip_suffix('>').ok_or_else(bad)?),
        None => (None, raw),
    };
    let address = address.trim();
    if address.contains(['<', '>', ' ', '\r', '\n']) || !address.contains('@') {
        return Err(bad());
    }
    Ok((name.filter(|n| !n.is_empty()), address.to_owned()))
}

pub struct Envelope<'a> {
    pub shop: &'a ShopId,
    pub campaign: Campaign,
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a Email,
    pub to_name: Option<&'a str>,
    pub unsubscribe_url: &'a str,
    pub unsubscribe_mailto: Option<&'a str>,
    pub shop_name: &'a str,
    /// Our domain part of `Message-ID` and `List-Id` (the sender's domain).
    pub date: DateTime<Utc>,
    /// Unique per message: the send record's label, hashed.
    pub message_id: &'a str,
}

/// The complete message, CRLF line ends, ready for SES `Content.Raw` or an `.eml` file.
pub fn build_message(envelope: &Envelope<'_>, mail: &RenderedMail) -> Result<Vec<u8>, MessageError> {
    let (from_name, from_address) = parse_sender(envelope.from)?;
    let domain = from_address.rsplit('@').next().unwrap_or("localhost").to_owned();
    let from = (from_name.unwrap_or_default(), from_address);
    let to = (envelope.to_name.unwrap_or_default().to_owned(), envelope.to.as_str().to_owned());
    let mut builder = MessageBuilder::new()
        .from(from)
        .to(to)
        .subject(mail.subject.as_str())
        .date(envelope.date.timestamp())
        .message_id(format!("{}@{domain}", envelope.message_id))
        .header(SHOP_HEADER, Raw::new(envelope.shop.as_str()))
        .header(
            "List-Id",
            Text::new(format!(
                "{} <{}.{}.stammkunde>",
                envelope.shop_name,
                envelope.campaign.as_str().replace('_', "-"),
                envelope.shop
            )),
        );
    if let Some(reply_to) = envelope.reply_to {
        let (name, address) = parse_sender(reply_to)?;
        builder = builder.reply_to((name.unwrap_or_default(), address));
    }
    if envelope.campaign.class() != MailClass::Transactional {
        let mut unsubscribe = format!("<{}>", envelope.unsubscribe_url);
        if let Some(mailto) = envelope.unsubscribe_mailto {
            unsubscribe.push_str(&format!(", <mailto:{mailto}?subject=unsubscribe>"));
        }
        builder = builder
            .header("List-Unsubscribe", Raw::new(unsubscribe))
            .header("List-Unsubscribe-Post", Raw::new("List-Unsubscribe=One-Click"));
    }
    let builder = builder.text_body(mail.text.as_str()).html_body(mail.html.as_str());
    Ok(builder.write_to_vec()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_are_split_into_name_and_address() {
        let parsed = |raw: &str| parse_sender(raw).ok();
        assert_eq!(
            parsed("Kaffee & Kuchen <news@shop.example>"),
            Some((Some("Kaffee & Kuchen".into()), "news@shop.example".into()))
        );
        assert_eq!(parsed("news@shop.example"), Some((None, "news@shop.example".into())));
        assert_eq!(parsed("Bad <news@shop.example"), None);
        assert_eq!(parsed("Bad <a b@shop.example>"), None);
    }
}
