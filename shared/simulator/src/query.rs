//! Query execution: counting, paging and rendering rows of a parsed SOQL query.
//!
//! Nothing here holds records. A page in index order is produced by scanning from a
//! remembered index; a page in another order sorts the matching record indexes once per
//! cursor and renders only the rows of the page.

use crate::org::Org;
use crate::schema::{ADDRESS_KEYS, FieldType, ObjectDef};
use crate::soql::{Query, Selection, order_values};
use crate::value::Val;
use serde_json::{Map, Value as Json, json};
use std::cmp::Ordering;

/// Number of records of the query's object (zero for metadata-only objects).
pub fn object_count(org: &Org, object: &ObjectDef) -> u64 {
    object.generated.map_or(0, |kind| org.count(kind))
}

/// The record at `index`, or an empty row for objects without generated data.
fn record(org: &Org, object: &ObjectDef, index: u64) -> Vec<Val> {
    object
        .generated
        .map_or_else(Vec::new, |kind| org.record(kind, index))
}

/// Whether record `index` passes the query's WHERE clause.
fn passes(query: &Query, values: &[Val]) -> bool {
    query
        .condition
        .as_ref()
        .is_none_or(|c| c.matches(query.object, values))
}

/// Number of records matching the WHERE clause, before OFFSET and LIMIT.
pub fn matching(org: &Org, query: &Query) -> u64 {
    let count = object_count(org, query.object);
    if query.condition.is_none() {
        return count;
    }
    (0..count)
        .filter(|&i| passes(query, &record(org, query.object, i)))
        .count() as u64
}

/// The `totalSize` of a query: matching rows after OFFSET, capped by LIMIT.
pub fn total_size(query: &Query, matching: u64) -> u64 {
    let after_offset = matching.saturating_sub(query.offset);
    query
        .limit
        .map_or(after_offset, |limit| after_offset.min(limit))
}

/// Indexes of all matching records in ORDER BY order, ties broken by index (id).
pub fn sorted_indexes(org: &Org, query: &Query) -> Vec<u64> {
    let count = object_count(org, query.object);
    let mut keyed: Vec<(Vec<Val>, u64)> = (0..count)
        .filter_map(|i| {
            let values = record(org, query.object, i);
            passes(query, &values).then(|| {
                (
                    query
                        .order
                        .iter()
                        .map(|k| values[k.field].clone())
                        .collect(),
                    i,
                )
            })
        })
        .collect();
    keyed.sort_by(|(a, ai), (b, bi)| {
        query
            .order
            .iter()
            .zip(a.iter().zip(b))
            .map(|(key, (x, y))| order_values(x, y, key))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or_else(|| ai.cmp(bi))
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// One rendered page and where the scan that produced it stopped.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Json>,
    /// Record index to resume an index-ordered scan from for the following page.
    pub resume_index: u64,
}

/// Renders rows `position..position + size` of an index-ordered query (positions count
/// rows after OFFSET), scanning from record `scan_from`, which must not be past the row
/// at `position`. `rows_before_scan` is the number of matching rows (OFFSET included)
/// before `scan_from`.
pub fn scan_page(
    org: &Org,
    query: &Query,
    version: &str,
    fields: &[usize],
    (scan_from, rows_before_scan): (u64, u64),
    position: u64,
    size: u64,
) -> Page {
    let count = object_count(org, query.object);
    let first = query.offset + position;
    let mut seen = rows_before_scan;
    let mut records = Vec::new();
    let mut index = scan_from;
    while index < count && (records.len() as u64) < size {
        let values = record(org, query.object, index);
        index += 1;
        if !passes(query, &values) {
            continue;
        }
        if seen >= first {
            records.push(render(query.object, version, fields, &values));
        }
        seen += 1;
    }
    Page {
        records,
        resume_index: index,
    }
}

/// Renders the given record indexes.
pub fn render_indexes(
    org: &Org,
    query: &Query,
    version: &str,
    fields: &[usize],
    indexes: &[u64],
) -> Vec<Json> {
    indexes
        .iter()
        .map(|&i| render(query.object, version, fields, &record(org, query.object, i)))
        .collect()
}

/// The JSON of one query row: `attributes`, then the selected fields in SELECT order.
pub fn render(object: &ObjectDef, version: &str, fields: &[usize], values: &[Val]) -> Json {
    let mut row = Map::new();
    let id = match values.first() {
        Some(Val::Str(id)) => id.as_str(),
        _ => "",
    };
    row.insert(
        "attributes".into(),
        json!({"type": object.name, "url": format!("/services/data/v{version}/sobjects/{}/{id}", object.name)}),
    );
    for &field in fields {
        let def = &object.fields[field];
        let value = if def.ftype == FieldType::Address {
            address_json(object, field, values)
        } else {
            values.get(field).map_or(Json::Null, Val::to_json)
        };
        row.insert(def.name.to_string(), value);
    }
    Json::Object(row)
}

/// A compound address assembled from its component fields; `null` when all are empty.
fn address_json(object: &ObjectDef, field: usize, values: &[Val]) -> Json {
    let Some(parts) = object.address_components(field) else {
        return Json::Null;
    };
    let mut address = Map::new();
    let mut any = false;
    for (key, part) in ADDRESS_KEYS.iter().zip(parts) {
        let value = part
            .and_then(|i| values.get(i))
            .map_or(Json::Null, Val::to_json);
        any |= !value.is_null();
        address.insert((*key).to_string(), value);
    }
    if any {
        Json::Object(address)
    } else {
        Json::Null
    }
}

/// The single AggregateResult row of a `COUNT(field)` query.
pub fn aggregate_row(org: &Org, query: &Query) -> Json {
    let Selection::Aggregates(aggregates) = &query.selection else {
        return Json::Null;
    };
    let count = object_count(org, query.object);
    let mut totals = vec![0u64; aggregates.len()];
    for i in 0..count {
        let values = record(org, query.object, i);
        if !passes(query, &values) {
            continue;
        }
        for (total, (field, _)) in totals.iter_mut().zip(aggregates) {
            if field.is_none_or(|f| values[f] != Val::Null) {
                *total += 1;
            }
        }
    }
    let mut row = Map::new();
    row.insert("attributes".into(), json!({"type": "AggregateResult"}));
    for (total, (_, name)) in totals.iter().zip(aggregates) {
        row.insert(name.clone(), json!(total));
    }
    Json::Object(row)
}
