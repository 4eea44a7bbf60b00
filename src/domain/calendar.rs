//! The mainland-China official working-day calendar (工作日 / 调休).
//!
//! Disclosure deadlines are set in working days on the State Council's official
//! calendar. Public holidays are days off, and some Saturdays and Sundays become working
//! days (调休). "Within N working days after D" means on or before the N-th working day
//! strictly after D. For example, results of an inspection ending on 2025-09-30 are due
//! by 2025-11-04.
//!
//! Each year's calendar is published by the State Council in November of the year before.
//! The service never guesses: if a computation needs a date in a year with no calendar
//! loaded, it fails with [`CalendarError::MissingYear`]. It does not fall back to "Monday
//! to Friday", because that would give a wrong deadline around every holiday. An
//! administrator then loads the year with [`Calendar::insert`] without a new release.
//!
//! # Holidays that cross the new year
//! A notice sometimes names days in the neighbouring year. The 2023 notice gives the New
//! Year holiday as 2022-12-31 – 2023-01-02. The 2012 notice made Saturday 2011-12-31 a
//! working day. We keep each notice as published, so [`Calendar::builtin`] holds the
//! 2023 row exactly as in the domain table. A year's lists may reach up to
//! [`BOUNDARY_DAYS`] days into the previous or next year. Such a date counts on the day
//! it falls: 2022-12-31 is a day off because the 2023 calendar says so, whether or not a
//! 2022 calendar is loaded. To know the status of any date, its own year must still be
//! loaded. For example, `is_working_day(2022-12-31)` gives `MissingYear(2022)` until 2022
//! is loaded, because a date's status is always read from its own year. If two loaded
//! neighbouring years disagree about a date, the insert is refused.
//!
//! # Speed
//! The overdue report computes thousands of deadlines. Each loaded year keeps a
//! 366-bit map of its working days, built once when the year is inserted. A deadline is
//! found by counting bits a 64-day word at a time: no allocation and no per-day lookups.

use crate::error::FieldError;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// How far (in days) a year's lists may reach into the previous or next year. This covers
/// a holiday run that crosses the new year (2022-12-31 in the 2023 notice). It also
/// catches a date typed with the wrong year.
pub const BOUNDARY_DAYS: u32 = 7;

/// Earliest year that can be loaded (the founding of the PRC: no official calendar before).
pub const MIN_YEAR: i32 = 1949;

/// Latest year that can be loaded (keeps date arithmetic safely inside chrono's range).
pub const MAX_YEAR: i32 = 9999;

/// One year of the official calendar, as published in the State Council's holiday notice.
///
/// This is also the body an administrator sends to load a new year. Both lists hold
/// individual dates. Weekends inside a holiday run may be listed in `days_off` or left
/// out: they are off either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearCalendar {
    /// The year the notice is for.
    pub year: i32,
    /// Public holidays and the days off around them.
    pub days_off: BTreeSet<NaiveDate>,
    /// Saturdays and Sundays that are working days (调休上班).
    pub working_weekends: BTreeSet<NaiveDate>,
}

/// Why a calendar question could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The answer needs a date in this year, and no official calendar is loaded for it.
    /// An administrator must load it; we never fall back to weekends alone.
    #[error("no official calendar is loaded for {0}; an administrator must load it")]
    MissingYear(i32),
    /// A deadline of 0 working days was asked for. "Within 0 working days" is not a
    /// deadline, so the task is probably misconfigured.
    #[error("a deadline must be at least 1 working day")]
    ZeroWorkingDays,
    /// The year's calendar was refused. Every problem found is listed.
    #[error("calendar for {year} is invalid: {}", join(errors))]
    Invalid {
        /// The year that was refused.
        year: i32,
        /// Every problem found, not just the first.
        errors: Vec<FieldError>,
    },
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl YearCalendar {
    /// Checks the notice by itself and returns every problem found, so an administrator
    /// can fix them all at once. The checks are:
    /// - the year is between [`MIN_YEAR`] and [`MAX_YEAR`];
    /// - at least one day off falls in the year (every official calendar has public
    ///   holidays, so an empty list is probably the wrong file);
    /// - every date is in the year or at most [`BOUNDARY_DAYS`] days outside it;
    /// - every working weekend day is a Saturday or Sunday;
    /// - no date is in both lists.
    ///
    /// A date repeated inside one list cannot be detected: the set merges the repeats,
    /// and they mean the same thing anyway. Agreement with the neighbouring years is
    /// checked by [`Calendar::insert`].
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some((first, last)) = boundary_window(self.year) else {
            errors.push(FieldError::new(
                "year",
                format!(
                    "{} is outside the supported years {MIN_YEAR}–{MAX_YEAR}",
                    self.year
                ),
            ));
            return Err(errors);
        };
        if !self.days_off.iter().any(|d| d.year() == self.year) {
            errors.push(FieldError::new(
                "days_off",
                format!(
                    "no day off in {}: every official calendar has public holidays, \
                     so this is probably the wrong list",
                    self.year
                ),
            ));
        }
        let outside = |d: &NaiveDate| {
            format!(
                "{d} is not in {} nor within {BOUNDARY_DAYS} days of it \
                 (only a holiday run crossing the new year may reach into the next or previous year)",
                self.year
            )
        };
        for d in &self.days_off {
            if *d < first || *d > last {
                errors.push(FieldError::new("days_off", outside(d)));
            }
        }
        for d in &self.working_weekends {
            if *d < first || *d > last {
                errors.push(FieldError::new("working_weekends", outside(d)));
            }
            if !is_weekend(*d) {
                errors.push(FieldError::new(
                    "working_weekends",
                    format!(
                        "{d} is a {}, not a Saturday or Sunday: weekdays are working days anyway",
                        weekday_name(d.weekday())
                    ),
                ));
            }
            if self.days_off.contains(d) {
                errors.push(FieldError::new(
                    "working_weekends",
                    format!("{d} is also listed in days_off: a day cannot be both"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The official calendar: every loaded year, with a precomputed working-day map per year.
///
/// Start from [`Calendar::builtin`] (2023–2026). Load later years with
/// [`Calendar::insert`] as the notices come out.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, LoadedYear>,
}

#[derive(Debug, Clone)]
struct LoadedYear {
    calendar: YearCalendar,
    /// Working days of this calendar year. This includes days named by the neighbouring
    /// years' notices (see the module docs).
    working: WorkingBits,
}

/// The State Council notices for 2023–2026, copied character for character from the
/// "Official calendar" table in `domain.md`: (year, days off, weekend days that are working
/// days). An entry without a year is in the row's year. A range end never carries a year.
const BUILTIN: [(i32, &str, &str); 4] = [
    (
        2023,
        "2022-12-31–01-02, 01-21–01-27, 04-05, 04-29–05-03, 06-22–06-24, 09-29–10-06",
        "01-28, 01-29, 04-23, 05-06, 06-25, 10-07, 10-08",
    ),
    (
        2024,
        "01-01, 02-10–02-17, 04-04–04-06, 05-01–05-05, 06-10, 09-15–09-17, 10-01–10-07",
        "02-04, 02-18, 04-07, 04-28, 05-11, 09-14, 09-29, 10-12",
    ),
    (
        2025,
        "01-01, 01-28–02-04, 04-04–04-06, 05-01–05-05, 05-31–06-02, 10-01–10-08",
        "01-26, 02-08, 04-27, 09-28, 10-11",
    ),
    (
        2026,
        "01-01–01-03, 02-15–02-23, 04-04–04-06, 05-01–05-05, 06-19–06-21, 09-25–09-27, 10-01–10-07",
        "01-04, 02-14, 02-28, 05-09, 09-20, 10-10",
    ),
];

impl Calendar {
    /// A calendar with no year loaded. Every question fails with `MissingYear`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The calendars shipped with the service: 2023–2026, exactly as in the domain table.
    pub fn builtin() -> Self {
        let mut calendar = Self::new();
        for (year, days_off, working_weekends) in BUILTIN {
            let year_calendar = YearCalendar {
                year,
                days_off: parse_notice(year, days_off),
                working_weekends: parse_notice(year, working_weekends),
            };
            calendar
                .insert(year_calendar)
                .expect("built-in calendars are valid (checked by the unit tests)");
        }
        calendar
    }

    /// Loads a year, or replaces it if already loaded. Returns the calendar it replaced.
    ///
    /// Refused with [`CalendarError::Invalid`] if [`YearCalendar::validate`] finds a
    /// problem. Also refused if a date near the new year contradicts a loaded neighbouring
    /// year, e.g. a day off in the 2023 notice that the 2022 notice makes a working day.
    /// We refuse rather than pick a winner, because the administrator must resolve it.
    /// After a refusal the calendar is unchanged.
    pub fn insert(&mut self, year: YearCalendar) -> Result<Option<YearCalendar>, CalendarError> {
        let mut errors = year.validate().err().unwrap_or_default();
        if errors.is_empty() {
            errors = self.conflicts_with_neighbours(&year);
        }
        if !errors.is_empty() {
            return Err(CalendarError::Invalid {
                year: year.year,
                errors,
            });
        }
        let y = year.year;
        let replaced = self
            .years
            .insert(
                y,
                LoadedYear {
                    calendar: year,
                    working: WorkingBits::EMPTY,
                },
            )
            .map(|old| old.calendar);
        // A notice can name days in the neighbouring years, so their maps change too.
        for affected in [y - 1, y, y + 1] {
            if self.years.contains_key(&affected) {
                let bits = self.compute_bits(affected);
                if let Some(loaded) = self.years.get_mut(&affected) {
                    loaded.working = bits;
                }
            }
        }
        Ok(replaced)
    }

    /// The loaded years, in ascending order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// The notice loaded for a year, as it was inserted.
    pub fn get(&self, year: i32) -> Option<&YearCalendar> {
        self.years.get(&year).map(|loaded| &loaded.calendar)
    }

    /// Whether `date` is a working day. A working day is Monday to Friday and not a day
    /// off, or a weekend day that the notice makes a working day.
    ///
    /// Fails with `MissingYear(date.year())` if that year is not loaded.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.bits(date.year())?.get(date.ordinal0()))
    }

    /// The deadline "within `n` working days after `from`": the `n`-th working day
    /// strictly after `from`. Anything published on or before that date is on time.
    /// `from` itself never counts, even if it is a working day, and its year need not be
    /// loaded. Every year from the day after `from` up to the deadline must be loaded.
    ///
    /// `n = 0` is refused with [`CalendarError::ZeroWorkingDays`]. "Within 0 working
    /// days" is not a legal deadline, so it would hide a misconfigured task. To ask about
    /// one date, use [`Calendar::is_working_day`].
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        if n == 0 {
            return Err(CalendarError::ZeroWorkingDays);
        }
        let start = from
            .succ_opt()
            .ok_or(CalendarError::MissingYear(from.year().saturating_add(1)))?;
        let mut year = start.year();
        let mut ordinal = start.ordinal0();
        let mut remaining = n;
        loop {
            match self.bits(year)?.nth_from(ordinal, remaining) {
                Ok(found) => return Ok(date_of(year, found)),
                Err(seen) => {
                    remaining -= seen;
                    year += 1;
                    ordinal = 0;
                }
            }
        }
    }

    /// The number of working days in `(a, b]`, i.e. after `a` up to and including `b`.
    /// It returns 0 when `b <= a`, so `working_days_between(due, published)` is directly
    /// the number of working days late, and 0 when on time.
    /// It is the inverse of [`Calendar::add_working_days`]: for n ≥ 1,
    /// `working_days_between(d, add_working_days(d, n)?) == n`.
    ///
    /// Every year of `(a, b]` must be loaded.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<u32, CalendarError> {
        if b <= a {
            return Ok(0);
        }
        // b > a, so a has a successor.
        let start = a
            .succ_opt()
            .ok_or(CalendarError::MissingYear(a.year().saturating_add(1)))?;
        let mut total = 0;
        for year in start.year()..=b.year() {
            let bits = self.bits(year)?;
            let lo = if year == start.year() {
                start.ordinal0()
            } else {
                0
            };
            let hi = if year == b.year() {
                b.ordinal0() + 1
            } else {
                bits.len
            };
            total += bits.count(lo, hi);
        }
        Ok(total)
    }

    fn bits(&self, year: i32) -> Result<&WorkingBits, CalendarError> {
        self.years
            .get(&year)
            .map(|loaded| &loaded.working)
            .ok_or(CalendarError::MissingYear(year))
    }

    /// Dates on which `candidate` and a loaded neighbouring year disagree.
    fn conflicts_with_neighbours(&self, candidate: &YearCalendar) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for neighbour_year in [candidate.year - 1, candidate.year + 1] {
            let Some(neighbour) = self.get(neighbour_year) else {
                continue;
            };
            for d in candidate.days_off.intersection(&neighbour.working_weekends) {
                errors.push(FieldError::new(
                    "days_off",
                    format!("{d} is a working day in the loaded {neighbour_year} calendar"),
                ));
            }
            for d in candidate.working_weekends.intersection(&neighbour.days_off) {
                errors.push(FieldError::new(
                    "working_weekends",
                    format!("{d} is a day off in the loaded {neighbour_year} calendar"),
                ));
            }
        }
        errors
    }

    /// The working-day map of a loaded year. It starts from Monday to Friday, then applies
    /// this year's notice and any neighbouring notice that names days in this year.
    fn compute_bits(&self, year: i32) -> WorkingBits {
        let mut bits = WorkingBits::weekdays(year);
        let range = date_of(year, 0)..=date_of(year, bits.len - 1);
        for source in [year - 1, year, year + 1] {
            let Some(notice) = self.get(source) else {
                continue;
            };
            for d in notice.days_off.range(range.clone()) {
                bits.set(d.ordinal0(), false);
            }
            for d in notice.working_weekends.range(range.clone()) {
                bits.set(d.ordinal0(), true);
            }
        }
        bits
    }
}

const WORDS: usize = 6; // 6 × 64 = 384 ≥ 366 days

/// One bit per day of a calendar year (bit = ordinal0), set when the day is a working day.
/// Bits past the end of the year are always clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WorkingBits {
    words: [u64; WORDS],
    /// Days in the year: 365 or 366.
    len: u32,
}

impl WorkingBits {
    const EMPTY: Self = Self {
        words: [0; WORDS],
        len: 0,
    };

    /// Monday to Friday of `year` set, weekends clear.
    fn weekdays(year: i32) -> Self {
        let jan1 = date_of(year, 0);
        let len = if jan1.leap_year() { 366 } else { 365 };
        let first = jan1.weekday().num_days_from_monday();
        let mut bits = Self {
            words: [0; WORDS],
            len,
        };
        for ordinal in 0..len {
            bits.set(ordinal, (first + ordinal) % 7 < 5);
        }
        bits
    }

    fn get(&self, ordinal: u32) -> bool {
        (self.words[(ordinal / 64) as usize] >> (ordinal % 64)) & 1 == 1
    }

    fn set(&mut self, ordinal: u32, working: bool) {
        let word = &mut self.words[(ordinal / 64) as usize];
        let bit = 1u64 << (ordinal % 64);
        if working {
            *word |= bit;
        } else {
            *word &= !bit;
        }
    }

    /// Working days with ordinal in `[lo, hi)`.
    fn count(&self, lo: u32, hi: u32) -> u32 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| (w & range_mask(i as u32 * 64, lo, hi)).count_ones())
            .sum()
    }

    /// The ordinal of the `n`-th (n ≥ 1) working day at or after ordinal `lo`. If the
    /// year ends first, returns `Err(working days found from lo to the end of the year)`.
    fn nth_from(&self, lo: u32, n: u32) -> Result<u32, u32> {
        let mut remaining = n;
        let mut seen = 0;
        for i in (lo / 64) as usize..WORDS {
            let base = i as u32 * 64;
            let mut word = self.words[i] & range_mask(base, lo, u32::MAX);
            let ones = word.count_ones();
            if remaining <= ones {
                for _ in 1..remaining {
                    word &= word - 1; // drop the lowest working day
                }
                return Ok(base + word.trailing_zeros());
            }
            remaining -= ones;
            seen += ones;
        }
        Err(seen)
    }
}

/// The bits of the word starting at day `base` whose day lies in `[lo, hi)`.
fn range_mask(base: u32, lo: u32, hi: u32) -> u64 {
    let start = lo.saturating_sub(base).min(64);
    let end = hi.saturating_sub(base).min(64);
    if start >= end {
        return 0;
    }
    let below_end = if end == 64 {
        u64::MAX
    } else {
        (1u64 << end) - 1
    };
    let below_start = (1u64 << start) - 1; // start < end ≤ 64, so start < 64
    below_end & !below_start
}

/// The date with 0-based `ordinal` in `year`. Callers only pass years in the supported
/// range and ordinals inside the year.
fn date_of(year: i32, ordinal0: u32) -> NaiveDate {
    NaiveDate::from_yo_opt(year, ordinal0 + 1).expect("ordinal inside a supported year")
}

/// The dates a notice for `year` may name: the year ± [`BOUNDARY_DAYS`].
/// `None` if the year is unsupported.
fn boundary_window(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year, 1, 1)?
        .checked_sub_days(chrono::Days::new(BOUNDARY_DAYS.into()))?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31)?
        .checked_add_days(chrono::Days::new(BOUNDARY_DAYS.into()))?;
    Some((first, last))
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// Reads one cell of the built-in table, e.g. `"2022-12-31–01-02, 04-05"`. Each item is a
/// date or an en-dash range. A date without a year is in `year`, so a range end is too.
fn parse_notice(year: i32, text: &str) -> BTreeSet<NaiveDate> {
    let parse = |s: &str| {
        let s = s.trim();
        let full = if s.len() == 10 {
            s.to_owned()
        } else {
            format!("{year}-{s}")
        };
        NaiveDate::parse_from_str(&full, "%Y-%m-%d")
            .unwrap_or_else(|_| panic!("bad date {s:?} in the built-in {year} calendar"))
    };
    let mut dates = BTreeSet::new();
    for item in text.split(',') {
        let (start, end) = match item.split_once('–') {
            Some((start, end)) => (parse(start), parse(end)),
            None => (parse(item), parse(item)),
        };
        assert!(
            start <= end,
            "reversed range {item:?} in the built-in {year} calendar"
        );
        let mut d = start;
        while d <= end {
            dates.insert(d);
            d = d
                .succ_opt()
                .expect("built-in dates are far from chrono's limits");
        }
    }
    dates
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dates(list: &[&str]) -> BTreeSet<NaiveDate> {
        list.iter().map(|s| d(s)).collect()
    }

    /// A made-up 2027 calendar for tests (New Year 01-01–01-03 off, one working Saturday).
    /// It is not the official notice.
    fn test_2027() -> YearCalendar {
        YearCalendar {
            year: 2027,
            days_off: dates(&["2027-01-01", "2027-01-02", "2027-01-03", "2027-10-01"]),
            working_weekends: dates(&["2027-01-09"]),
        }
    }

    fn due(from: &str, n: u32) -> Result<NaiveDate, CalendarError> {
        Calendar::builtin().add_working_days(d(from), n)
    }

    #[test]
    fn results_due_for_inspection_ending_2025_09_30_is_2025_11_04() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(d("2025-09-30"), 20),
            Ok(d("2025-11-04"))
        );
        assert_eq!(
            cal.working_days_between(d("2025-09-30"), d("2025-11-04")),
            Ok(20)
        );
    }

    #[test]
    fn builtin_holds_2023_to_2026() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.years().collect::<Vec<_>>(),
            vec![2023, 2024, 2025, 2026]
        );
        let y2023 = cal.get(2023).unwrap();
        assert!(
            y2023.days_off.contains(&d("2022-12-31")),
            "kept as published"
        );
        assert_eq!(y2023.days_off.len(), 3 + 7 + 1 + 5 + 3 + 8);
        assert_eq!(y2023.working_weekends.len(), 7);
        assert_eq!(
            cal.get(2024).unwrap().days_off.len(),
            1 + 8 + 3 + 5 + 1 + 3 + 7
        );
        assert_eq!(cal.get(2025).unwrap().days_off.len(), 1 + 8 + 3 + 5 + 3 + 8);
        assert_eq!(
            cal.get(2026).unwrap().days_off.len(),
            3 + 9 + 3 + 5 + 3 + 3 + 7
        );
        assert_eq!(cal.get(2026).unwrap().working_weekends.len(), 6);
        for year in 2023..=2026 {
            assert_eq!(cal.get(year).unwrap().validate(), Ok(()));
        }
    }

    /// The bit maps agree, for every day of 2023–2026, with the definition read straight
    /// off the notices.
    #[test]
    fn bitmap_matches_the_definition_every_day() {
        let cal = Calendar::builtin();
        let mut day = d("2023-01-01");
        while day <= d("2026-12-31") {
            let listed = |f: fn(&YearCalendar) -> &BTreeSet<NaiveDate>| {
                cal.years().any(|y| f(cal.get(y).unwrap()).contains(&day))
            };
            let expected =
                (!is_weekend(day) && !listed(|c| &c.days_off)) || listed(|c| &c.working_weekends);
            assert_eq!(cal.is_working_day(day), Ok(expected), "{day}");
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn adjusted_days_named_in_the_brief() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.is_working_day(d("2024-02-04")),
            Ok(true),
            "Sunday, working"
        );
        assert_eq!(
            cal.is_working_day(d("2026-02-14")),
            Ok(true),
            "Saturday, working"
        );
        assert_eq!(
            cal.is_working_day(d("2026-02-16")),
            Ok(false),
            "Monday, Spring Festival"
        );
        assert_eq!(
            cal.is_working_day(d("2025-10-08")),
            Ok(false),
            "Wednesday, National Day"
        );
        assert_eq!(
            cal.is_working_day(d("2025-10-11")),
            Ok(true),
            "Saturday, working"
        );
        assert_eq!(
            cal.is_working_day(d("2025-10-12")),
            Ok(false),
            "ordinary Sunday"
        );
        assert_eq!(
            cal.is_working_day(d("2025-10-13")),
            Ok(true),
            "ordinary Monday"
        );
    }

    /// Hand-checked deadlines around every holiday and working weekend of 2023.
    #[test]
    fn deadlines_2023() {
        assert_eq!(
            due("2022-12-31", 1),
            Ok(d("2023-01-03")),
            "01-01, 01-02 off"
        );
        assert_eq!(
            due("2023-01-20", 1),
            Ok(d("2023-01-28")),
            "Spring Festival, Sat working"
        );
        assert_eq!(due("2023-01-20", 2), Ok(d("2023-01-29")), "Sun working");
        assert_eq!(due("2023-01-20", 3), Ok(d("2023-01-30")));
        assert_eq!(
            due("2023-04-04", 1),
            Ok(d("2023-04-06")),
            "Qingming 04-05 off"
        );
        assert_eq!(
            due("2023-04-21", 1),
            Ok(d("2023-04-23")),
            "Sun 04-23 working"
        );
        assert_eq!(
            due("2023-04-28", 1),
            Ok(d("2023-05-04")),
            "Labour Day 04-29–05-03"
        );
        assert_eq!(
            due("2023-04-28", 3),
            Ok(d("2023-05-06")),
            "Sat 05-06 working"
        );
        assert_eq!(due("2023-04-28", 4), Ok(d("2023-05-08")));
        assert_eq!(
            due("2023-06-21", 1),
            Ok(d("2023-06-25")),
            "Dragon Boat, Sun working"
        );
        assert_eq!(
            due("2023-09-28", 1),
            Ok(d("2023-10-07")),
            "National Day, Sat working"
        );
        assert_eq!(due("2023-09-28", 2), Ok(d("2023-10-08")), "Sun working");
        assert_eq!(due("2023-09-28", 3), Ok(d("2023-10-09")));
    }

    #[test]
    fn deadlines_2024() {
        assert_eq!(
            due("2023-12-29", 1),
            Ok(d("2024-01-02")),
            "across the new year"
        );
        assert_eq!(
            due("2024-02-03", 1),
            Ok(d("2024-02-04")),
            "Sun 02-04 working"
        );
        assert_eq!(
            due("2024-02-09", 1),
            Ok(d("2024-02-18")),
            "Spring Festival, Sun working"
        );
        assert_eq!(due("2024-02-09", 2), Ok(d("2024-02-19")));
        assert_eq!(
            due("2024-04-03", 1),
            Ok(d("2024-04-07")),
            "Qingming, Sun working"
        );
        assert_eq!(
            due("2024-04-27", 1),
            Ok(d("2024-04-28")),
            "Sun 04-28 working"
        );
        assert_eq!(
            due("2024-04-30", 1),
            Ok(d("2024-05-06")),
            "Labour Day 05-01–05-05"
        );
        assert_eq!(
            due("2024-05-10", 1),
            Ok(d("2024-05-11")),
            "Sat 05-11 working"
        );
        assert_eq!(
            due("2024-06-07", 1),
            Ok(d("2024-06-11")),
            "Dragon Boat 06-10 off"
        );
        assert_eq!(
            due("2024-09-13", 1),
            Ok(d("2024-09-14")),
            "Sat 09-14 working"
        );
        assert_eq!(
            due("2024-09-13", 2),
            Ok(d("2024-09-18")),
            "Mid-Autumn 09-15–09-17"
        );
        assert_eq!(
            due("2024-09-27", 1),
            Ok(d("2024-09-29")),
            "Sat 09-28 off, Sun working"
        );
        assert_eq!(due("2024-09-27", 2), Ok(d("2024-09-30")));
        assert_eq!(
            due("2024-09-27", 3),
            Ok(d("2024-10-08")),
            "National Day 10-01–10-07"
        );
        assert_eq!(
            due("2024-10-11", 1),
            Ok(d("2024-10-12")),
            "Sat 10-12 working"
        );
    }

    #[test]
    fn deadlines_2025() {
        assert_eq!(due("2024-12-31", 1), Ok(d("2025-01-02")), "New Year 01-01");
        assert_eq!(
            due("2025-01-25", 1),
            Ok(d("2025-01-26")),
            "Sun 01-26 working"
        );
        assert_eq!(
            due("2025-01-27", 1),
            Ok(d("2025-02-05")),
            "Spring Festival 01-28–02-04"
        );
        assert_eq!(
            due("2025-02-07", 1),
            Ok(d("2025-02-08")),
            "Sat 02-08 working"
        );
        assert_eq!(
            due("2025-04-03", 1),
            Ok(d("2025-04-07")),
            "Qingming 04-04–04-06"
        );
        assert_eq!(
            due("2025-04-25", 1),
            Ok(d("2025-04-27")),
            "Sun 04-27 working"
        );
        assert_eq!(
            due("2025-04-30", 1),
            Ok(d("2025-05-06")),
            "Labour Day 05-01–05-05"
        );
        assert_eq!(
            due("2025-05-30", 1),
            Ok(d("2025-06-03")),
            "Dragon Boat 05-31–06-02"
        );
        assert_eq!(
            due("2025-09-26", 1),
            Ok(d("2025-09-28")),
            "Sun 09-28 working"
        );
        assert_eq!(
            due("2025-09-30", 1),
            Ok(d("2025-10-09")),
            "National Day 10-01–10-08"
        );
        assert_eq!(
            due("2025-10-10", 1),
            Ok(d("2025-10-11")),
            "Sat 10-11 working"
        );
    }

    #[test]
    fn deadlines_2026() {
        assert_eq!(
            due("2025-12-31", 1),
            Ok(d("2026-01-04")),
            "New Year, Sun 01-04 working"
        );
        assert_eq!(
            due("2026-02-13", 1),
            Ok(d("2026-02-14")),
            "Sat 02-14 working"
        );
        assert_eq!(
            due("2026-02-13", 2),
            Ok(d("2026-02-24")),
            "Spring Festival 02-15–02-23"
        );
        assert_eq!(
            due("2026-02-27", 1),
            Ok(d("2026-02-28")),
            "Sat 02-28 working"
        );
        assert_eq!(
            due("2026-04-03", 1),
            Ok(d("2026-04-07")),
            "Qingming 04-04–04-06"
        );
        assert_eq!(
            due("2026-04-30", 1),
            Ok(d("2026-05-06")),
            "Labour Day 05-01–05-05"
        );
        assert_eq!(
            due("2026-05-08", 1),
            Ok(d("2026-05-09")),
            "Sat 05-09 working"
        );
        assert_eq!(
            due("2026-06-18", 1),
            Ok(d("2026-06-22")),
            "Dragon Boat 06-19–06-21"
        );
        assert_eq!(
            due("2026-09-18", 1),
            Ok(d("2026-09-20")),
            "Sun 09-20 working"
        );
        assert_eq!(
            due("2026-09-24", 1),
            Ok(d("2026-09-28")),
            "Mid-Autumn 09-25–09-27"
        );
        assert_eq!(
            due("2026-09-30", 1),
            Ok(d("2026-10-08")),
            "National Day 10-01–10-07"
        );
        assert_eq!(
            due("2026-09-30", 3),
            Ok(d("2026-10-10")),
            "Sat 10-10 working"
        );
    }

    #[test]
    fn long_deadlines_cross_years() {
        let cal = Calendar::builtin();
        let to = cal.add_working_days(d("2023-01-01"), 700).unwrap();
        assert_eq!(cal.working_days_between(d("2023-01-01"), to), Ok(700));
        assert!(cal.is_working_day(to).unwrap());
    }

    #[test]
    fn running_into_an_unloaded_year_is_reported_then_works_once_loaded() {
        let mut cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 1),
            Ok(d("2026-12-31"))
        );
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 2),
            Err(CalendarError::MissingYear(2027))
        );
        assert_eq!(
            cal.add_working_days(d("2026-12-15"), 20),
            Err(CalendarError::MissingYear(2027))
        );
        assert_eq!(
            cal.is_working_day(d("2027-01-04")),
            Err(CalendarError::MissingYear(2027))
        );
        assert_eq!(
            cal.working_days_between(d("2026-12-01"), d("2027-01-05")),
            Err(CalendarError::MissingYear(2027))
        );
        assert_eq!(
            cal.add_working_days(d("2022-12-30"), 1),
            Err(CalendarError::MissingYear(2022))
        );
        assert_eq!(
            cal.is_working_day(d("2022-12-30")),
            Err(CalendarError::MissingYear(2022))
        );

        assert_eq!(cal.insert(test_2027()), Ok(None));
        assert_eq!(
            cal.years().collect::<Vec<_>>(),
            vec![2023, 2024, 2025, 2026, 2027]
        );
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 2),
            Ok(d("2027-01-04"))
        );
        // 12-31, then Jan 4–8 (5), Sat 01-09 working (7), Jan 11–22 (17), Jan 25–27 (20).
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 20),
            Ok(d("2027-01-27"))
        );
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 300),
            Err(CalendarError::MissingYear(2028))
        );
    }

    #[test]
    fn replacing_a_year_returns_the_old_one_and_takes_effect() {
        let mut cal = Calendar::builtin();
        cal.insert(test_2027()).unwrap();
        let mut corrected = test_2027();
        corrected.days_off.insert(d("2027-01-04"));
        assert_eq!(cal.insert(corrected.clone()), Ok(Some(test_2027())));
        assert_eq!(cal.get(2027), Some(&corrected));
        assert_eq!(
            cal.add_working_days(d("2026-12-30"), 2),
            Ok(d("2027-01-05"))
        );
    }

    #[test]
    fn zero_working_days_is_refused() {
        assert_eq!(due("2025-09-30", 0), Err(CalendarError::ZeroWorkingDays));
    }

    #[test]
    fn working_days_between_counts_after_a_up_to_b() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.working_days_between(d("2025-11-04"), d("2025-11-04")),
            Ok(0)
        );
        assert_eq!(
            cal.working_days_between(d("2025-11-05"), d("2025-11-04")),
            Ok(0),
            "b < a"
        );
        assert_eq!(
            cal.working_days_between(d("2025-11-04"), d("2025-11-05")),
            Ok(1)
        );
        assert_eq!(
            cal.working_days_between(d("2025-09-30"), d("2025-10-08")),
            Ok(0),
            "holiday"
        );
        // Results due 2025-11-04, published Monday 2025-11-10: 4 working days late.
        assert_eq!(
            cal.working_days_between(d("2025-11-04"), d("2025-11-10")),
            Ok(4)
        );
        // An empty range needs no calendar at all.
        assert_eq!(
            Calendar::new().working_days_between(d("2030-01-02"), d("2030-01-01")),
            Ok(0)
        );
    }

    /// A day off that the 2023 notice puts in 2022 counts once 2022 is loaded, even
    /// though the 2022 notice does not list it.
    #[test]
    fn straddling_holiday_applies_to_the_neighbouring_year() {
        let mut cal = Calendar::builtin();
        let y2022 = YearCalendar {
            year: 2022,
            days_off: dates(&["2022-10-03"]),
            working_weekends: BTreeSet::new(),
        };
        cal.insert(y2022).unwrap();
        assert_eq!(cal.is_working_day(d("2022-12-30")), Ok(true));
        assert_eq!(cal.is_working_day(d("2022-12-31")), Ok(false));
        assert_eq!(
            cal.add_working_days(d("2022-12-29"), 2),
            Ok(d("2023-01-03"))
        );
    }

    /// A made-up 2028 notice that names a weekday and a Saturday in 2027 changes 2027's
    /// map. The result is the same whichever year is loaded first.
    #[test]
    fn straddling_entries_on_weekdays_and_insertion_order() {
        let y2028 = YearCalendar {
            year: 2028,
            days_off: dates(&["2027-12-31", "2028-01-01", "2028-01-02", "2028-01-03"]),
            working_weekends: dates(&["2027-12-25"]),
        };
        let mut first_2027 = Calendar::builtin();
        first_2027.insert(test_2027()).unwrap();
        assert_eq!(
            first_2027.is_working_day(d("2027-12-31")),
            Ok(true),
            "Friday, no notice yet"
        );
        assert_eq!(
            first_2027.is_working_day(d("2027-12-25")),
            Ok(false),
            "Saturday"
        );
        first_2027.insert(y2028.clone()).unwrap();
        assert_eq!(first_2027.is_working_day(d("2027-12-31")), Ok(false));
        assert_eq!(first_2027.is_working_day(d("2027-12-25")), Ok(true));
        assert_eq!(
            first_2027.add_working_days(d("2027-12-30"), 1),
            Ok(d("2028-01-04"))
        );

        let mut first_2028 = Calendar::new();
        first_2028.insert(y2028).unwrap();
        assert_eq!(
            first_2028.is_working_day(d("2027-12-31")),
            Err(CalendarError::MissingYear(2027))
        );
        first_2028.insert(test_2027()).unwrap();
        for y in [2027, 2028] {
            assert_eq!(
                first_2028.years[&y].working, first_2027.years[&y].working,
                "{y}"
            );
        }
    }

    #[test]
    fn neighbouring_years_that_disagree_are_refused() {
        let mut cal = Calendar::builtin();
        let y2022 = YearCalendar {
            year: 2022,
            days_off: dates(&["2022-10-03"]),
            working_weekends: dates(&["2022-12-31"]),
        };
        let err = cal.insert(y2022).unwrap_err();
        let CalendarError::Invalid { year: 2022, errors } = err else {
            panic!("{err:?}")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "working_weekends");
        assert!(
            errors[0].reason.contains("2022-12-31"),
            "{}",
            errors[0].reason
        );
        assert_eq!(
            cal.years().collect::<Vec<_>>(),
            vec![2023, 2024, 2025, 2026],
            "unchanged"
        );
    }

    #[test]
    fn validation_lists_every_problem() {
        let bad = YearCalendar {
            year: 2027,
            days_off: dates(&["2027-01-01", "2027-01-09", "2028-03-01", "2026-12-20"]),
            working_weekends: dates(&["2027-01-09", "2027-01-11", "2027-02-21"]),
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.reason.clone()))
            .collect();
        assert_eq!(errors.len(), 4, "{fields:#?}");
        assert!(
            fields
                .iter()
                .any(|(f, r)| *f == "days_off" && r.contains("2028-03-01"))
        );
        assert!(
            fields
                .iter()
                .any(|(f, r)| *f == "days_off" && r.contains("2026-12-20"))
        );
        assert!(fields.iter().any(|(f, r)| *f == "working_weekends"
            && r.contains("2027-01-11")
            && r.contains("Monday")));
        assert!(fields.iter().any(|(f, r)| *f == "working_weekends"
            && r.contains("2027-01-09")
            && r.contains("days_off")));
        let err = Calendar::builtin().insert(bad).unwrap_err();
        assert!(
            matches!(err, CalendarError::Invalid { year: 2027, ref errors } if errors.len() == 4)
        );
        assert!(err.to_string().contains("2028-03-01"), "{err}");
    }

    #[test]
    fn validation_of_boundary_window_year_and_empty_list() {
        let mut ok = test_2027();
        ok.days_off.insert(d("2026-12-25")); // 7 days before: allowed
        ok.days_off.insert(d("2028-01-07")); // 7 days after: allowed
        ok.working_weekends.insert(d("2026-12-26")); // a Saturday just before
        assert_eq!(ok.validate(), Ok(()));

        let mut too_far = test_2027();
        too_far.days_off.insert(d("2026-12-24"));
        too_far.days_off.insert(d("2028-01-08"));
        assert_eq!(too_far.validate().unwrap_err().len(), 2);

        let empty = YearCalendar {
            year: 2027,
            days_off: dates(&["2026-12-31"]),
            working_weekends: BTreeSet::new(),
        };
        let errors = empty.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "days_off");

        let mut year = test_2027();
        year.year = 1900;
        let errors = year.validate().unwrap_err();
        assert_eq!(errors[0].field, "year");
        assert!(Calendar::new().insert(year).is_err());
    }

    #[test]
    fn year_calendar_json_shape() {
        let json = r#"{"year":2027,"days_off":["2027-01-03","2027-01-01","2027-01-02","2027-10-01"],
                       "working_weekends":["2027-01-09"]}"#;
        let parsed: YearCalendar = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, test_2027());
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(back["days_off"][0], "2027-01-01", "sorted");
        let err = serde_json::to_value(FieldError::new("days_off", "x")).unwrap();
        assert_eq!(err, serde_json::json!({"field": "days_off", "reason": "x"}));
    }

    #[test]
    fn bit_helpers() {
        assert_eq!(range_mask(0, 0, 64), u64::MAX);
        assert_eq!(range_mask(64, 0, 64), 0);
        assert_eq!(range_mask(64, 65, 67), 0b110);
        assert_eq!(range_mask(0, 63, u32::MAX), 1 << 63);
        let bits = WorkingBits::weekdays(2024); // leap year, starts on a Monday
        assert_eq!(bits.len, 366);
        assert_eq!(bits.count(0, 366), 262);
        assert_eq!(bits.nth_from(0, 1), Ok(0));
        assert_eq!(bits.nth_from(5, 1), Ok(7));
        assert_eq!(bits.nth_from(365, 1), Ok(365), "Tuesday 12-31");
        assert_eq!(bits.nth_from(365, 2), Err(1));
        assert_eq!(bits.count(366, 384), 0, "no bits past the year");
    }

    /// Day-by-day reference for `add_working_days`.
    fn naive_add(cal: &Calendar, from: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = from;
        let mut left = n;
        loop {
            day = day.succ_opt().unwrap();
            if cal.is_working_day(day)? {
                left -= 1;
                if left == 0 {
                    return Ok(day);
                }
            }
        }
    }

    fn builtin_date() -> impl Strategy<Value = NaiveDate> {
        (0u64..1461).prop_map(|k| d("2023-01-01") + chrono::Days::new(k))
    }

    proptest! {
        #[test]
        fn deadline_is_the_nth_working_day_after(from in builtin_date(), n in 1u32..=60) {
            let cal = Calendar::builtin();
            match cal.add_working_days(from, n) {
                Ok(deadline) => {
                    prop_assert!(deadline > from);
                    prop_assert_eq!(cal.is_working_day(deadline), Ok(true));
                    prop_assert_eq!(cal.working_days_between(from, deadline), Ok(n));
                    prop_assert_eq!(
                        cal.working_days_between(from, deadline.pred_opt().unwrap()),
                        Ok(n - 1)
                    );
                    prop_assert_eq!(naive_add(&cal, from, n), Ok(deadline));
                }
                Err(e) => {
                    // Only allowed when fewer than n working days remain in 2026.
                    prop_assert_eq!(e, CalendarError::MissingYear(2027));
                    prop_assert!(cal.working_days_between(from, d("2026-12-31")).unwrap() < n);
                }
            }
        }

        #[test]
        fn deadline_is_monotonic_in_n(from in builtin_date(), n in 1u32..60) {
            let cal = Calendar::builtin();
            if let Ok(later) = cal.add_working_days(from, n + 1) {
                let earlier = cal.add_working_days(from, n).unwrap();
                prop_assert!(earlier < later);
                prop_assert_eq!(cal.working_days_between(earlier, later), Ok(1));
            }
        }

        #[test]
        fn deadline_is_monotonic_in_from(a in builtin_date(), b in builtin_date(), n in 1u32..=60) {
            let cal = Calendar::builtin();
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            if let (Ok(da), Ok(db)) = (cal.add_working_days(a, n), cal.add_working_days(b, n)) {
                prop_assert!(da <= db);
            }
        }
    }
}
