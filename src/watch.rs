//! Hot reload: file events from `notify` → filtered (dependencies, VCS, twirl's own data, editor
//! temporaries) → noticed by the live project, which the next request or the end of the burst
//! (debounced) syncs.

use crate::live::{Change, Live};
use crate::project::is_ignored_name;
use crate::state::AppState;
use notify::{RecursiveMode, Watcher};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time that ends a burst of events (an editor's save is several events in a row).
const QUIET: Duration = Duration::from_millis(15);
/// Longest a burst may hold a reload back, so continuous writes cannot starve it.
const MAX_WAIT: Duration = Duration::from_millis(150);
/// How often the polling watcher looks, for file systems without events.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Files outside the function and asset folders that still matter.
const PROJECT_FILES: &[&str] = &[".env", ".twilioserverlessrc", "package.json"];

/// Starts watching the live project; returns an error if the watcher cannot start.
pub fn spawn(state: AppState, live: Arc<Live>, data_dir: PathBuf, poll: bool) -> notify::Result<()> {
    let (tx, rx) = mpsc::channel::<PathBuf>(1024);
    let handler = move |event: notify::Result<notify::Event>| {
        // Reading a file is an event too (the sync reads every file): only changes count.
        if let Some(event) = event.ok().filter(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
            for path in event.paths {
                // Never block the notify thread; a full channel already guarantees a reload.
                let _ = tx.try_send(path);
            }
        }
    };
    let mut watcher: Box<dyn Watcher + Send> = if poll {
        Box::new(notify::PollWatcher::new(
            handler,
            notify::Config::default().with_poll_interval(POLL_EVERY),
        )?)
    } else {
        Box::new(notify::recommended_watcher(handler)?)
    };
    watcher.watch(&live.dir, RecursiveMode::Recursive)?;
    tokio::spawn(run(state, live, data_dir, watcher, rx));
    Ok(())
}

async fn run(
    state: AppState,
    live: Arc<Live>,
    data_dir: PathBuf,
    _watcher: Box<dyn Watcher + Send>,
    mut rx: mpsc::Receiver<PathBuf>,
) {
    let data_dir = data_dir.canonicalize().unwrap_or(data_dir);
    let notice = |path: &PathBuf| {
        if let Some(change) = classify(&live.dir, &data_dir, std::slice::from_ref(path)) {
            live.noticed(change);
        }
    };
    while let Some(first) = rx.recv().await {
        // Each change is noticed as it arrives, so a request made meanwhile syncs it at once;
        // the end of the burst syncs whatever no request did.
        notice(&first);
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        while let Ok(Some(path)) =
            tokio::time::timeout_at(deadline.min(tokio::time::Instant::now() + QUIET), rx.recv()).await
        {
            notice(&path);
        }
        live.catch_up(&state).await;
    }
}

/// What a burst of changed paths means for the project, if anything.
fn classify(root: &Path, data_dir: &Path, paths: &[PathBuf]) -> Option<Change> {
    let folders = crate::project::source_folders(root);
    let relevant: Vec<&PathBuf> = paths
        .iter()
        .filter(|p| is_relevant(root, data_dir, &folders, p))
        .collect();
    if relevant.is_empty() {
        None
    } else if relevant
        .iter()
        .any(|p| p.strip_prefix(root).is_ok_and(|r| r == Path::new("package.json")))
    {
        Some(Change::Dependencies)
    } else {
        Some(Change::Files)
    }
}

/// A project file, or a file inside the function or asset folder that the project reads.
fn is_relevant(root: &Path, data_dir: &Path, folders: &[PathBuf], path: &Path) -> bool {
    if path.starts_with(data_dir) {
        return false;
    }
    let Ok(rel) = path.strip_prefix(root) else { return false };
    if rel.to_str().is_some_and(|r| PROJECT_FILES.contains(&r)) {
        return true;
    }
    folders
        .iter()
        .any(|folder| path.starts_with(folder) || folder.starts_with(path))
        && rel.components().all(|c| match c {
            Component::Normal(name) => !is_ignored_name(&name.to_string_lossy()),
            _ => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_project_changes_count() {
        let root = Path::new("/p");
        let data = Path::new("/p/.twirl");
        let c = |paths: &[&str]| classify(root, data, &paths.iter().map(PathBuf::from).collect::<Vec<_>>());
        assert_eq!(c(&["/p/functions/a.js"]), Some(Change::Files));
        assert_eq!(c(&["/p/.env"]), Some(Change::Files));
        assert_eq!(c(&["/p/functions/a.js", "/p/package.json"]), Some(Change::Dependencies));
        for ignored in [
            "/p/node_modules/x/index.js",
            "/p/.git/index",
            "/p/.twirl/twirl.db",
            "/p/functions/.a.js.swp",
            "/p/functions/a.js~",
            "/p/server.log",
            "/elsewhere/a.js",
        ] {
            assert_eq!(c(&[ignored]), None, "{ignored}");
        }
    }
}
