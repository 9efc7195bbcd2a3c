//! One twirl per data directory. Two on the same directory would interleave writes to one store,
//! record the live project over each other and remove each other's materialized builds. The lock
//! is an advisory `flock` on `twirl.lock`, which the kernel releases when its holder ends however
//! it ends (`kill -9` included), so a lock is never stale; the file's text (the holder's pid and
//! URL) only makes the refusal say who holds it.

use crate::error::StartupError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while twirl runs; dropping it (or the process ending) releases the directory.
#[derive(Debug)]
pub struct DataLock {
    file: File,
    path: PathBuf,
}

impl DataLock {
    /// Takes the data directory `dir` (which must exist), or says which twirl has it.
    pub fn acquire(dir: &Path) -> Result<DataLock, StartupError> {
        let path = dir.join("twirl.lock");
        let data_error = |source| StartupError::DataDir {
            path: path.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(data_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(StartupError::Config(format!(
                    "the data directory {} is in use by another twirl{}: stop it, or give this one \
                     another --data DIR or --ephemeral",
                    dir.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                )));
            }
            Err(TryLockError::Error(source)) => return Err(data_error(source)),
        }
        let lock = DataLock {
            file,
            path: path.clone(),
        };
        lock.describe("starting").map_err(data_error)?;
        Ok(lock)
    }

    /// Records where this twirl listens, for the message another one would print.
    pub fn announce(&self, url: &str) {
        if let Err(e) = self.describe(url) {
            log::warn!("cannot write {}: {e}", self.path.display());
        }
    }

    fn describe(&self, place: &str) -> std::io::Result<()> {
        let mut file = &self.file;
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        write!(file, "pid {}, {place}", std::process::id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("dir");
        let first = DataLock::acquire(dir.path()).expect("first");
        first.announce("http://127.0.0.1:3000");
        let refused = DataLock::acquire(dir.path()).expect_err("second");
        let message = refused.to_string();
        assert!(message.contains("in use by another twirl"), "{message}");
        assert!(
            message.contains(&format!("pid {}, http://127.0.0.1:3000", std::process::id())),
            "{message}"
        );
        drop(first);
        DataLock::acquire(dir.path()).expect("free again");
    }
}
