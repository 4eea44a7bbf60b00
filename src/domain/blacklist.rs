//! The public blacklist (黑名单, seed 001 二(六)2: 严重违规定点医药机构 "黑名单"制度,
//! 向社会公开). An institution is listed by an explicit decision (a coordinator's, with a
//! reason, a start and an end date), never by a rule alone, and the decision must rest on
//! a published result that shows a serious violation: its handling includes 解除协议
//! (agreement terminated), 行政处罚 (administrative penalty) or 移送公安 (referred to the
//! police), or its category is 不配合检查情节严重 (seriously obstructed the inspection).
//! Delisting early is a new version with its reason; nothing is lost.

use super::registry::{check_date, check_text};
use super::result::{HandlingForm, ResultCategory, ResultInput};
use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The version of the stored form written now.
pub const STORED_BLACKLIST_VERSION: u32 = 1;
/// The longest listing: five years (a listing always ends).
pub const MAX_YEARS: u32 = 5;

fn v1() -> u32 {
    1
}

/// The text rule of [`check_text`] (required) as a pattern.
pub const TEXT_PATTERN: &str = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$";

/// A decision to list an institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BlacklistListingInput)]
pub struct ListingInput {
    /// The published task whose result the decision rests on.
    pub task_id: String,
    /// The institution (drawn by that task, its result published).
    pub institution_id: String,
    /// Why, as the public will read it (1–500 characters).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
    /// The decision's number (决定书文号), when there is one (at most 100 characters).
    #[serde(default)]
    #[schema(
        max_length = 100,
        pattern = "^(?:[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?)?$"
    )]
    pub decision_number: String,
    /// First day on the list (the decision's effective date): not before the result's
    /// inspection date.
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub listed_on: NaiveDate,
    /// Last day on the list: after `listed_on`, at most 5 years later.
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub until: NaiveDate,
}

impl ListingInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "reason", &self.reason, true, 500);
        check_text(&mut e, "decision_number", &self.decision_number, false, 100);
        check_date(&mut e, "listed_on", self.listed_on);
        check_date(&mut e, "until", self.until);
        if self.until <= self.listed_on {
            e.push(FieldError::new("until", "must be after listed_on"));
        } else if self
            .listed_on
            .checked_add_months(chrono::Months::new(12 * MAX_YEARS))
            .is_some_and(|max| self.until > max)
        {
            e.push(FieldError::new(
                "until",
                format!("must be at most {MAX_YEARS} years after listed_on"),
            ));
        }
        e
    }
}

/// A decision to take an institution off the list before its end date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BlacklistDelistingInput)]
pub struct DelistingInput {
    /// Why (1–500 characters), public like the listing's reason.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd](?:[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufffd])?$"
    )]
    pub reason: String,
    /// First day off the list: from `listed_on` to `until`.
    #[schema(value_type = String, format = Date, pattern = "^(?:20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub delisted_on: NaiveDate,
}

impl DelistingInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_text(&mut e, "reason", &self.reason, true, 500);
        check_date(&mut e, "delisted_on", self.delisted_on);
        e
    }
}

/// What a result shows that can put an institution on the list, in Chinese; empty when
/// nothing does.
pub fn grounds(r: &ResultInput) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = r
        .handling_forms()
        .into_iter()
        .filter(|f| {
            matches!(
                f,
                HandlingForm::AgreementTerminated
                    | HandlingForm::AdministrativePenalty
                    | HandlingForm::ReferredPolice
            )
        })
        .map(HandlingForm::label_zh)
        .collect();
    if r.category == ResultCategory::Obstructed {
        out.push(r.category.label_zh());
    }
    out
}

/// Where a listing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = BlacklistState)]
pub enum ListingState {
    /// On the list from `listed_on` to `until`.
    Listed,
    /// Taken off early by a decision.
    Delisted,
}

impl ListingState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Listed => "listed",
            Self::Delisted => "delisted",
        }
    }
}

/// The stored form of a listing (tolerant, versioned): version 1 lists, version 2
/// delists; every version stays in the record history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BlacklistListing)]
pub struct Listing {
    #[serde(default = "v1")]
    pub stored_version: u32,
    pub task_id: String,
    pub institution_id: String,
    /// The institution as registered when listed.
    pub institution_name: String,
    pub credit_code: String,
    pub region: String,
    /// The published result version the decision rests on, and what it shows.
    pub result_version: i64,
    #[serde(default)]
    pub grounds: Vec<String>,
    pub reason: String,
    #[serde(default)]
    pub decision_number: String,
    #[schema(value_type = String, format = Date)]
    pub listed_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub until: NaiveDate,
    pub state: ListingState,
    /// Who decided (role:subject).
    pub decided_by: String,
    #[serde(default)]
    pub delisting: Option<Delisting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BlacklistDelisting)]
pub struct Delisting {
    pub reason: String,
    #[schema(value_type = String, format = Date)]
    pub delisted_on: NaiveDate,
    pub decided_by: String,
}

impl Listing {
    /// Whether the institution is on the public list on `day`.
    pub fn active_on(&self, day: NaiveDate) -> bool {
        let ended = match &self.delisting {
            Some(d) => day >= d.delisted_on,
            None => false,
        };
        self.listed_on <= day && day <= self.until && !ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn input(listed: &str, until: &str) -> ListingInput {
        ListingInput {
            task_id: "t".into(),
            institution_id: "i".into(),
            reason: "解除服务协议".into(),
            decision_number: String::new(),
            listed_on: d(listed),
            until: d(until),
        }
    }

    #[test]
    fn a_listing_ends_after_it_starts_and_within_five_years() {
        assert!(input("2023-10-01", "2024-09-30").validate().is_empty());
        assert_eq!(
            input("2023-10-01", "2023-10-01").validate()[0].field,
            "until"
        );
        assert_eq!(
            input("2023-10-01", "2028-10-02").validate()[0].field,
            "until"
        );
        assert!(input("2023-10-01", "2028-10-01").validate().is_empty());
    }

    #[test]
    fn only_serious_results_ground_a_listing() {
        let mut r: ResultInput = serde_json::from_value(serde_json::json!(
            {"category": "corrected", "inspection_date": "2023-08-15",
             "handling": ["rectification", "recovery"]}
        ))
        .unwrap();
        assert!(grounds(&r).is_empty());
        r.handling.push(HandlingForm::AgreementTerminated);
        assert_eq!(grounds(&r), ["解除协议"]);
    }
}
