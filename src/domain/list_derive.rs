//! Lists derived from lists (issue 14, docs/draw-spec.md B.17): a top-N ranking
//! (排名靠前) and an intersection on a key column, each saved as a new immutable list with
//! its rule. Pure: the rules, their validation and the bounded-memory ranking; the rows are
//! streamed in by `lists::derive`.

use super::list::{ColumnType, ListColumn};
use crate::draw::sample::value_text;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BinaryHeap};
use utoipa::ToSchema;

/// The most records a ranking keeps.
pub const MAX_TOP: u64 = 100_000;
/// The most lists an intersection takes.
pub const MAX_INTERSECT: usize = 8;

/// Conditions on attribute columns: the record's value (its text) is one of the values.
pub type Conditions = BTreeMap<String, Vec<String>>;

/// "At least `count` of the top records satisfy `where`" (B.17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TopAtLeast)]
pub struct AtLeast {
    /// Conditions like a stratum's `records` (at least one column).
    #[serde(rename = "where")]
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub conditions: Conditions,
    /// At least 1, at most `n`.
    #[schema(minimum = 1, maximum = 100_000)]
    pub count: u64,
}

/// A top-N ranking of a list (B.17): the records satisfying `where`, ranked by the integer
/// column `by` (descending; ties by id ascending), the first `n`, with at least
/// `at_least.count` of them satisfying `at_least.where` when the list has that many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TopListInput)]
pub struct TopRule {
    /// The new list's name, 1–200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// An integer attribute column of the list.
    #[schema(min_length = 1, max_length = 100)]
    pub by: String,
    /// How many records to keep, 1–100,000.
    #[schema(minimum = 1, maximum = 100_000)]
    pub n: u64,
    /// Which records take part (`{}` or absent: every record).
    #[serde(default, rename = "where")]
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub conditions: Conditions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<AtLeast>,
}

/// One list of an intersection and its key column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IntersectionSource)]
pub struct KeyedList {
    /// The list's id.
    #[schema(min_length = 1, max_length = 64)]
    pub list: String,
    /// Its id column or one of its attribute columns.
    #[schema(min_length = 1, max_length = 100)]
    pub key: String,
}

/// The intersection of lists on key columns (B.17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IntersectionInput)]
pub struct IntersectRule {
    /// The new list's name, 1–200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// 2–8 lists; the result has the first list's columns and the records of the first
    /// list whose key is a key of every other list, in the first list's row order.
    #[schema(min_items = 2, max_items = 8)]
    pub lists: Vec<KeyedList>,
}

fn check_name(name: &str, e: &mut Vec<FieldError>) {
    let n = name.chars().count();
    if name.trim().is_empty() || n > 200 {
        e.push(FieldError::new("name", "1–200 characters, not blank"));
    }
}

fn check_conditions(
    field: &str,
    conds: &Conditions,
    columns: &[ListColumn],
    e: &mut Vec<FieldError>,
) {
    for (col, values) in conds {
        let f = format!("{field}.{col}");
        let Some(c) = columns.iter().find(|c| &c.name == col) else {
            e.push(FieldError::new(
                &f,
                format!("{col} is not an attribute column of the list"),
            ));
            continue;
        };
        if values.is_empty() || values.len() > 1000 {
            e.push(FieldError::new(&f, "1 to 1,000 accepted values"));
        }
        for v in values {
            match super::list::parse_cell(c.kind, v) {
                Ok(p) if value_text(&p) == *v => {}
                _ => e.push(FieldError::new(
                    &f,
                    format!("{v:?} is not a {:?} value as the list stores it", c.kind),
                )),
            }
        }
    }
}

impl TopRule {
    /// The rule's errors against the list's columns (422 naming each field).
    pub fn check(&self, columns: &[ListColumn]) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_name(&self.name, &mut e);
        match columns.iter().find(|c| c.name == self.by) {
            Some(c) if c.kind == ColumnType::Integer => {}
            Some(_) => e.push(FieldError::new(
                "by",
                format!("{} is not an integer column", self.by),
            )),
            None => e.push(FieldError::new(
                "by",
                format!("{} is not an attribute column of the list", self.by),
            )),
        }
        if self.n == 0 || self.n > MAX_TOP {
            e.push(FieldError::new("n", "1 to 100,000 records"));
        }
        check_conditions("where", &self.conditions, columns, &mut e);
        if let Some(a) = &self.at_least {
            if a.conditions.is_empty() {
                e.push(FieldError::new("at_least.where", "at least one condition"));
            }
            check_conditions("at_least.where", &a.conditions, columns, &mut e);
            if a.count == 0 || a.count > self.n {
                e.push(FieldError::new("at_least.count", "1 to n records"));
            }
        }
        e
    }
}

impl IntersectRule {
    /// The rule's own errors (the lists' existence and columns are checked by the caller).
    pub fn check(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        check_name(&self.name, &mut e);
        if self.lists.len() < 2 || self.lists.len() > MAX_INTERSECT {
            e.push(FieldError::new("lists", "2 to 8 lists"));
        }
        e
    }
}

/// Whether a record's values (in column order) satisfy every condition.
pub struct Filter(Vec<(usize, Vec<String>)>);

impl Filter {
    pub fn new(conds: &Conditions, columns: &[ListColumn]) -> Self {
        Filter(
            conds
                .iter()
                .filter_map(|(col, values)| {
                    let i = columns.iter().position(|c| &c.name == col)?;
                    let mut v = values.clone();
                    v.sort();
                    v.dedup();
                    Some((i, v))
                })
                .collect(),
        )
    }

    pub fn holds(&self, values: &[Value]) -> bool {
        self.0.iter().all(|(i, accepted)| {
            values
                .get(*i)
                .is_some_and(|v| accepted.binary_search(&value_text(v)).is_ok())
        })
    }
}

/// A ranked record: smaller is better (higher value, then smaller id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RankKey {
    pub neg_value: i128,
    pub id: String,
}

/// The ranking of B.17 in bounded memory (`O(n + count)` records kept): feed every record,
/// then [`Ranking::finish`]. `T` is what the caller keeps of a record (e.g. its stored row).
pub struct Ranking<T> {
    rule: TopRule,
    by: usize,
    filter: Filter,
    sub: Option<Filter>,
    top: BinaryHeap<(RankKey, Ranked<T>)>,
    top_sub: BinaryHeap<(RankKey, Ranked<T>)>,
    /// Records satisfying `where` (and `at_least.where`).
    pub candidates: u64,
    pub sub_candidates: u64,
}

/// A kept record (ordered by nothing: the key decides).
#[derive(Debug, Clone)]
pub struct Ranked<T>(pub T);
impl<T> PartialEq for Ranked<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Ranked<T> {}
impl<T> PartialOrd for Ranked<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Ranked<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

fn keep<T>(heap: &mut BinaryHeap<(RankKey, Ranked<T>)>, limit: u64, item: (RankKey, Ranked<T>)) {
    if limit == 0 {
        return;
    }
    if (heap.len() as u64) < limit {
        heap.push(item);
    } else if heap.peek().is_some_and(|worst| item.0 < worst.0) {
        heap.pop();
        heap.push(item);
    }
}

impl<T: Clone> Ranking<T> {
    /// A ranking for a checked rule over these columns.
    pub fn new(rule: &TopRule, columns: &[ListColumn]) -> Self {
        Ranking {
            by: columns.iter().position(|c| c.name == rule.by).unwrap_or(0),
            filter: Filter::new(&rule.conditions, columns),
            sub: rule
                .at_least
                .as_ref()
                .map(|a| Filter::new(&a.conditions, columns)),
            rule: rule.clone(),
            top: BinaryHeap::new(),
            top_sub: BinaryHeap::new(),
            candidates: 0,
            sub_candidates: 0,
        }
    }

    pub fn push(&mut self, id: &str, values: &[Value], keep_as: T) {
        if !self.filter.holds(values) {
            return;
        }
        self.candidates += 1;
        let value = values.get(self.by).and_then(Value::as_i64).unwrap_or(0);
        let key = RankKey {
            neg_value: -i128::from(value),
            id: id.to_owned(),
        };
        if let Some(sub) = &self.sub
            && sub.holds(values)
        {
            self.sub_candidates += 1;
            let count = self.rule.at_least.as_ref().map_or(0, |a| a.count);
            keep(
                &mut self.top_sub,
                count,
                (key.clone(), Ranked(keep_as.clone())),
            );
        }
        keep(&mut self.top, self.rule.n, (key, Ranked(keep_as)));
    }

    /// The kept records in rank order: the `m = min(count, records satisfying
    /// at_least.where)` best of those satisfying `at_least.where`, and the best others up
    /// to `n` in all.
    pub fn finish(self) -> Vec<(RankKey, T)> {
        let sure: Vec<(RankKey, T)> = self
            .top_sub
            .into_sorted_vec()
            .into_iter()
            .map(|(k, r)| (k, r.0))
            .collect();
        let n = self.rule.n as usize;
        let mut out = sure;
        let rest = n.saturating_sub(out.len());
        let taken: std::collections::HashSet<String> =
            out.iter().map(|(k, _)| k.id.clone()).collect();
        out.extend(
            self.top
                .into_sorted_vec()
                .into_iter()
                .filter(|(k, _)| !taken.contains(&k.id))
                .take(rest)
                .map(|(k, r)| (k, r.0)),
        );
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<ListColumn> {
        super::super::list::parse_columns("cost:integer,grassroots:text", "id").unwrap()
    }

    fn rank(n: u64, at_least: Option<u64>, rows: &[(&str, i64, &str)]) -> Vec<String> {
        let rule = TopRule {
            name: "t".into(),
            by: "cost".into(),
            n,
            conditions: Conditions::new(),
            at_least: at_least.map(|count| AtLeast {
                conditions: [("grassroots".to_string(), vec!["是".to_string()])].into(),
                count,
            }),
        };
        assert!(rule.check(&cols()).is_empty());
        let mut r = Ranking::new(&rule, &cols());
        for (id, cost, g) in rows {
            r.push(id, &[Value::from(*cost), Value::from(*g)], id.to_string());
        }
        r.finish().into_iter().map(|(_, id)| id).collect()
    }

    #[test]
    fn top_n_ranks_by_value_then_id() {
        let rows = [
            ("b", 5, "否"),
            ("a", 5, "否"),
            ("c", 9, "否"),
            ("d", 1, "是"),
            ("e", 3, "是"),
        ];
        assert_eq!(rank(3, None, &rows), ["c", "a", "b"]);
        // At least 2 grassroots: the two lowest-ranked others make room for d and e.
        assert_eq!(rank(3, Some(2), &rows), ["c", "e", "d"]);
        // At least 1: e replaces b.
        assert_eq!(rank(3, Some(1), &rows), ["c", "a", "e"]);
        // More grassroots asked than exist: all of them, the rest by rank.
        assert_eq!(rank(4, Some(3), &rows), ["c", "a", "e", "d"]);
        // n above the list: every record.
        assert_eq!(rank(10, None, &rows).len(), 5);
    }

    #[test]
    fn bad_rules_name_the_field() {
        let mut rule = TopRule {
            name: " ".into(),
            by: "grassroots".into(),
            n: 0,
            conditions: [("colour".to_string(), vec!["red".to_string()])].into(),
            at_least: Some(AtLeast {
                conditions: Conditions::new(),
                count: 3,
            }),
        };
        let fields: Vec<String> = rule.check(&cols()).into_iter().map(|e| e.field).collect();
        for f in [
            "name",
            "by",
            "n",
            "where.colour",
            "at_least.where",
            "at_least.count",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
        rule.by = "nope".into();
        assert!(rule.check(&cols()).iter().any(|e| e.field == "by"));
    }
}
