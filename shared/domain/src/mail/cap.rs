//! The frequency cap: at most `cap_mails` capped mails per customer in any `cap_days` days. A mail
//! over the cap is deferred to when the window frees, never silently dropped.

use chrono::{DateTime, Duration, Utc};

use crate::mail::campaign::MailClass;
use crate::mail::rule::MailRule;

/// Whether a mail of `class` counts against (and is held by) the cap.
pub fn is_capped(class: MailClass) -> bool {
    class != MailClass::Transactional
}

/// `Ok` if a capped mail may go at `now` given when the customer's earlier capped mails were
/// claimed; else the moment the oldest of them leaves the window.
pub fn cap_frees_at(now: DateTime<Utc>, claimed: &[DateTime<Utc>], rule: &MailRule) -> Result<(), DateTime<Utc>> {
    let window = Duration::days(i64::from(rule.cap_days));
    let mut inside: Vec<DateTime<Utc>> = claimed.iter().copied().filter(|at| *at > now - window).collect();
    let limit = usize::try_from(rule.cap_mails).unwrap_or(usize::MAX);
    if inside.len() < limit {
        return Ok(());
    }
    inside.sort_unstable();
    // The window frees once all but `limit - 1` of these have left it.
    let index = inside.len() - limit;
    Err(inside[index] + window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn a_third_mail_in_seven_days_waits_until_the_first_leaves_the_window() {
        let rule = MailRule::default();
        let sent = [at("2026-06-01T07:00:00Z"), at("2026-06-03T07:00:00Z")];
        assert_eq!(cap_frees_at(at("2026-06-02T07:00:00Z"), &sent[..1], &rule), Ok(()));
        assert_eq!(cap_frees_at(at("2026-06-04T07:00:00Z"), &sent, &rule), Err(at("2026-06-08T07:00:00Z")));
        assert_eq!(cap_frees_at(at("2026-06-08T07:00:01Z"), &sent, &rule), Ok(()));
    }
}
