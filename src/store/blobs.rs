//! Content-addressed file contents, keyed by the SHA-256 of their bytes.

use super::CachedSql;
use crate::error::StoreError;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// The key a blob is stored under.
pub fn hash(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores `data` unless the same bytes are already stored; returns its hash.
pub fn put(conn: &Connection, data: &[u8]) -> Result<String, StoreError> {
    let key = hash(data);
    conn.execute_cached(
        "INSERT OR IGNORE INTO blobs (hash, size, data) VALUES (?1, ?2, ?3)",
        (&key, data.len() as i64, data),
    )?;
    Ok(key)
}

/// The bytes stored under `hash`.
pub fn get(conn: &Connection, hash: &str) -> Result<Vec<u8>, StoreError> {
    crate::store::found(
        conn.query_row_cached("SELECT data FROM blobs WHERE hash = ?1", [hash], |r| r.get(0)),
        || format!("/Blobs/{hash}"),
    )
}

/// Deletes blobs that no version and no build refers to; returns how many went.
pub fn collect_garbage(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.execute_cached(
        "DELETE FROM blobs WHERE hash NOT IN (SELECT blob_hash FROM versions)
                            AND hash NOT IN (SELECT blob_hash FROM build_versions)",
        [],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_bytes_are_stored_once() {
        let store = crate::store::Store::open_in_memory().expect("store");
        let count = store
            .call(|c| {
                let a = put(c, b"hello")?;
                let b = put(c, b"hello")?;
                assert_eq!(a, b);
                assert_eq!(get(c, &a)?, b"hello");
                Ok(c.query_row("SELECT count(*) FROM blobs", [], |r| r.get::<_, i64>(0))?)
            })
            .await
            .expect("store call");
        assert_eq!(count, 1);
    }
}
