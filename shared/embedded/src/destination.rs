use crate::db::{Db, EmbeddedError};
use async_trait::async_trait;
use ferry_model::PortError;
use ferry_model::ids::SalesforceId;
use ferry_model::ids::{DestinationId, TenantId};
use ferry_model::mapping::{EntityKind, StandardField, ValueKind};
use ferry_model::plan::{CustomFieldDefinition, DestinationFieldType};
use ferry_model::ports::{
    Destination, DestinationUser, FileBody, FileUpload, LinkPatch, UpsertOutcome, UserStatus,
};
use ferry_model::records::DestinationRecord;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The reference CRM's tables besides the entities' own (which [`entity_tables`] writes from
/// each entity's schema): owners, custom field definitions and values, custom links and file
/// contents; and `pipelines`, a view of the pipelines stages and opportunities name (one
/// `Default` pipeline, or one per record type when the map asks). Every record keeps the Salesforce object and id it came from, unique per tenant,
/// which is what makes an upsert of the same record an update. An entity table written by an
/// older Ferry gains the columns its schema has since added when the file is opened
/// ([`entity_columns`]); columns added to the tables here go in [`ADDED_COLUMNS`].
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS custom_field_definitions (
    tenant TEXT NOT NULL,
    entity TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (tenant, entity, name)
);
CREATE TABLE IF NOT EXISTS owners (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    -- 0: the person left the company in the source CRM; NULL: not known.
    active INTEGER,
    UNIQUE (tenant, email)
);
CREATE TABLE IF NOT EXISTS file_contents (
    entity TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (entity, record_id)
);
CREATE TABLE IF NOT EXISTS custom_field_values (
    entity TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (entity, record_id, name)
);
CREATE VIEW IF NOT EXISTS pipelines (tenant, name) AS
    SELECT tenant, pipeline FROM stages WHERE pipeline IS NOT NULL
    UNION
    SELECT tenant, pipeline FROM opportunities WHERE pipeline IS NOT NULL;
CREATE TABLE IF NOT EXISTS custom_links (
    entity TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    target_entity TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    PRIMARY KEY (entity, record_id, name)
);
";

/// The `CREATE TABLE` of every entity a migration creates, from its schema: one column per
/// standard field (bytes excepted: they live in `file_contents`) and one `{link}_id` column
/// per link, referencing the target entity's table.
fn entity_tables() -> String {
    let mut sql = String::new();
    for entity in EntityKind::ALL {
        if !entity.created_by_migration() {
            continue;
        }
        let schema = entity.schema();
        let mut columns = vec![
            "id INTEGER PRIMARY KEY".to_owned(),
            "tenant TEXT NOT NULL".to_owned(),
            "source_object TEXT NOT NULL".to_owned(),
            "source_id TEXT NOT NULL".to_owned(),
        ];
        for field in columns_of(entity) {
            let not_null = if field.required { " NOT NULL" } else { "" };
            columns.push(format!(
                "{} {}{not_null}",
                field.name,
                column_type(field.kind)
            ));
        }
        for (link, target) in schema.links {
            columns.push(format!(
                "{link}_id INTEGER REFERENCES {} (id)",
                target.schema().table
            ));
        }
        columns.push("UNIQUE (tenant, source_object, source_id)".to_owned());
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    {}\n);\n",
            schema.table,
            columns.join(",\n    ")
        ));
    }
    sql
}

/// The SQLite type of a standard field's column.
fn column_type(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Integer | ValueKind::Boolean => "INTEGER",
        ValueKind::Text | ValueKind::Decimal | ValueKind::Json | ValueKind::Bytes => "TEXT",
    }
}

/// The standard fields an entity's table holds as columns: all but bytes.
fn columns_of(entity: EntityKind) -> impl Iterator<Item = &'static StandardField> {
    entity
        .schema()
        .fields
        .iter()
        .filter(|field| field.kind != ValueKind::Bytes)
}

fn table(entity: EntityKind) -> &'static str {
    entity.schema().table
}

/// The embedded destination: the reference CRM in an SQLite file.
#[derive(Clone)]
pub struct SqliteDestination {
    db: Db,
}

impl std::fmt::Debug for SqliteDestination {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SqliteDestination")
    }
}

impl SqliteDestination {
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        let db = Db::open(path, &format!("{}{SCHEMA}", entity_tables()))?;
        db.add_missing_columns(ADDED_COLUMNS)?;
        let entity_columns = entity_columns();
        let entity_columns: Vec<(&str, &str, &str)> = entity_columns
            .iter()
            .map(|(table, column, sql_type)| (*table, column.as_str(), sql_type.as_str()))
            .collect();
        db.add_missing_columns(&entity_columns)?;
        Ok(Self { db })
    }

    /// Records of one entity a tenant has.
    pub async fn count(&self, tenant: &TenantId, entity: EntityKind) -> Result<u64, PortError> {
        let tenant = tenant.to_string();
        self.db
            .call("counting destination records", move |connection| {
                let sql = format!("SELECT COUNT(*) FROM {} WHERE tenant = ?1", table(entity));
                let count: i64 = connection.query_row(&sql, [tenant], |row| row.get(0))?;
                Ok(u64::try_from(count).unwrap_or(0))
            })
            .await
    }
}

impl SqliteDestination {
    /// The ids of every record of one entity a tenant has, in id order: with
    /// [`Destination::get`], a whole snapshot of the destination (tests compare runs so).
    pub async fn all_ids(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
    ) -> Result<Vec<DestinationId>, PortError> {
        let tenant = tenant.to_string();
        self.db
            .call("listing destination records", move |connection| {
                let sql = format!(
                    "SELECT id FROM {} WHERE tenant = ?1 ORDER BY id",
                    table(entity)
                );
                let mut statement = connection.prepare(&sql)?;
                let ids = statement.query_map([tenant], |row| row.get::<_, i64>(0))?;
                Ok(ids
                    .map(|id| id.map(|id| DestinationId::new(id.to_string())))
                    .collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    /// Resolves a rich-text value's reference to one of its images (`ferry-file:{id}`,
    /// [`ferry_model::records::FILE_REFERENCE_SCHEME`]): the file the tenant holds under that
    /// source id, `None` when it holds none (or the text is no such reference). The file's
    /// record and bytes are then read as any file's ([`Destination::get`], the
    /// `file_contents`).
    pub async fn file_by_reference(
        &self,
        tenant: &TenantId,
        reference: &str,
    ) -> Result<Option<DestinationId>, PortError> {
        let Some(source_id) = reference.strip_prefix(ferry_model::records::FILE_REFERENCE_SCHEME)
        else {
            return Ok(None);
        };
        let (tenant, source_id) = (tenant.to_string(), source_id.to_owned());
        self.db
            .call("resolving a file reference", move |connection| {
                let sql = format!(
                    "SELECT id FROM {} WHERE tenant = ?1 AND source_id = ?2 ORDER BY id LIMIT 1",
                    table(EntityKind::File)
                );
                let mut statement = connection.prepare(&sql)?;
                let mut rows =
                    statement.query_map(params![tenant, source_id], |row| row.get::<_, i64>(0))?;
                Ok(rows
                    .next()
                    .transpose()?
                    .map(|id| DestinationId::new(id.to_string())))
            })
            .await
    }

    /// Adds a user to the destination (or renames the one with that email) and returns its
    /// id. The reference CRM's users are set up by whoever runs it (`ferry demo`, tests);
    /// a migration only reads them.
    pub async fn add_user(
        &self,
        tenant: &TenantId,
        email: &str,
        name: &str,
    ) -> Result<DestinationId, PortError> {
        let (tenant, email, name) = (tenant.to_string(), email.to_owned(), name.to_owned());
        self.db
            .call("adding a destination user", move |connection| {
                let id: i64 = connection.query_row(
                    "INSERT INTO owners (tenant, email, name) VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant, email) DO UPDATE SET name = excluded.name
                     RETURNING id",
                    params![tenant, email, name],
                    |row| row.get(0),
                )?;
                Ok(DestinationId::new(id.to_string()))
            })
            .await
    }
}

/// (table, column, type) added to the tables of [`SCHEMA`] after they first shipped.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("owners", "active", "INTEGER")];

/// (table, column, type) of every column of every entity table but its key and source, as
/// [`entity_tables`] writes them: what a file from an older Ferry gains if it lacks one (as
/// a nullable column, since its existing rows have no value).
fn entity_columns() -> Vec<(&'static str, String, String)> {
    let mut columns = Vec::new();
    for entity in EntityKind::ALL {
        if !entity.created_by_migration() {
            continue;
        }
        let schema = entity.schema();
        for field in columns_of(entity) {
            columns.push((
                schema.table,
                field.name.to_owned(),
                column_type(field.kind).to_owned(),
            ));
        }
        for (link, target) in schema.links {
            columns.push((
                schema.table,
                format!("{link}_id"),
                format!("INTEGER REFERENCES {} (id)", target.schema().table),
            ));
        }
    }
    columns
}

/// A field's value as its column holds it. Decimals are kept as their decimal text, so no
/// float ever rounds them; structured values as JSON text.
fn sql_value(kind: ValueKind, value: &Value) -> SqlValue {
    match (kind, value) {
        (_, Value::Null) => SqlValue::Null,
        (ValueKind::Decimal, Value::Number(number)) => SqlValue::Text(number.to_string()),
        (_, Value::Bool(flag)) => SqlValue::Integer(i64::from(*flag)),
        (_, Value::Number(number)) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => SqlValue::Integer(integer),
            (None, Some(float)) => SqlValue::Real(float),
            (None, None) => SqlValue::Text(number.to_string()),
        },
        (_, Value::String(text)) => SqlValue::Text(text.clone()),
        (_, other) => SqlValue::Text(other.to_string()),
    }
}

/// A column's value read back as the JSON value that was sent for it: the inverse of
/// [`sql_value`].
fn json_value(kind: ValueKind, value: SqlValue) -> Value {
    match (kind, value) {
        (_, SqlValue::Null) => Value::Null,
        (ValueKind::Boolean, SqlValue::Integer(flag)) => Value::Bool(flag != 0),
        (ValueKind::Decimal | ValueKind::Integer, SqlValue::Text(text)) => text
            .parse::<serde_json::Number>()
            .map_or(Value::String(text), Value::Number),
        (ValueKind::Json, SqlValue::Text(text)) => {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        (_, SqlValue::Integer(integer)) => Value::from(integer),
        (_, SqlValue::Real(float)) => {
            serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number)
        }
        (_, SqlValue::Text(text)) => Value::String(text),
        (_, SqlValue::Blob(bytes)) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

fn parse_id(id: &DestinationId) -> Option<i64> {
    id.as_str().parse::<i64>().ok()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Reads one record back as a [`DestinationRecord`]: its non-empty standard fields, links
/// and custom fields.
fn read_record(
    transaction: &Transaction<'_>,
    tenant: &str,
    entity: EntityKind,
    id: i64,
) -> Result<Option<DestinationRecord>, EmbeddedError> {
    if !entity.created_by_migration() {
        return Ok(None);
    }
    let fields: Vec<&'static StandardField> = columns_of(entity).collect();
    let links = entity.links();
    let columns: Vec<String> = ["source_object".to_owned(), "source_id".to_owned()]
        .into_iter()
        .chain(fields.iter().map(|field| field.name.to_owned()))
        .chain(links.iter().map(|(link, _)| format!("{link}_id")))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1 AND tenant = ?2",
        columns.join(", "),
        table(entity)
    );
    let row: Option<Vec<SqlValue>> = transaction
        .prepare_cached(&sql)?
        .query_row(params![id, tenant], |row| {
            (0..columns.len())
                .map(|index| row.get::<_, SqlValue>(index))
                .collect()
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut values = row.into_iter();
    let source_object = match values.next() {
        Some(SqlValue::Text(text)) => text,
        _ => {
            return Err(EmbeddedError::Invalid(format!(
                "{entity} {id} has no source object"
            )));
        }
    };
    let source_id = match values.next() {
        Some(SqlValue::Text(text)) => SalesforceId::parse(&text).map_err(|error| {
            EmbeddedError::Invalid(format!("{entity} {id} has a bad source id: {error}"))
        })?,
        _ => {
            return Err(EmbeddedError::Invalid(format!(
                "{entity} {id} has no source id"
            )));
        }
    };
    let mut record = DestinationRecord {
        source_object,
        source_id,
        fields: BTreeMap::new(),
        links: BTreeMap::new(),
        custom_fields: BTreeMap::new(),
    };
    for field in fields {
        let value = json_value(field.kind, values.next().unwrap_or(SqlValue::Null));
        if !value.is_null() {
            record.fields.insert(field.name.to_owned(), value);
        }
    }
    for (link, _) in links {
        if let Some(SqlValue::Integer(target)) = values.next() {
            record
                .links
                .insert((*link).to_owned(), DestinationId::new(target.to_string()));
        }
    }
    let mut statement = transaction.prepare_cached(
        "SELECT name, value FROM custom_field_values WHERE entity = ?1 AND record_id = ?2",
    )?;
    let custom = statement.query_map(params![entity.as_str(), id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for pair in custom {
        let (name, value) = pair?;
        let value = serde_json::from_str(&value).unwrap_or(Value::String(value));
        record.custom_fields.insert(name, value);
    }
    let mut statement = transaction.prepare_cached(
        "SELECT name, target_id FROM custom_links WHERE entity = ?1 AND record_id = ?2",
    )?;
    let custom_links = statement.query_map(params![entity.as_str(), id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for pair in custom_links {
        let (name, target) = pair?;
        record
            .links
            .insert(name, DestinationId::new(target.to_string()));
    }
    Ok(Some(record))
}

/// Checks a record against the entity's schema, so a bad map or a missing custom field
/// definition rejects that record with a reason instead of failing the batch.
fn check_record(
    entity: EntityKind,
    record: &DestinationRecord,
    defined: &BTreeMap<String, Option<EntityKind>>,
) -> Result<(), String> {
    for field in record.fields.keys() {
        if !entity.has_field(field) || entity.field_kind(field) == ValueKind::Bytes {
            return Err(format!("{entity} has no field {field}"));
        }
    }
    for link in record.links.keys() {
        let standard = entity.link_target(link).is_some();
        let custom = matches!(defined.get(link), Some(Some(_)));
        if !standard && !custom {
            return Err(format!("{entity} has no link {link}"));
        }
    }
    for field in record.custom_fields.keys() {
        if !matches!(defined.get(field), Some(None)) {
            return Err(format!("custom field {entity}.{field} is not defined"));
        }
    }
    for required in entity.required_fields() {
        match record.fields.get(required) {
            None | Some(Value::Null) => return Err(format!("{entity}.{required} is required")),
            Some(Value::String(text)) if text.trim().is_empty() => {
                return Err(format!("{entity}.{required} is required"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The custom fields defined for an entity: name to the entity a custom lookup points to,
/// `None` for a custom field holding a value.
fn custom_definitions(
    transaction: &Transaction<'_>,
    tenant: &str,
    entity: EntityKind,
) -> Result<BTreeMap<String, Option<EntityKind>>, EmbeddedError> {
    let mut statement = transaction.prepare_cached(
        "SELECT name, definition FROM custom_field_definitions WHERE tenant = ?1 AND entity = ?2",
    )?;
    let rows = statement.query_map(params![tenant, entity.as_str()], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut defined = BTreeMap::new();
    for row in rows {
        let (name, definition) = row?;
        let definition: CustomFieldDefinition = serde_json::from_str(&definition)?;
        let target = match definition.field_type {
            DestinationFieldType::Lookup { entity } => Some(entity),
            _ => None,
        };
        defined.insert(name, target);
    }
    Ok(defined)
}

/// The statements of one entity's upsert, built once per batch rather than once per record.
struct UpsertStatements {
    select: String,
    update: String,
    insert: String,
}

impl UpsertStatements {
    fn for_entity(entity: EntityKind) -> Self {
        let table = table(entity);
        // Every standard column and every link is written, so a value cleared in Salesforce
        // is cleared here too; a link not yet resolvable is written empty and patched at
        // finalize.
        let columns: Vec<String> = columns_of(entity)
            .map(|field| field.name.to_owned())
            .chain(entity.links().iter().map(|(link, _)| format!("{link}_id")))
            .collect();
        let assignments: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(index, column)| format!("{column} = ?{}", index + 2))
            .collect();
        let placeholders: Vec<String> = (4..columns.len() + 4)
            .map(|index| format!("?{index}"))
            .collect();
        Self {
            select: format!(
                "SELECT id FROM {table} WHERE tenant = ?1 AND source_object = ?2 AND source_id = ?3"
            ),
            update: format!(
                "UPDATE {table} SET {} WHERE id = ?1",
                assignments.join(", ")
            ),
            insert: format!(
                "INSERT INTO {table} (tenant, source_object, source_id, {}) VALUES (?1, ?2, ?3, {})",
                columns.join(", "),
                placeholders.join(", ")
            ),
        }
    }
}

fn upsert_one(
    transaction: &Transaction<'_>,
    statements: &UpsertStatements,
    tenant: &str,
    entity: EntityKind,
    defined: &BTreeMap<String, Option<EntityKind>>,
    record: &DestinationRecord,
) -> Result<UpsertOutcome, EmbeddedError> {
    let existing: Option<i64> = transaction
        .prepare_cached(&statements.select)?
        .query_row(
            params![tenant, record.source_object, record.source_id.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    // A link names a record of the same tenant or none: nothing crosses tenants (another
    // tenant's id is "not found", as the contract says of every path), so one tenant can
    // never point at, and so pin against deletion, another's record.
    for (link, target) in &record.links {
        let target_entity = entity
            .link_target(link)
            .or_else(|| defined.get(link).copied().flatten());
        let (Some(target_entity), Some(target_id)) = (target_entity, parse_id(target)) else {
            continue;
        };
        let found: Option<i64> = transaction
            .prepare_cached(&format!(
                "SELECT id FROM {} WHERE id = ?1 AND tenant = ?2",
                table(target_entity)
            ))?
            .query_row(params![target_id, tenant], |row| row.get(0))
            .optional()?;
        if found.is_none() {
            return Ok(UpsertOutcome::Rejected {
                reason: format!(
                    "link {link} points to {target_entity} {target}, which does not exist"
                ),
            });
        }
    }
    // Values in the column order of `UpsertStatements`: standard fields, then links.
    let mut values: Vec<SqlValue> = Vec::new();
    for field in columns_of(entity) {
        values.push(
            record
                .fields
                .get(field.name)
                .map_or(SqlValue::Null, |value| sql_value(field.kind, value)),
        );
    }
    for (link, _) in entity.links() {
        values.push(match record.links.get(*link) {
            Some(id) => id
                .as_str()
                .parse::<i64>()
                .map(SqlValue::Integer)
                .map_err(|_| {
                    EmbeddedError::Invalid(format!(
                        "link {link} points to {id}, not a destination id"
                    ))
                })?,
            None => SqlValue::Null,
        });
    }
    let id = match existing {
        Some(id) => {
            let mut all = vec![SqlValue::Integer(id)];
            all.extend(values);
            transaction
                .prepare_cached(&statements.update)?
                .execute(params_from_iter(all))?;
            id
        }
        None => {
            let mut all = vec![
                SqlValue::Text(tenant.to_owned()),
                SqlValue::Text(record.source_object.clone()),
                SqlValue::Text(record.source_id.to_string()),
            ];
            all.extend(values);
            transaction
                .prepare_cached(&statements.insert)?
                .execute(params_from_iter(all))?;
            transaction.last_insert_rowid()
        }
    };
    // Custom links are written whole, like standard links: one cleared in Salesforce is
    // cleared here, and one not yet resolvable is patched at finalize.
    transaction
        .prepare_cached("DELETE FROM custom_links WHERE entity = ?1 AND record_id = ?2")?
        .execute(params![entity.as_str(), id])?;
    for (name, target) in &record.links {
        let Some(Some(target_entity)) = defined.get(name) else {
            continue;
        };
        let target_id = parse_id(target).ok_or_else(|| {
            EmbeddedError::Invalid(format!(
                "link {name} points to {target}, not a destination id"
            ))
        })?;
        transaction
            .prepare_cached(
                "INSERT INTO custom_links (entity, record_id, name, target_entity, target_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![entity.as_str(), id, name, target_entity.as_str(), target_id])?;
    }
    for (name, value) in &record.custom_fields {
        if value.is_null() {
            transaction
                .prepare_cached("DELETE FROM custom_field_values WHERE entity = ?1 AND record_id = ?2 AND name = ?3")?
                .execute(params![entity.as_str(), id, name])?;
        } else {
            transaction
                .prepare_cached(
                    "INSERT INTO custom_field_values (entity, record_id, name, value) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (entity, record_id, name) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![entity.as_str(), id, name, value.to_string()])?;
        }
    }
    let destination_id = DestinationId::new(id.to_string());
    Ok(if existing.is_some() {
        UpsertOutcome::Updated(destination_id)
    } else {
        UpsertOutcome::Created(destination_id)
    })
}

#[async_trait]
impl Destination for SqliteDestination {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        let tenant = tenant.to_string();
        let mut rows = Vec::new();
        for definition in definitions {
            let body = serde_json::to_string(definition).map_err(|error| {
                EmbeddedError::Json(error).into_port_error("defining custom fields")
            })?;
            rows.push((definition.clone(), body));
        }
        self.db
            .call("defining custom fields", move |connection| {
                let transaction = connection.transaction()?;
                for (definition, body) in &rows {
                    transaction.execute(
                        "INSERT INTO custom_field_definitions (tenant, entity, name, label, field_type, definition)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (tenant, entity, name) DO UPDATE SET
                           label = excluded.label, field_type = excluded.field_type, definition = excluded.definition",
                        params![
                            tenant,
                            definition.entity.as_str(),
                            definition.name,
                            definition.label,
                            definition.field_type.name(),
                            body
                        ],
                    )?;
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        let tenant = tenant.to_string();
        let records = records.to_vec();
        self.db
            .call("upserting records", move |connection| {
                let transaction = connection.transaction()?;
                if !entity.created_by_migration() {
                    let reason =
                        format!("a migration does not create {entity} records; they are matched");
                    return Ok(records
                        .iter()
                        .map(|_| UpsertOutcome::Rejected {
                            reason: reason.clone(),
                        })
                        .collect());
                }
                let defined = custom_definitions(&transaction, &tenant, entity)?;
                let statements = UpsertStatements::for_entity(entity);
                let mut outcomes = Vec::with_capacity(records.len());
                for record in &records {
                    if let Err(reason) = check_record(entity, record, &defined) {
                        outcomes.push(UpsertOutcome::Rejected { reason });
                        continue;
                    }
                    outcomes.push(upsert_one(
                        &transaction,
                        &statements,
                        &tenant,
                        entity,
                        &defined,
                        record,
                    )?);
                }
                transaction.commit()?;
                Ok(outcomes)
            })
            .await
    }

    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        let tenant = tenant.to_string();
        let patches = patches.to_vec();
        self.db
            .call("patching links", move |connection| {
                let transaction = connection.transaction()?;
                let defined = custom_definitions(&transaction, &tenant, entity)?;
                let mut results = Vec::with_capacity(patches.len());
                for patch in &patches {
                    let standard = entity.link_target(&patch.link);
                    let custom = defined.get(&patch.link).copied().flatten();
                    let Some(target_entity) = standard.or(custom) else {
                        results.push(Err(format!("{entity} has no link {}", patch.link)));
                        continue;
                    };
                    let (Ok(record), Ok(target)) = (
                        patch.record.as_str().parse::<i64>(),
                        patch.target.as_str().parse::<i64>(),
                    ) else {
                        results.push(Err(format!(
                            "{} or {} is not a destination id",
                            patch.record, patch.target
                        )));
                        continue;
                    };
                    let target_exists: Option<i64> = transaction
                        .prepare_cached(&format!(
                            "SELECT id FROM {} WHERE id = ?1 AND tenant = ?2",
                            table(target_entity)
                        ))?
                        .query_row(params![target, tenant], |row| row.get(0))
                        .optional()?;
                    if target_exists.is_none() {
                        results.push(Err(format!("{target_entity} {target} does not exist")));
                        continue;
                    }
                    let changed = if standard.is_some() {
                        transaction
                            .prepare_cached(&format!(
                                "UPDATE {} SET {}_id = ?1 WHERE id = ?2 AND tenant = ?3",
                                table(entity),
                                patch.link
                            ))?
                            .execute(params![target, record, tenant])?
                    } else {
                        let exists: Option<i64> = transaction
                            .prepare_cached(&format!("SELECT id FROM {} WHERE id = ?1 AND tenant = ?2", table(entity)))?
                            .query_row(params![record, tenant], |row| row.get(0))
                            .optional()?;
                        if exists.is_some() {
                            transaction
                                .prepare_cached(
                                    "INSERT INTO custom_links (entity, record_id, name, target_entity, target_id) VALUES (?1, ?2, ?3, ?4, ?5)
                                     ON CONFLICT (entity, record_id, name) DO UPDATE SET target_entity = excluded.target_entity, target_id = excluded.target_id",
                                )?
                                .execute(params![entity.as_str(), record, patch.link, target_entity.as_str(), target])?;
                            1
                        } else {
                            0
                        }
                    };
                    results.push(if changed == 1 {
                        Ok(())
                    } else {
                        Err(format!("{entity} {record} does not exist"))
                    });
                }
                transaction.commit()?;
                Ok(results)
            })
            .await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        self.get_records(tenant, entity, ids).await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.delete_records(tenant, entity, ids).await
    }

    async fn users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        self.list_users(tenant).await
    }

    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        let tenant = tenant.to_string();
        let statuses = statuses.to_vec();
        self.db
            .call("setting users' status", move |connection| {
                let transaction = connection.transaction()?;
                let mut results = Vec::with_capacity(statuses.len());
                for status in &statuses {
                    let changed = match status.id.as_str().parse::<i64>() {
                        Ok(id) => transaction.execute(
                            "UPDATE owners SET active = ?3 WHERE tenant = ?1 AND id = ?2",
                            params![tenant, id, status.active],
                        )?,
                        Err(_) => 0,
                    };
                    results.push(if changed == 1 {
                        Ok(())
                    } else {
                        Err(format!("no destination user has the id {}", status.id))
                    });
                }
                transaction.commit()?;
                Ok(results)
            })
            .await
    }

    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        self.store_file(tenant, entity, record, upload).await
    }
}

/// Why SQLite refused to delete a record, in words.
fn delete_refusal(entity: EntityKind, id: i64, error: &rusqlite::Error) -> Option<String> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            Some(format!(
                "{entity} {id} is still linked from other records; delete them first"
            ))
        }
        _ => None,
    }
}

impl SqliteDestination {
    async fn get_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        let tenant = tenant.to_string();
        let ids = ids.to_vec();
        self.db
            .call("reading records back", move |connection| {
                let transaction = connection.transaction()?;
                let mut records = Vec::with_capacity(ids.len());
                for id in &ids {
                    records.push(match parse_id(id) {
                        Some(id) => read_record(&transaction, &tenant, entity, id)?,
                        None => None,
                    });
                }
                transaction.commit()?;
                Ok(records)
            })
            .await
    }

    async fn delete_records(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        // The destination's users were matched, never created: a rollback leaves them.
        if !entity.created_by_migration() {
            let reason = format!(
                "{entity} records are the destination's users, matched by a migration and never created by it, so never deleted by one"
            );
            return Ok(ids.iter().map(|_| Err(reason.clone())).collect());
        }
        let tenant = tenant.to_string();
        let ids = ids.to_vec();
        self.db
            .call("deleting records", move |connection| {
                let transaction = connection.transaction()?;
                let mut results = Vec::with_capacity(ids.len());
                let delete = format!("DELETE FROM {} WHERE id = ?1 AND tenant = ?2", table(entity));
                for id in &ids {
                    let Some(id) = parse_id(id) else {
                        results.push(Err(format!("{id} is not a destination id")));
                        continue;
                    };
                    match transaction.prepare_cached(&delete)?.execute(params![id, tenant]) {
                        Ok(_) => {
                            transaction
                                .prepare_cached("DELETE FROM custom_field_values WHERE entity = ?1 AND record_id = ?2")?
                                .execute(params![entity.as_str(), id])?;
                            transaction
                                .prepare_cached("DELETE FROM file_contents WHERE entity = ?1 AND record_id = ?2")?
                                .execute(params![entity.as_str(), id])?;
                            transaction
                                .prepare_cached("DELETE FROM custom_links WHERE entity = ?1 AND record_id = ?2")?
                                .execute(params![entity.as_str(), id])?;
                            results.push(Ok(()));
                        }
                        Err(error) => match delete_refusal(entity, id, &error) {
                            Some(reason) => results.push(Err(reason)),
                            None => return Err(error.into()),
                        },
                    }
                }
                transaction.commit()?;
                Ok(results)
            })
            .await
    }

    async fn list_users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        let tenant = tenant.to_string();
        self.db
            .call("listing destination users", move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT id, email, name, active FROM owners WHERE tenant = ?1 ORDER BY id",
                )?;
                let users = statement.query_map(params![tenant], |row| {
                    Ok(DestinationUser {
                        id: DestinationId::new(row.get::<_, i64>(0)?.to_string()),
                        email: row.get(1)?,
                        name: row.get(2)?,
                        active: row.get::<_, Option<i64>>(3)?.map(|flag| flag != 0),
                    })
                })?;
                Ok(users.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    async fn store_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        let FileBody::Bytes(bytes) = upload.body else {
            return Err(EmbeddedError::Invalid(
                "the embedded destination takes a file's bytes, not a URL to fetch them from"
                    .to_owned(),
            )
            .into_port_error("storing a file"));
        };
        let context = format!("storing the file of {entity} {record}");
        if bytes.len() as u64 != upload.size || sha256_hex(&bytes) != upload.sha256 {
            return Err(EmbeddedError::Invalid(format!(
                "{} ({} bytes) does not match its declared size {} and SHA-256 {}",
                upload.file_name,
                bytes.len(),
                upload.size,
                upload.sha256
            ))
            .into_port_error(&context));
        }
        let Some(id) = parse_id(record) else {
            return Err(
                EmbeddedError::Invalid(format!("{record} is not a destination id"))
                    .into_port_error(&context),
            );
        };
        let tenant = tenant.to_string();
        self.db
            .call("storing a file", move |connection| {
                let exists: Option<i64> = connection
                    .query_row(
                        &format!("SELECT id FROM {} WHERE id = ?1 AND tenant = ?2", table(entity)),
                        params![id, tenant],
                        |row| row.get(0),
                    )
                    .optional()?;
                if exists.is_none() {
                    return Err(EmbeddedError::Invalid(format!("{entity} {id} does not exist")));
                }
                connection.execute(
                    "INSERT INTO file_contents (entity, record_id, file_name, content_type, size, sha256, bytes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (entity, record_id) DO UPDATE SET file_name = excluded.file_name,
                       content_type = excluded.content_type, size = excluded.size,
                       sha256 = excluded.sha256, bytes = excluded.bytes",
                    params![
                        entity.as_str(),
                        id,
                        upload.file_name,
                        upload.content_type,
                        i64::try_from(upload.size).unwrap_or(i64::MAX),
                        upload.sha256,
                        bytes
                    ],
                )?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn company(id: &str, name: &str) -> DestinationRecord {
        DestinationRecord {
            source_object: "Account".to_owned(),
            source_id: SalesforceId::parse(id).unwrap(),
            fields: BTreeMap::from([
                ("name".to_owned(), Value::String(name.to_owned())),
                (
                    "annual_revenue".to_owned(),
                    serde_json::from_str("12345678901234567.89").unwrap(),
                ),
                ("employee_count".to_owned(), Value::from(42)),
                (
                    "billing_address".to_owned(),
                    serde_json::json!({"city": "Lyon", "country": "France"}),
                ),
            ]),
            links: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn records_read_back_as_sent_and_delete_refuses_a_parent_still_linked() {
        let dir = tempfile::tempdir().unwrap();
        let destination = SqliteDestination::open(&dir.path().join("d.db")).unwrap();
        let tenant = TenantId::new("t");
        let parent = company("001000000000001AAA", "Parent");
        let created = destination
            .upsert(&tenant, EntityKind::Company, std::slice::from_ref(&parent))
            .await
            .unwrap();
        let UpsertOutcome::Created(parent_id) = &created[0] else {
            panic!("{created:?}");
        };
        let mut child = company("001000000000002AAA", "Child");
        child
            .links
            .insert("parent_company".to_owned(), parent_id.clone());
        let created = destination
            .upsert(&tenant, EntityKind::Company, &[child.clone()])
            .await
            .unwrap();
        let UpsertOutcome::Created(child_id) = &created[0] else {
            panic!("{created:?}");
        };
        let missing = DestinationId::new("999");
        let read = destination
            .get(
                &tenant,
                EntityKind::Company,
                &[parent_id.clone(), child_id.clone(), missing.clone()],
            )
            .await
            .unwrap();
        assert_eq!(read, vec![Some(parent), Some(child), None]);
        // Another tenant sees nothing.
        let other = destination
            .get(
                &TenantId::new("u"),
                EntityKind::Company,
                std::slice::from_ref(parent_id),
            )
            .await
            .unwrap();
        assert_eq!(other, vec![None]);

        let refused = destination
            .delete(
                &tenant,
                EntityKind::Company,
                std::slice::from_ref(parent_id),
            )
            .await
            .unwrap();
        assert!(
            matches!(&refused[0], Err(reason) if reason.contains("still linked")),
            "{refused:?}"
        );
        let deleted = destination
            .delete(
                &tenant,
                EntityKind::Company,
                &[child_id.clone(), parent_id.clone(), child_id.clone()],
            )
            .await
            .unwrap();
        assert_eq!(deleted, vec![Ok(()), Ok(()), Ok(())]);
        assert_eq!(
            destination
                .count(&tenant, EntityKind::Company)
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn users_and_file_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let destination = SqliteDestination::open(&dir.path().join("d.db")).unwrap();
        let tenant = TenantId::new("t");
        let ada = destination
            .add_user(&tenant, "ada@example.com", "Ada")
            .await
            .unwrap();
        let again = destination
            .add_user(&tenant, "ada@example.com", "Ada L.")
            .await
            .unwrap();
        assert_eq!(ada, again);
        let users = destination.users(&tenant).await.unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].name, "Ada L.");

        let created = destination
            .upsert(
                &tenant,
                EntityKind::Company,
                &[company("001000000000001AAA", "Acme")],
            )
            .await
            .unwrap();
        let UpsertOutcome::Created(id) = &created[0] else {
            panic!("{created:?}");
        };
        let bytes = b"hello".to_vec();
        let upload = |sha256: String| FileUpload {
            file_name: "hello.txt".to_owned(),
            content_type: Some("text/plain".to_owned()),
            size: 5,
            sha256,
            body: FileBody::Bytes(bytes.clone()),
        };
        let wrong = destination
            .put_file(&tenant, EntityKind::Company, id, upload("00".repeat(32)))
            .await
            .unwrap_err();
        assert!(
            wrong.to_string().contains("does not match")
                || format!("{wrong:?}").contains("does not match"),
            "{wrong:?}"
        );
        destination
            .put_file(&tenant, EntityKind::Company, id, upload(sha256_hex(&bytes)))
            .await
            .unwrap();
        destination
            .put_file(&tenant, EntityKind::Company, id, upload(sha256_hex(&bytes)))
            .await
            .unwrap();
        let gone = DestinationId::new("77");
        assert!(
            destination
                .put_file(
                    &tenant,
                    EntityKind::Company,
                    &gone,
                    upload(sha256_hex(&bytes))
                )
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_record_of_one_tenant_cannot_link_to_another_tenants_record() {
        let dir = tempfile::tempdir().unwrap();
        let destination = SqliteDestination::open(&dir.path().join("d.db")).unwrap();
        let (acme, other) = (TenantId::new("acme"), TenantId::new("other"));
        let created = destination
            .upsert(
                &acme,
                EntityKind::Company,
                &[company("001000000000001AAA", "Acme")],
            )
            .await
            .unwrap();
        let UpsertOutcome::Created(acme_company) = &created[0] else {
            panic!("{created:?}");
        };
        let mut child = company("001000000000002AAA", "Not Acme's child");
        child
            .links
            .insert("parent_company".to_owned(), acme_company.clone());
        let refused = destination
            .upsert(&other, EntityKind::Company, std::slice::from_ref(&child))
            .await
            .unwrap();
        assert_eq!(
            refused,
            [UpsertOutcome::Rejected {
                reason: format!(
                    "link parent_company points to company {acme_company}, which does not exist"
                )
            }]
        );
        // Acme's company is not pinned by the other tenant: it can still be deleted.
        let deleted = destination
            .delete(
                &acme,
                EntityKind::Company,
                std::slice::from_ref(acme_company),
            )
            .await
            .unwrap();
        assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
        // Within one tenant, the same link lands.
        let created = destination
            .upsert(
                &other,
                EntityKind::Company,
                &[company("001000000000003AAA", "Other")],
            )
            .await
            .unwrap();
        let UpsertOutcome::Created(other_company) = &created[0] else {
            panic!("{created:?}");
        };
        child
            .links
            .insert("parent_company".to_owned(), other_company.clone());
        let landed = destination
            .upsert(&other, EntityKind::Company, &[child])
            .await
            .unwrap();
        assert!(matches!(landed[0], UpsertOutcome::Created(_)), "{landed:?}");
    }

    #[tokio::test]
    async fn custom_links_land_read_back_and_patch_and_owners_are_never_created() {
        let dir = tempfile::tempdir().unwrap();
        let destination = SqliteDestination::open(&dir.path().join("d.db")).unwrap();
        let tenant = TenantId::new("t");
        let lookup = CustomFieldDefinition {
            entity: EntityKind::Company,
            name: "key_contact".to_owned(),
            label: "Key Contact".to_owned(),
            field_type: DestinationFieldType::Lookup {
                entity: EntityKind::Contact,
            },
            source: "Key_Contact__c".to_owned(),
            source_type: ferry_model::model::FieldType::Reference,
        };
        destination
            .ensure_custom_fields(&tenant, std::slice::from_ref(&lookup))
            .await
            .unwrap();
        let contact = DestinationRecord {
            source_object: "Contact".to_owned(),
            source_id: SalesforceId::parse("003000000000001").unwrap(),
            fields: BTreeMap::from([("last_name".to_owned(), Value::from("Roth"))]),
            links: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
        };
        let created = destination
            .upsert(&tenant, EntityKind::Contact, &[contact])
            .await
            .unwrap();
        let UpsertOutcome::Created(contact_id) = &created[0] else {
            panic!("{created:?}");
        };
        let mut account = company("001000000000001AAA", "Acme");
        account
            .links
            .insert("key_contact".to_owned(), contact_id.clone());
        let created = destination
            .upsert(&tenant, EntityKind::Company, std::slice::from_ref(&account))
            .await
            .unwrap();
        let UpsertOutcome::Created(account_id) = &created[0] else {
            panic!("{created:?}");
        };
        let read = destination
            .get(
                &tenant,
                EntityKind::Company,
                std::slice::from_ref(account_id),
            )
            .await
            .unwrap();
        assert_eq!(read, vec![Some(account.clone())]);

        // Written without the link, then patched, as a deferred link is.
        account.links.clear();
        destination
            .upsert(&tenant, EntityKind::Company, std::slice::from_ref(&account))
            .await
            .unwrap();
        let patch = |target: &DestinationId| LinkPatch {
            record: account_id.clone(),
            link: "key_contact".to_owned(),
            target: target.clone(),
        };
        let patched = destination
            .patch_links(
                &tenant,
                EntityKind::Company,
                &[patch(contact_id), patch(&DestinationId::new("99"))],
            )
            .await
            .unwrap();
        assert_eq!(patched[0], Ok(()));
        assert_eq!(patched[1], Err("contact 99 does not exist".to_owned()));
        let read = destination
            .get(
                &tenant,
                EntityKind::Company,
                std::slice::from_ref(account_id),
            )
            .await
            .unwrap();
        assert_eq!(read[0].as_ref().unwrap().links["key_contact"], *contact_id);

        let user = DestinationRecord {
            source_object: "User".to_owned(),
            source_id: SalesforceId::parse("005000000000001").unwrap(),
            fields: BTreeMap::from([
                ("email".to_owned(), Value::from("ada@example.com")),
                ("name".to_owned(), Value::from("Ada")),
            ]),
            links: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
        };
        let refused = destination
            .upsert(&tenant, EntityKind::Owner, &[user])
            .await
            .unwrap();
        assert!(
            matches!(&refused[0], UpsertOutcome::Rejected { reason } if reason.contains("does not create owner")),
            "{refused:?}"
        );
        assert!(destination.users(&tenant).await.unwrap().is_empty());
        let ada = destination
            .add_user(&tenant, "ada@example.com", "Ada")
            .await
            .unwrap();
        let kept = destination
            .delete(&tenant, EntityKind::Owner, std::slice::from_ref(&ada))
            .await
            .unwrap();
        assert!(matches!(&kept[0], Err(reason) if reason.contains("never deleted")));
        assert_eq!(destination.users(&tenant).await.unwrap().len(), 1);
    }

    #[test]
    fn every_entity_a_migration_creates_has_a_table_with_its_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        SqliteDestination::open(&path).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        for entity in EntityKind::ALL {
            let mut statement = connection
                .prepare(&format!("PRAGMA table_info({})", table(entity)))
                .unwrap();
            let columns: Vec<String> = statement
                .query_map([], |row| row.get(1))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for field in columns_of(entity) {
                assert!(
                    columns.iter().any(|c| c == field.name),
                    "{entity}.{}",
                    field.name
                );
            }
            for (link, _) in entity.links() {
                assert!(columns.contains(&format!("{link}_id")), "{entity}.{link}");
            }
        }
    }

    #[test]
    fn a_destination_file_from_an_older_ferry_gains_the_new_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("destination.db");
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE companies (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL,
                   source_object TEXT NOT NULL, source_id TEXT NOT NULL, name TEXT NOT NULL,
                   website TEXT, industry TEXT, phone TEXT, employee_count INTEGER,
                   annual_revenue NUMERIC, description TEXT, created_at TEXT, updated_at TEXT,
                   parent_company_id INTEGER REFERENCES companies (id),
                   UNIQUE (tenant, source_object, source_id));
                 INSERT INTO companies (tenant, source_object, source_id, name)
                   VALUES ('t', 'Account', '001000000000001AAA', 'Acme');",
            )
            .unwrap();
        }
        SqliteDestination::open(&path).unwrap();
        // Opening twice is harmless.
        SqliteDestination::open(&path).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        let (name, address): (String, Option<String>) = connection
            .query_row("SELECT name, billing_address FROM companies", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!((name.as_str(), address), ("Acme", None));
        // Every column the schemas have added since, links included.
        for (table, column, _) in entity_columns() {
            connection
                .prepare(&format!("SELECT {column} FROM {table} LIMIT 1"))
                .unwrap_or_else(|error| panic!("{table}.{column}: {error}"));
        }
        connection
            .query_row("SELECT mailing_address FROM contacts LIMIT 1", [], |_| {
                Ok(())
            })
            .optional()
            .unwrap();
    }
}
