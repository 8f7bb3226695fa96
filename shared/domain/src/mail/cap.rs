//! The frequency cap: at most `cap_mails` capped mails per customer in any `cap_days` days. A mail
//! over the cap is deferred to when the window frees, never silently dropped.

use chrono::{DateTime, Duration, Utc};

use crate::mail::campaign::MailClass;
use crate::mail::contact::Frequency;
use crate::mail::rule::MailRule;

/// Whether a mail of `class` counts against (and is held by) the cap.
pub fn is_capped(class: MailClass) -> bool {
    class != MailClass::Transactional
}

/// The longest window any cap looks back over for this customer: the claims to read.
pub fn cap_window_days(rule: &MailRule, frequency: Frequency) -> u32 {
    rule.cap_days.max(frequency.window_days().unwrap_or(0))
}

/// `Ok` if a capped mail may go at `now` given when the customer's earlier capped mails were
/// claimed; else the moment the window frees. Both the shop's cap and the customer's chosen
/// frequency apply: the later of the two decides.
pub fn cap_frees_at(
    now: DateTime<Utc>,
    claimed: &[DateTime<Utc>],
    rule: &MailRule,
    frequency: Frequency,
) -> Result<(), DateTime<Utc>> {
    let shop = window_frees_at(now, claimed, rule.cap_mails, rule.cap_days);
    let own = frequency.window_days().map_or(Ok(()), |days| window_frees_at(now, claimed, 1, days));
    match (shop, own) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(at), Ok(())) | (Ok(()), Err(at)) => Err(at),
        (Err(a), Err(b)) => Err(a.max(b)),
    }
}

/// At most `mails` in any `days` days.
fn window_frees_at(now: DateTime<Utc>, claimed: &[DateTime<Utc>], mails: u32, days: u32) -> Result<(), DateTime<Utc>> {
    let window = Duration::days(i64::from(days));
    let mut inside: Vec<DateTime<Utc>> = claimed.iter().copied().filter(|at| *at > now - window).collect();
    let limit = usize::try_from(mails).unwrap_or(usize::MAX);
    if limit == 0 {
        return Ok(());
    }
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
        let free = Frequency::AsItComes;
        assert_eq!(cap_frees_at(at("2026-06-02T07:00:00Z"), &sent[..1], &rule, free), Ok(()));
        assert_eq!(cap_frees_at(at("2026-06-04T07:00:00Z"), &sent, &rule, free), Err(at("2026-06-08T07:00:00Z")));
        assert_eq!(cap_frees_at(at("2026-06-08T07:00:01Z"), &sent, &rule, free), Ok(()));
    }

    #[test]
    fn the_customers_frequency_tightens_the_cap_and_never_loosens_it() {
        let rule = MailRule::default();
        let sent = [at("2026-06-01T07:00:00Z")];
        let now = at("2026-06-03T07:00:00Z");
        assert_eq!(cap_frees_at(now, &sent, &rule, Frequency::AsItComes), Ok(()));
        assert_eq!(cap_frees_at(now, &sent, &rule, Frequency::Weekly), Err(at("2026-06-08T07:00:00Z")));
        assert_eq!(cap_frees_at(now, &sent, &rule, Frequency::Monthly), Err(at("2026-07-01T07:00:00Z")));
        // Two in a week: the shop's cap frees when the first leaves it, a weekly choice only when
        // the second has: the later decides.
        let two = [at("2026-06-01T07:00:00Z"), at("2026-06-02T07:00:00Z")];
        assert_eq!(cap_frees_at(now, &two, &rule, Frequency::Weekly), Err(at("2026-06-09T07:00:00Z")));
        assert_eq!(cap_window_days(&rule, Frequency::Monthly), 30);
        assert_eq!(cap_window_days(&rule, Frequency::AsItComes), 7);
    }
}
