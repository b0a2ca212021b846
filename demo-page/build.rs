//! Embeds every file under `public/` with its modification time, so that the binaries serve the
//! page from any working directory and `Last-Modified` still means something.

use std::fmt::Write as _;
use std::path::Path;
use std::time::UNIX_EPOCH;
use std::{env, fs};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let public = root.join("public");
    println!("cargo:rerun-if-changed={}", public.display());
    let mut files = Vec::new();
    collect(&public, &public, &mut files);
    files.sort();
    let mut code = String::from("&[\n");
    for (url_path, file) in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let modified = fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let _ = writeln!(
            code,
            "    PublicFile {{ path: {url_path:?}, body: include_bytes!({:?}), modified_unix_secs: {modified} }},",
            file.display().to_string()
        );
    }
    code.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("public.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, std::path::PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let url = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((format!("/{url}"), path));
        }
    }
}
