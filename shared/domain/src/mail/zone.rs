//! A customer's time zone: the one they chose, else their country's, else the shop's.

use chrono_tz::Tz;

/// The zone a customer lives in, for their local day and hour.
pub fn customer_zone(chosen: Option<Tz>, country: Option<&str>, shop: Tz) -> Tz {
    chosen.or_else(|| country.and_then(country_zone)).unwrap_or(shop)
}

/// The zone of a country that has one (for mail purposes: its mainland's). Countries that span
/// several zones (US, CA, RU, BR, AU, MX, …) have none: the customer's choice or the shop's zone
/// decides, never a guess.
pub fn country_zone(country: &str) -> Option<Tz> {
    let zone = match country.trim().to_ascii_uppercase().as_str() {
        "DE" => Tz::Europe__Berlin,
        "AT" => Tz::Europe__Vienna,
        "CH" => Tz::Europe__Zurich,
        "LI" => Tz::Europe__Vaduz,
        "LU" => Tz::Europe__Luxembourg,
        "BE" => Tz::Europe__Brussels,
        "NL" => Tz::Europe__Amsterdam,
        "FR" => Tz::Europe__Paris,
        "IT" => Tz::Europe__Rome,
        "ES" => Tz::Europe__Madrid,
        "PT" => Tz::Europe__Lisbon,
        "DK" => Tz::Europe__Copenhagen,
        "SE" => Tz::Europe__Stockholm,
        "NO" => Tz::Europe__Oslo,
        "FI" => Tz::Europe__Helsinki,
        "PL" => Tz::Europe__Warsaw,
        "CZ" => Tz::Europe__Prague,
        "SK" => Tz::Europe__Bratislava,
        "HU" => Tz::Europe__Budapest,
        "SI" => Tz::Europe__Ljubljana,
        "HR" => Tz::Europe__Zagreb,
        "GR" => Tz::Europe__Athens,
        "GB" => Tz::Europe__London,
        "IE" => Tz::Europe__Dublin,
        _ => return None,
    };
    Some(zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_zone_wins_then_the_country_then_the_shop() {
        let shop = Tz::Europe__Berlin;
        assert_eq!(customer_zone(Some(Tz::America__New_York), Some("DE"), shop), Tz::America__New_York);
        assert_eq!(customer_zone(None, Some("at"), shop), Tz::Europe__Vienna);
        assert_eq!(customer_zone(None, Some("US"), shop), shop);
        assert_eq!(customer_zone(None, None, Tz::Europe__Zurich), Tz::Europe__Zurich);
    }
}
