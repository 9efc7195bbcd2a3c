//! Serverless Toolkit projects on disk, read exactly as the Toolkit reads them: functions from
//! `functions/` or `src/` (`.js` only, extension dropped), assets from `assets/` or `static/`,
//! `.protected`/`.private` in names for visibility, whitespace turned into `-`, the folders of a
//! JSON `.twilioserverlessrc`, `.env` variables (parsed as twilio-run's dotenv parses them), and
//! `package.json`'s name and dependencies.

pub mod dotenv;

use crate::build::Dependency;
use crate::store::resources::Kind;
use std::path::{Path, PathBuf};

/// One function or asset of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    pub kind: Kind,
    /// The URL path (`/lib/util`).
    pub path: String,
    pub visibility: &'static str,
    /// Relative to the project root, with `/` separators (`functions/lib/util.private.js`).
    pub rel: String,
}

/// A scanned project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    pub root: PathBuf,
    /// `package.json` name, else the directory's name.
    pub name: String,
    pub dependencies: Vec<Dependency>,
    /// `.env` variables as `twilio-run start` hands them to functions (empty values included),
    /// minus the account credentials, which are the account's.
    pub variables: Vec<(String, String)>,
    pub files: Vec<ProjectFile>,
    /// What could not be served, in words for the terminal and the console.
    pub problems: Vec<String>,
}

/// Whether `dir` holds a project at all.
///
/// `src/` and `static/` alone do not make a project: most code repositories have them. A
/// Toolkit project that uses them also has a `package.json`.
pub fn detect(dir: &Path) -> bool {
    ["functions", "assets"].iter().any(|d| dir.join(d).is_dir())
        || [".env", "package.json", ".twilioserverlessrc"]
            .iter()
            .any(|f| dir.join(f).is_file())
}

/// The folders functions and assets are read from: `.twilioserverlessrc`'s `functionsFolder`
/// and `assetsFolder`, else the first of `functions/`, `src/` and of `assets/`, `static/`.
fn folders(root: &Path, problems: &mut Vec<String>) -> (Option<PathBuf>, Option<PathBuf>) {
    let rc = read_json(&root.join(".twilioserverlessrc"), problems);
    let folder = |key: &str, defaults: &[&str]| -> Option<PathBuf> {
        let configured = rc.as_ref().and_then(|v| v.get(key)).and_then(|v| v.as_str());
        match configured {
            Some(dir) => Some(root.join(dir)),
            None => defaults.iter().map(|d| root.join(d)).find(|p| p.is_dir()),
        }
    };
    (
        folder("functionsFolder", &["functions", "src"]),
        folder("assetsFolder", &["assets", "static"]),
    )
}

/// Every folder a project's functions or assets may come from, existing or not yet, so a
/// watcher notices when one appears.
pub fn source_folders(root: &Path) -> Vec<PathBuf> {
    let (functions, assets) = folders(root, &mut Vec::new());
    let mut all: Vec<PathBuf> = ["functions", "src", "assets", "static"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    all.extend(functions.into_iter().chain(assets));
    all
}

/// Reads the project at `root`.
pub fn scan(root: &Path) -> Project {
    let mut project = Project {
        root: root.to_path_buf(),
        ..Project::default()
    };
    let (functions_dir, assets_dir) = folders(root, &mut project.problems);
    let package = read_json(&root.join("package.json"), &mut project.problems);
    project.name = package
        .as_ref()
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .or_else(|| {
            root.canonicalize()
                .ok()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "project".into());
    project.dependencies = package_dependencies(package.as_ref());
    project.variables = env_variables(root, &mut project.problems);
    if let Some(dir) = functions_dir {
        collect(root, &dir, Kind::Function, &mut project);
    }
    if let Some(dir) = assets_dir {
        collect(root, &dir, Kind::Asset, &mut project);
    }
    project
}

fn read_json(path: &Path, problems: &mut Vec<String>) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(e) => {
            problems.push(format!(
                "{}: {e}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ));
            None
        }
    }
}

/// `dependencies` of package.json; an empty version means any (`*`), as the Toolkit sends it.
fn package_dependencies(package: Option<&serde_json::Value>) -> Vec<Dependency> {
    let Some(deps) = package.and_then(|p| p.get("dependencies")).and_then(|d| d.as_object()) else {
        return Vec::new();
    };
    deps.iter()
        .map(|(name, version)| Dependency {
            name: name.clone(),
            version: version.as_str().filter(|v| !v.is_empty()).unwrap_or("*").to_string(),
        })
        .collect()
}

/// The `.env` file at `path`, parsed; `None` when there is none. Bytes that are not UTF-8 are
/// replaced, as Node.js decodes them.
pub fn read_env_file(path: &Path) -> Option<dotenv::Parsed> {
    let bytes = std::fs::read(path).ok()?;
    Some(dotenv::parse(&String::from_utf8_lossy(&bytes)))
}

fn env_variables(root: &Path, problems: &mut Vec<String>) -> Vec<(String, String)> {
    let Some(parsed) = read_env_file(&root.join(".env")) else {
        return Vec::new();
    };
    for (line, text) in &parsed.ignored {
        problems.push(format!(
            ".env line {line}: {text:?} is not KEY=VALUE, so it is ignored (as twilio-run ignores it)"
        ));
    }
    let mut vars = Vec::new();
    for (key, value) in parsed.pairs {
        if key == "ACCOUNT_SID" || key == "AUTH_TOKEN" {
            continue;
        }
        if key.len() > 128 || value.len() > 450 {
            problems.push(format!(
                ".env: {key} is over Twilio's limits (128-character key, 450-byte value)"
            ));
            continue;
        }
        vars.push((key, value));
    }
    vars
}

/// Walks `dir` and adds its functions or assets, in a stable (sorted) order.
fn collect(root: &Path, dir: &Path, kind: Kind, project: &mut Project) {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    for file in files {
        let Ok(relative_to_dir) = file.strip_prefix(dir) else {
            continue;
        };
        let rel_dir = relative_to_dir.to_string_lossy().replace('\\', "/");
        if kind == Kind::Function && !rel_dir.ends_with(".js") {
            continue;
        }
        let (path, visibility) = route_of(&rel_dir, kind);
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if let Err(e) = crate::api::check_path(&path) {
            project.problems.push(format!("{rel}: {}", e.message));
            continue;
        }
        if let Some(other) = project.files.iter().find(|f| f.kind == kind && f.path == path) {
            project
                .problems
                .push(format!("{rel} and {} are both served at {path}", other.rel));
            continue;
        }
        project.files.push(ProjectFile {
            kind,
            path,
            visibility,
            rel,
        });
    }
}

/// Files under `dir`, skipping hidden entries (editor swap and lock files among them),
/// `node_modules`, editor backups and `.DS_Store`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ignored_name(&name) {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), out),
            Ok(t) if t.is_file() || t.is_symlink() => out.push(entry.path()),
            _ => {}
        }
    }
}

/// Names that are never part of a project: hidden files, editor temporaries, dependencies.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
        || name == "node_modules"
}

/// The URL path and visibility of a file at `rel` (relative to its folder), as the Toolkit
/// derives them: `lib/util.private.js` → `/lib/util`, private.
fn route_of(rel: &str, kind: Kind) -> (String, &'static str) {
    let rel = match kind {
        Kind::Function => rel.strip_suffix(".js").unwrap_or(rel),
        Kind::Asset => rel,
    };
    let (dir, name) = rel.rsplit_once('/').map_or(("", rel), |(d, n)| (d, n));
    let (stem, ext) = match kind {
        Kind::Function => (name, ""),
        Kind::Asset => name.rsplit_once('.').map_or((name, ""), |(s, e)| (s, e)),
    };
    let (stem, visibility) = if let Some(s) = stem.strip_suffix(".protected") {
        (s, "protected")
    } else if let Some(s) = stem.strip_suffix(".private") {
        (s, "private")
    } else {
        (stem, "public")
    };
    let name = if ext.is_empty() {
        stem.to_string()
    } else {
        format!("{stem}.{ext}")
    };
    let joined = if dir.is_empty() {
        format!("/{name}")
    } else {
        format!("/{dir}/{name}")
    };
    let path: String = joined
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect();
    (path, visibility)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_toolkit_rules() {
        assert_eq!(route_of("hello.js", Kind::Function), ("/hello".into(), "public"));
        assert_eq!(
            route_of("lib/util.private.js", Kind::Function),
            ("/lib/util".into(), "private")
        );
        assert_eq!(
            route_of("secure.protected.js", Kind::Function),
            ("/secure".into(), "protected")
        );
        assert_eq!(route_of("img.private.png", Kind::Asset), ("/img.png".into(), "private"));
        assert_eq!(
            route_of("my page.html", Kind::Asset),
            ("/my-page.html".into(), "public")
        );
        assert_eq!(route_of("LICENSE", Kind::Asset), ("/LICENSE".into(), "public"));
    }

    #[test]
    fn a_project_is_scanned_with_its_rc_folders_env_and_collisions() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("fns/lib")).expect("mkdir");
        std::fs::create_dir_all(root.join("public")).expect("mkdir");
        std::fs::write(
            root.join(".twilioserverlessrc"),
            r#"{"functionsFolder":"fns","assetsFolder":"public"}"#,
        )
        .expect("rc");
        std::fs::write(
            root.join("package.json"),
            r#"{"name":"demo-app","dependencies":{"lodash":""}}"#,
        )
        .expect("pkg");
        std::fs::write(
            root.join(".env"),
            "GREETING=hi there\nACCOUNT_SID=AC1\nEMPTY=\nGREETING=hi again\nnot a line\n",
        )
        .expect("env");
        for f in [
            "fns/a.js",
            "fns/a.protected.js",
            "fns/lib/u.private.js",
            "fns/notes.txt",
            "fns/.#a.js",
        ] {
            std::fs::write(root.join(f), "x").expect("file");
        }
        std::fs::write(root.join("public/index.html"), "x").expect("asset");
        let p = scan(root);
        assert_eq!(p.name, "demo-app");
        assert_eq!(
            p.dependencies,
            vec![Dependency {
                name: "lodash".into(),
                version: "*".into()
            }]
        );
        assert_eq!(
            p.variables,
            [("GREETING", "hi again"), ("EMPTY", "")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let paths: Vec<_> = p.files.iter().map(|f| (f.path.as_str(), f.visibility)).collect();
        assert_eq!(
            paths,
            [("/a", "public"), ("/lib/u", "private"), ("/index.html", "public")]
        );
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        assert!(
            p.problems[0].starts_with(".env line 5: \"not a line\""),
            "{:?}",
            p.problems
        );
        assert!(p.problems[1].contains("/a"));
    }

    #[test]
    fn detects_projects_by_their_folders_or_files() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(!detect(dir.path()));
        std::fs::create_dir(dir.path().join("src")).expect("mkdir");
        std::fs::create_dir(dir.path().join("static")).expect("mkdir");
        assert!(
            !detect(dir.path()),
            "a code repository with src/ and static/ is not a project"
        );
        std::fs::create_dir(dir.path().join("assets")).expect("mkdir");
        assert!(detect(dir.path()));
    }
}
