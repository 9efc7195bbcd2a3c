//! The items of Sync lists (addressed by an index the list hands out, never reused) and maps
//! (addressed by a key unique in the map, ordered lexicographically). Every item write counts
//! a new revision of its collection too.

use super::sync_objects::{self, check_revision, expiry, Kind, SyncObject, CREATED_BY_REST};
use super::CachedSql;
use super::{Page, Window};
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, Row};

/// How an item is addressed: a list item by its index, a map item by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKey {
    Index(i64),
    Key(String),
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemKey::Index(i) => write!(f, "{i}"),
            ItemKey::Key(k) => f.write_str(k),
        }
    }
}

impl ItemKey {
    /// The column that holds this kind of key, and its value.
    fn column(&self) -> (&'static str, rusqlite::types::Value) {
        match self {
            ItemKey::Index(i) => ("idx", (*i).into()),
            ItemKey::Key(k) => ("key", k.clone().into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub object_sid: String,
    pub key: ItemKey,
    pub data: String,
    pub revision: i64,
    pub date_expires: Option<i64>,
    pub created_by: String,
    pub date_created: i64,
    pub date_updated: i64,
}

/// What an item write carries; `None` keeps the current value (or sets none, on create).
#[derive(Debug, Clone, Default)]
pub struct ItemWrite {
    pub data: Option<String>,
    /// Seconds the item lives; `0` for ever.
    pub item_ttl: Option<i64>,
    /// Seconds the whole collection lives from now; `0` for ever.
    pub collection_ttl: Option<i64>,
}

/// Which items a list asks for: from `from` (the first, or the one after it when not
/// `inclusive`) in ascending or descending order of index or key.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub descending: bool,
    pub from: Option<ItemKey>,
    pub inclusive: bool,
}

/// Twilio's codes and name for a collection's items: not found, revision mismatch.
struct Codes {
    not_found: u32,
    mismatch: u32,
    title: &'static str,
}

fn codes(kind: Kind) -> Codes {
    match kind {
        Kind::Map => Codes {
            not_found: 54201,
            mismatch: 54205,
            title: "Map Item",
        },
        _ => Codes {
            not_found: 54151,
            mismatch: 54155,
            title: "List Item",
        },
    }
}

const COLUMNS: &str = "object_sid, idx, key, data, revision, date_expires, created_by, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Item> {
    let idx: Option<i64> = r.get(1)?;
    let key: Option<String> = r.get(2)?;
    Ok(Item {
        object_sid: r.get(0)?,
        key: match (idx, key) {
            (Some(i), _) => ItemKey::Index(i),
            (None, k) => ItemKey::Key(k.unwrap_or_default()),
        },
        data: r.get(3)?,
        revision: r.get(4)?,
        date_expires: r.get(5)?,
        created_by: r.get(6)?,
        date_created: r.get(7)?,
        date_updated: r.get(8)?,
    })
}

/// Twilio's answer for an item the collection does not hold, `key` as the client wrote it.
pub fn not_found(collection: &SyncObject, key: &dyn std::fmt::Display) -> StoreError {
    let codes = codes(collection.kind);
    StoreError::Coded {
        status: 404,
        code: codes.not_found,
        message: format!("{} not found: {key} in {}", codes.title, collection.sid),
    }
}

/// Adds an item: at the list's next index, or under `key` in a map (54208 when the map already
/// holds a live item with that key).
pub fn create(
    conn: &Connection,
    collection: &SyncObject,
    key: Option<&str>,
    write: &ItemWrite,
    now: i64,
) -> Result<Item, StoreError> {
    let key = match (collection.kind, key) {
        (Kind::Map, Some(key)) => {
            conn.execute_cached(
                "DELETE FROM sync_items WHERE object_sid = ?1 AND key = ?2 AND date_expires <= ?3",
                (&collection.sid, key, now),
            )?;
            let taken: bool = conn.query_row_cached(
                "SELECT EXISTS (SELECT 1 FROM sync_items WHERE object_sid = ?1 AND key = ?2)",
                (&collection.sid, key),
                |r| r.get(0),
            )?;
            if taken {
                return Err(StoreError::Coded {
                    status: 409,
                    code: 54208,
                    message: format!("Map Item already exists: {key} in {}", collection.sid),
                });
            }
            ItemKey::Key(key.to_string())
        }
        _ => ItemKey::Index(sync_objects::take_index(conn, &collection.sid)?),
    };
    let (column, value) = key.column();
    conn.execute_cached(
        &format!(
            "INSERT INTO sync_items (object_sid, {column}, data, revision, date_expires, created_by, date_created, date_updated)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?6)"
        ),
        rusqlite::params![
            collection.sid,
            value,
            write.data.as_deref().unwrap_or("{}"),
            write.item_ttl.and_then(|t| expiry(t, now)),
            CREATED_BY_REST,
            now,
        ],
    )?;
    sync_objects::touch(conn, collection, write.collection_ttl, now)?;
    get(conn, collection, &key, now)
}

/// The live item at `key`.
pub fn get(conn: &Connection, collection: &SyncObject, key: &ItemKey, now: i64) -> Result<Item, StoreError> {
    let (column, value) = key.column();
    conn.query_row_cached(
        &format!(
            "SELECT {COLUMNS} FROM sync_items WHERE object_sid = ?1 AND {column} = ?2
               AND (date_expires IS NULL OR date_expires > ?3)"
        ),
        rusqlite::params![collection.sid, value, now],
        from_row,
    )
    .optional()?
    .ok_or_else(|| not_found(collection, key))
}

/// Live items in index or key order, from `query.from` on.
pub fn list(
    conn: &Connection,
    collection: &SyncObject,
    query: &Query,
    window: Window,
    now: i64,
) -> Result<Page<Item>, StoreError> {
    let column = if collection.kind == Kind::Map { "key" } else { "idx" };
    let (direction, compare) = match (query.descending, query.inclusive) {
        (false, true) => ("ASC", ">="),
        (false, false) => ("ASC", ">"),
        (true, true) => ("DESC", "<="),
        (true, false) => ("DESC", "<"),
    };
    let from = match &query.from {
        Some(_) => format!("AND {column} {compare} :from"),
        None => String::new(),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sync_items
         WHERE object_sid = :object AND (date_expires IS NULL OR date_expires > :now) {from}
         ORDER BY {column} {direction} LIMIT :limit OFFSET :offset"
    ))?;
    let from_value = query.from.as_ref().map(|k| k.column().1);
    let limit = window.limit + 1;
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
        (":object", &collection.sid),
        (":now", &now),
        (":limit", &limit),
        (":offset", &window.offset),
    ];
    if let Some(value) = &from_value {
        params.push((":from", value));
    }
    let rows = stmt
        .query_map(params.as_slice(), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// Applies `write` if the item's revision is `if_match` (when given); 54155/54205 otherwise.
pub fn update(
    conn: &Connection,
    collection: &SyncObject,
    key: &ItemKey,
    write: &ItemWrite,
    if_match: Option<&str>,
    now: i64,
) -> Result<Item, StoreError> {
    let current = get(conn, collection, key, now)?;
    let codes = codes(collection.kind);
    check_revision(if_match, current.revision, codes.mismatch, codes.title)?;
    let date_expires = match write.item_ttl {
        Some(ttl) => expiry(ttl, now),
        None => current.date_expires,
    };
    let (column, value) = key.column();
    conn.execute_cached(
        &format!(
            "UPDATE sync_items SET data = ?3, date_expires = ?4, revision = revision + 1, date_updated = ?5
             WHERE object_sid = ?1 AND {column} = ?2"
        ),
        rusqlite::params![
            collection.sid,
            value,
            write.data.as_ref().unwrap_or(&current.data),
            date_expires,
            now
        ],
    )?;
    sync_objects::touch(conn, collection, write.collection_ttl, now)?;
    get(conn, collection, key, now)
}

/// Deletes the item if its revision is `if_match` (when given).
pub fn delete(
    conn: &Connection,
    collection: &SyncObject,
    key: &ItemKey,
    if_match: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let current = get(conn, collection, key, now)?;
    let codes = codes(collection.kind);
    check_revision(if_match, current.revision, codes.mismatch, codes.title)?;
    let (column, value) = key.column();
    conn.execute_cached(
        &format!("DELETE FROM sync_items WHERE object_sid = ?1 AND {column} = ?2"),
        rusqlite::params![collection.sid, value],
    )?;
    sync_objects::touch(conn, collection, None, now)
}

/// Sets an item's exact revision, expiry and dates, as fixtures and exports carry them.
pub fn restore(conn: &Connection, object_sid: &str, item: &Item) -> Result<(), StoreError> {
    let (column, value) = item.key.column();
    conn.execute_cached(
        &format!(
            "UPDATE sync_items SET revision = ?3, date_expires = ?4, date_created = ?5, date_updated = ?6
             WHERE object_sid = ?1 AND {column} = ?2"
        ),
        rusqlite::params![
            object_sid,
            value,
            item.revision,
            item.date_expires,
            item.date_created,
            item.date_updated
        ],
    )?;
    Ok(())
}

/// Inserts an exported list item at its own index (fixtures keep indexes as they were).
pub fn insert_at(conn: &Connection, list: &SyncObject, index: i64, data: &str, now: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO sync_items (object_sid, idx, data, revision, created_by, date_created, date_updated)
         VALUES (?1, ?2, ?3, 0, ?4, ?5, ?5)",
        rusqlite::params![list.sid, index, data, CREATED_BY_REST, now],
    )?;
    conn.execute_cached(
        "UPDATE sync_objects SET next_index = MAX(next_index, ?2 + 1) WHERE sid = ?1",
        (&list.sid, index),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sync_objects::NewObject;
    use crate::store::{sync_services, test_connection};

    const NOW: i64 = 1_700_000_000;
    const ALL: Window = Window { offset: 0, limit: 100 };

    fn collection(conn: &Connection, kind: Kind, name: &str) -> SyncObject {
        let (service, _) = sync_services::resolve(conn, sync_services::DEFAULT, NOW).expect("service");
        let new = NewObject {
            unique_name: Some(name.into()),
            ..NewObject::default()
        };
        sync_objects::create(conn, &service.sid, kind, &new, NOW).expect("create")
    }

    fn data(text: &str) -> ItemWrite {
        ItemWrite {
            data: Some(text.into()),
            ..ItemWrite::default()
        }
    }

    fn refreshed(conn: &Connection, o: &SyncObject, now: i64) -> SyncObject {
        sync_objects::get(conn, &o.service_sid, o.kind, &o.sid, now).expect("object")
    }

    #[test]
    fn list_indexes_grow_and_are_never_reused() {
        let conn = test_connection();
        let list = collection(&conn, Kind::List, "queue");
        let first = create(&conn, &list, None, &data("{}"), NOW).expect("first");
        let second = create(&conn, &list, None, &data("{}"), NOW).expect("second");
        assert_eq!(
            (first.key.clone(), second.key.clone()),
            (ItemKey::Index(0), ItemKey::Index(1))
        );
        delete(&conn, &list, &second.key, None, NOW).expect("delete");
        let third = create(&conn, &list, None, &data("{}"), NOW).expect("third");
        assert_eq!(third.key, ItemKey::Index(2));
        // Three creates and a delete: four new revisions of the list.
        assert_eq!(refreshed(&conn, &list, NOW).revision, 4);
    }

    #[test]
    fn map_keys_are_unique_and_ordered() {
        let conn = test_connection();
        let map = collection(&conn, Kind::Map, "sessions");
        for key in ["b", "a", "c"] {
            create(&conn, &map, Some(key), &data("{}"), NOW).expect("create");
        }
        let err = create(&conn, &map, Some("a"), &data("{}"), NOW).expect_err("duplicate");
        assert!(matches!(
            err,
            StoreError::Coded {
                status: 409,
                code: 54208,
                ..
            }
        ));
        let keys = |q: &Query| -> Vec<String> {
            list(&conn, &map, q, ALL, NOW)
                .expect("list")
                .items
                .iter()
                .map(|i| i.key.to_string())
                .collect()
        };
        assert_eq!(
            keys(&Query {
                inclusive: true,
                ..Query::default()
            }),
            ["a", "b", "c"]
        );
        let from_b = |descending, inclusive| Query {
            descending,
            from: Some(ItemKey::Key("b".into())),
            inclusive,
        };
        assert_eq!(keys(&from_b(false, false)), ["c"]);
        assert_eq!(keys(&from_b(true, true)), ["b", "a"]);
    }

    #[test]
    fn stale_revisions_are_refused_and_nothing_changes() {
        let conn = test_connection();
        let map = collection(&conn, Kind::Map, "m");
        let item = create(&conn, &map, Some("k"), &data(r#"{"n":1}"#), NOW).expect("create");
        let updated = update(&conn, &map, &item.key, &data(r#"{"n":2}"#), Some("0"), NOW).expect("update");
        assert_eq!(updated.revision, 1);
        let err = update(&conn, &map, &item.key, &data(r#"{"n":3}"#), Some("0"), NOW).expect_err("stale");
        assert!(matches!(
            err,
            StoreError::Coded {
                status: 412,
                code: 54205,
                ..
            }
        ));
        let err = delete(&conn, &map, &item.key, Some("0"), NOW).expect_err("stale delete");
        assert!(matches!(err, StoreError::Coded { code: 54205, .. }));
        assert_eq!(get(&conn, &map, &item.key, NOW).expect("get").data, r#"{"n":2}"#);
    }

    #[test]
    fn expired_items_and_objects_are_never_served_and_free_their_names() {
        let conn = test_connection();
        let map = collection(&conn, Kind::Map, "short");
        let ttl = ItemWrite {
            item_ttl: Some(10),
            ..data("{}")
        };
        let item = create(&conn, &map, Some("k"), &ttl, NOW).expect("create");
        assert_eq!(item.date_expires, Some(NOW + 10));
        assert!(get(&conn, &map, &item.key, NOW + 9).is_ok());
        assert!(matches!(
            get(&conn, &map, &item.key, NOW + 10),
            Err(StoreError::Coded { code: 54201, .. })
        ));
        // The key of an expired item can be used again before any sweep.
        create(&conn, &map, Some("k"), &data("{}"), NOW + 10).expect("reuse key");

        let service = map.service_sid.clone();
        let short = NewObject {
            unique_name: Some("brief".into()),
            ttl: Some(5),
            ..NewObject::default()
        };
        sync_objects::create(&conn, &service, Kind::Document, &short, NOW).expect("document");
        assert!(sync_objects::get(&conn, &service, Kind::Document, "brief", NOW + 5).is_err());
        sync_objects::create(&conn, &service, Kind::Document, &short, NOW + 5).expect("name freed");
        assert_eq!(sync_objects::purge_expired(&conn, NOW + 100).expect("purge"), 1);
    }

    #[test]
    fn unique_names_are_unique_per_kind() {
        let conn = test_connection();
        let list = collection(&conn, Kind::List, "shared");
        collection(&conn, Kind::Map, "shared");
        let again = NewObject {
            unique_name: Some("shared".into()),
            ..NewObject::default()
        };
        let err = sync_objects::create(&conn, &list.service_sid, Kind::List, &again, NOW).expect_err("taken");
        assert!(matches!(
            err,
            StoreError::Coded {
                status: 409,
                code: 54301,
                ..
            }
        ));
    }
}
