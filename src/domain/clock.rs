//! The time the task lifecycle reads "now" from (reveal deadlines, beacon rounds).
//!
//! In service it is the system clock. A simulated clock (tests, and the README demo behind
//! `suiji serve --simulated-clock`) starts at a given instant and runs forward in real
//! time from there; it can be moved. A simulated clock is never silent: the server logs it
//! at start, `/healthz`, the portal and every task view say so.

use chrono::{DateTime, Utc};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// A simulated instant and the real moment it was set.
type Setting = Option<(DateTime<Utc>, Instant)>;

/// A shared clock: clones read and move the same time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    simulated: Arc<RwLock<Setting>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A simulated clock reading `at` now and running forward from there.
    pub fn simulated(at: DateTime<Utc>) -> Self {
        let c = Self::default();
        c.set(at);
        c
    }

    /// Moves the clock to `at` (it becomes simulated if it was not).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.simulated.write().expect("clock lock") = Some((at, Instant::now()));
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match *self.simulated.read().expect("clock lock") {
            Some((at, since)) => {
                at + chrono::Duration::from_std(since.elapsed()).unwrap_or_default()
            }
            None => Utc::now(),
        }
    }

    /// Unix seconds now.
    pub fn unix(&self) -> i64 {
        self.now().timestamp()
    }

    /// Today's date in China (UTC+8, no daylight saving) on this clock: the day every
    /// deadline, late mark and "as of" is judged on.
    pub fn china_today(&self) -> chrono::NaiveDate {
        let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
        self.now().with_timezone(&offset).date_naive()
    }

    /// True when this is not the system clock.
    pub fn is_simulated(&self) -> bool {
        self.simulated.read().expect("clock lock").is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_clock_starts_where_it_is_set_and_clones_share_it() {
        let at = DateTime::parse_from_rfc3339("2023-09-15T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::simulated(at);
        let d = c.clone();
        assert!(d.is_simulated());
        assert!(d.now() >= at && d.now() < at + chrono::Duration::minutes(1));
        let later = at + chrono::Duration::days(1);
        c.set(later);
        assert!(d.now() >= later);
        assert!(!Clock::system().is_simulated());
    }
}
