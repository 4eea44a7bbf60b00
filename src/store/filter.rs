//! The one SQL rendering of a task-list filter, shared by the coordinators' list and the
//! public list.

use super::QueryBuilder;
use super::registry::region_prefixes;
use crate::domain::filter::TaskFilter;
use crate::store::Param;

/// Appends the filter's conditions (`AND …`) for a query over `tasks t`.
pub(crate) fn push_task_filter(q: &mut QueryBuilder, f: &TaskFilter) {
    if let Some(y) = f.year {
        let p = q.bind(Param::Int(y));
        q.push(&format!(" AND t.year = {p}"));
    }
    let states: Vec<&str> = f.state.iter().map(|s| s.as_str()).collect();
    q.any_of("t.state", &states);
    let leads: Vec<&str> = f.lead_department.iter().map(|d| d.as_str()).collect();
    q.any_of("t.lead_department", &leads);
    if !f.department.is_empty() {
        let departments: Vec<&str> = f.department.iter().map(|d| d.as_str()).collect();
        q.push(" AND EXISTS (SELECT 1 FROM task_departments d WHERE d.task_id = t.id");
        q.any_of("d.department", &departments);
        q.push(")");
    }
    if !f.region_prefix.is_empty() {
        q.push(" AND EXISTS (SELECT 1 FROM task_selections s WHERE s.task_id = t.id");
        region_prefixes(q, "s.region", &f.region_prefix);
        q.push(")");
    }
}
