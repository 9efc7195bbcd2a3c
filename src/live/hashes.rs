//! Content hashes of the live project's files, kept between syncs. A save changes one file;
//! reading and hashing every other one again (a megabyte asset takes longer than the rest of a
//! sync) would be wasted, so a hash is reused while its file's size, modification time and
//! inode stay the ones it was computed for.

use crate::deploy::Contents;
use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

type Stamp = (u64, i64, i64, u64);

fn stamp(meta: &Metadata) -> Stamp {
    (meta.len(), meta.mtime(), meta.mtime_nsec(), meta.ino())
}

#[derive(Default)]
pub struct Hashes(Mutex<HashMap<PathBuf, (Stamp, String)>>);

impl Hashes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (Stamp, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hash computed for `path` when it had this `stamp`, if any.
    fn known(&self, path: &Path, at: Stamp) -> Option<String> {
        self.lock()
            .get(path)
            .filter(|(was, _)| *was == at)
            .map(|(_, hash)| hash.clone())
    }

    /// The file at `path` for a build: while it is as it was when hashed, only its hash and
    /// place (read again only if the store lacks a version with that hash); else read and
    /// hashed. `None` when it cannot be read (deleted since the scan, say).
    pub fn contents(&self, path: &Path) -> Option<Contents> {
        let now = stamp(&std::fs::metadata(path).ok()?);
        match self.known(path, now) {
            Some(hash) => Some(Contents::OnDisk(path.to_path_buf(), hash)),
            None => self.read(path).map(|(bytes, hash)| Contents::Hashed(bytes, hash)),
        }
    }

    /// The file at `path`, read, with its hash; `None` when it cannot be read (deleted since
    /// the scan, say).
    pub fn read(&self, path: &Path) -> Option<(Vec<u8>, String)> {
        let before = stamp(&std::fs::metadata(path).ok()?);
        let bytes = std::fs::read(path).ok()?;
        // Only a file that did not change while it was read may reuse or leave a hash.
        let still = std::fs::metadata(path).ok().map(|m| stamp(&m)) == Some(before);
        let reusable = if still { self.known(path, before) } else { None };
        let hash = match reusable {
            Some(hash) => hash,
            None => {
                let hash = crate::store::blobs::hash(&bytes);
                if still {
                    self.lock().insert(path.to_path_buf(), (before, hash.clone()));
                }
                hash
            }
        };
        Some((bytes, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_reused_until_its_file_changes() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.js");
        let hashes = Hashes::default();
        std::fs::write(&path, "one").expect("write");
        let (_, first) = hashes.read(&path).expect("read");
        assert_eq!(first, crate::store::blobs::hash(b"one"));
        assert_eq!(hashes.read(&path).expect("again").1, first);
        // Same size, new content: a new file renamed over it, as editors save.
        let staged = dir.path().join(".a.js.tmp");
        std::fs::write(&staged, "two").expect("write");
        std::fs::rename(&staged, &path).expect("rename");
        let (bytes, second) = hashes.read(&path).expect("read");
        assert_eq!(
            (bytes.as_slice(), second),
            (&b"two"[..], crate::store::blobs::hash(b"two"))
        );
        assert!(hashes.read(&dir.path().join("gone.js")).is_none());
    }
}
