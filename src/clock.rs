//! The emulator's clock: wall time plus an offset that tests can move forward, so retention
//! rules measured in days can be observed in a test that lasts seconds.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;

/// A cheap-clone handle on the shared clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// A clock shifted by `offset_seconds` from wall time.
    pub fn with_offset(offset_seconds: i64) -> Self {
        Clock {
            offset: Arc::new(AtomicI64::new(offset_seconds)),
        }
    }

    /// Now, in whole Unix seconds on the emulator's clock.
    pub fn now(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp() + self.offset()
    }

    /// How far the clock is ahead of wall time.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Sets how far the clock is ahead of wall time.
    pub fn set_offset(&self, seconds: i64) {
        self.offset.store(seconds, Ordering::SeqCst);
    }

    /// Moves the clock forward (or back) by `seconds`; returns the new offset.
    pub fn advance(&self, seconds: i64) -> i64 {
        self.offset.fetch_add(seconds, Ordering::SeqCst) + seconds
    }
}

/// Formats Unix seconds as Twilio does: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_timestamp(seconds: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses the date forms the clients send: `2024-01-01T00:00:00Z` (helper libraries) and
/// `2024-01-01T00:00:00.000Z` (serverless-api's `toISOString()`), or any RFC 3339 time.
pub fn parse_timestamp(value: &str) -> Option<i64> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_twilio_format() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(1_541_880_000), "2018-11-10T20:00:00Z");
        assert_eq!(parse_timestamp("2018-11-10T20:00:00Z"), Some(1_541_880_000));
        assert_eq!(parse_timestamp("2018-11-10T20:00:00.000Z"), Some(1_541_880_000));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn advancing_moves_now() {
        let clock = Clock::default();
        let before = clock.now();
        assert_eq!(clock.advance(86_400), 86_400);
        assert!(clock.now() >= before + 86_400);
    }
}
