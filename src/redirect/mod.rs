//! Client redirection: what makes code written for Twilio talk to twirl with no change. A Node.js
//! module (loaded by every worker, and through `NODE_OPTIONS` into the commands `twirl exec`
//! runs) and a Python `sitecustomize` (through `PYTHONPATH`) send requests for `*.twilio.com` and
//! `*.twil.io` to twirl, keeping the host they were meant for so twirl routes them by product.

use std::path::{Path, PathBuf};

const NODE: &str = include_str!("node.js");
const PYTHON: &str = include_str!("python/sitecustomize.py");

/// The redirection files, written to a directory.
#[derive(Debug, Clone)]
pub struct Files {
    /// The Node.js module: `require` it and call `install(url)`, or preload it with `TWIRL_URL` set.
    pub node: PathBuf,
    /// The directory to put on `PYTHONPATH`.
    pub python_path: PathBuf,
}

/// Writes the redirection files into `dir`.
pub fn write(dir: &Path) -> std::io::Result<Files> {
    let python_path = dir.join("python");
    std::fs::create_dir_all(&python_path)?;
    let node = dir.join("twirl-redirect.js");
    std::fs::write(&node, NODE)?;
    std::fs::write(python_path.join("sitecustomize.py"), PYTHON)?;
    Ok(Files { node, python_path })
}
