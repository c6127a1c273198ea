//! Times as the author reads and types them: stored in UTC, shown and
//! entered in the author's zone (`site.timezone`).

/// "2026-11-23 09:00" in the author's zone, and the zone's name.
pub fn local_time(ts: i64, tz: &str) -> String {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| {
            t.with_timezone(&zone)
                .format("%a %-d %b %Y, %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Value for an `<input type="datetime-local">` in the author's zone.
pub fn local_input(ts: i64, tz: &str) -> String {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// Reads a `datetime-local` value as a time in the author's zone.
pub fn parse_local_input(value: &str, tz: &str) -> Option<i64> {
    use chrono::TimeZone;
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let naive = chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_inputs_round_trip_in_the_authors_zone() {
        let ts = parse_local_input("2026-07-01T09:00", "Europe/Paris").unwrap();
        assert_eq!(ts, 1_782_889_200);
        assert_eq!(local_input(ts, "Europe/Paris"), "2026-07-01T09:00");
        assert!(parse_local_input("yesterday", "UTC").is_none());
    }
}
