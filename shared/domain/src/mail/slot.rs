//! Local time: which day and hour it is for a customer, when a mail may go out, and the next
//! moment it may when it may not now.
//!
//! Scheduled mail goes out in a window of the customer's day: from the send hour until quiet
//! hours begin. Every hourly sweep inside the window sends what is due and not yet sent, so a
//! sweep that failed at 09:00 is made good at 10:00, and daylight-saving days (23 or 25 hours)
//! need no special case: the window is in local hours, whatever UTC hour they fall on.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::mail::campaign::MailClass;
use crate::mail::rule::MailRule;

/// The customer's local date and time at `now`.
pub fn local(now: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    now.with_timezone(&zone).naive_local()
}

/// Whether a local hour is in the shop's quiet hours (`quiet_from_hour` up to, not including,
/// `quiet_until_hour`; the range may wrap past midnight).
pub fn in_quiet_hours(hour: u32, rule: &MailRule) -> bool {
    let (from, until) = (rule.quiet_from_hour, rule.quiet_until_hour);
    match from.cmp(&until) {
        std::cmp::Ordering::Less => (from..until).contains(&hour),
        std::cmp::Ordering::Greater => hour >= from || hour < until,
        std::cmp::Ordering::Equal => false,
    }
}

/// Whether a mail of `class` for the local `date` may go out at `now`: on that date, from the send
/// hour on, and (marketing) outside quiet hours. Transactional mail goes at any hour.
pub fn in_send_window(class: MailClass, date: NaiveDate, now: DateTime<Utc>, zone: Tz, rule: &MailRule) -> bool {
    if class == MailClass::Transactional {
        return true;
    }
    let here = local(now, zone);
    here.date() == date && here.hour() >= rule.send_hour && !in_quiet_hours(here.hour(), rule)
}

/// The first moment at or after `from` that is a sending hour for the customer: the send hour of
/// the day, or later the same day outside quiet hours, else the next day's send hour.
pub fn next_send_slot(from: DateTime<Utc>, zone: Tz, rule: &MailRule) -> DateTime<Utc> {
    let here = local(from, zone);
    if here.hour() >= rule.send_hour && !in_quiet_hours(here.hour(), rule) {
        return from;
    }
    let day = if here.hour() < rule.send_hour { here.date() } else { here.date() + Duration::days(1) };
    start_of_hour(day, rule.send_hour, zone)
}

/// The instant a local hour begins. In a spring-forward gap (02:00 that never happens) that is
/// the hour after; in a fall-back overlap, the first of the two.
pub fn start_of_hour(date: NaiveDate, hour: u32, zone: Tz) -> DateTime<Utc> {
    for h in hour..hour + 3 {
        let at = date.and_hms_opt(h % 24, 0, 0).unwrap_or_default();
        if let Some(instant) = zone.from_local_datetime(&at).earliest() {
            return instant.with_timezone(&Utc);
        }
    }
    // No zone skips three hours: unreachable in practice, and midnight UTC is a safe answer.
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn date(raw: &str) -> NaiveDate {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn the_window_opens_at_nine_local_on_both_daylight_saving_days_in_berlin() {
        let rule = MailRule::default();
        let berlin = Tz::Europe__Berlin;
        // 29 March 2026: clocks go 02:00 → 03:00, 09:00 CEST is 07:00 UTC.
        assert!(!in_send_window(MailClass::Marketing, date("2026-03-29"), at("2026-03-29T06:59:59Z"), berlin, &rule));
        assert!(in_send_window(MailClass::Marketing, date("2026-03-29"), at("2026-03-29T07:00:00Z"), berlin, &rule));
        // 25 October 2026: clocks go 03:00 → 02:00, 09:00 CET is 08:00 UTC.
        assert!(!in_send_window(MailClass::Marketing, date("2026-10-25"), at("2026-10-25T07:59:59Z"), berlin, &rule));
        assert!(in_send_window(MailClass::Marketing, date("2026-10-25"), at("2026-10-25T08:00:00Z"), berlin, &rule));
        // Quiet from 21:00 local.
        assert!(!in_send_window(MailClass::Marketing, date("2026-10-25"), at("2026-10-25T20:00:00Z"), berlin, &rule));
    }

    #[test]
    fn quiet_hours_wrap_past_midnight() {
        let rule = MailRule::default();
        assert!(in_quiet_hours(21, &rule) && in_quiet_hours(3, &rule) && in_quiet_hours(7, &rule));
        assert!(!in_quiet_hours(8, &rule) && !in_quiet_hours(20, &rule));
    }

    #[test]
    fn the_next_slot_is_now_inside_the_window_else_the_next_send_hour() {
        let rule = MailRule::default();
        let berlin = Tz::Europe__Berlin;
        assert_eq!(next_send_slot(at("2026-06-01T10:30:00Z"), berlin, &rule), at("2026-06-01T10:30:00Z"));
        assert_eq!(next_send_slot(at("2026-06-01T04:00:00Z"), berlin, &rule), at("2026-06-01T07:00:00Z"));
        assert_eq!(next_send_slot(at("2026-06-01T20:00:00Z"), berlin, &rule), at("2026-06-02T07:00:00Z"));
    }

    #[test]
    fn an_hour_lost_to_spring_forward_starts_at_the_next_hour() {
        assert_eq!(start_of_hour(date("2026-03-29"), 2, Tz::Europe__Berlin), at("2026-03-29T01:00:00Z"));
    }
}
