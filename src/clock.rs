//! The emulator's clock: wall time plus an offset that tests can move forward, so retention
//! rules measured in days can be observed in a test that lasts seconds.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// A cheap-clone handle on the shared clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
    /// Woken whenever the clock is moved, so whatever waits for a time on it looks again.
    moved: Arc<Notify>,
}

impl Clock {
    /// A clock shifted by `offset_seconds` from wall time.
    pub fn with_offset(offset_seconds: i64) -> Self {
        Clock {
            offset: Arc::new(AtomicI64::new(offset_seconds)),
            moved: Arc::default(),
        }
    }

    /// Waits until the clock reads `at` or later, whether by time passing or the clock moving.
    pub async fn sleep_until(&self, at: i64) {
        loop {
            let moved = self.moved.notified();
            let now = self.now();
            if now >= at {
                return;
            }
            let wait = Duration::from_secs((at - now) as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = moved => {}
            }
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
        self.moved.notify_waiters();
    }

    /// Moves the clock forward (or back) by `seconds`; returns the new offset.
    pub fn advance(&self, seconds: i64) -> i64 {
        let offset = self.offset.fetch_add(seconds, Ordering::SeqCst) + seconds;
        self.moved.notify_waiters();
        offset
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

/// Serde for Unix seconds written as Twilio's ISO timestamps, in exports and fixtures.
pub mod iso {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(seconds: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_timestamp(*seconds))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_timestamp(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a date such as 2024-01-01T00:00:00Z")))
    }
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

    #[tokio::test]
    async fn sleepers_wake_when_the_clock_moves_past_their_time() {
        let clock = Clock::default();
        let at = clock.now() + 3600;
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(at).await }
        });
        tokio::task::yield_now().await;
        clock.advance(3600);
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken")
            .expect("joined");
    }

    #[test]
    fn advancing_moves_now() {
        let clock = Clock::default();
        let before = clock.now();
        assert_eq!(clock.advance(86_400), 86_400);
        assert!(clock.now() >= before + 86_400);
    }
}
