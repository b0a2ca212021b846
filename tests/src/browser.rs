//! What the headless-Chromium tests share: where the browser and the Playwright scripts are, and
//! a check that fails (never skips) with the install step when they are missing.

use std::path::{Path, PathBuf};

/// Debian's Chromium, which the scripts launch through `playwright-core`.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `tests/browser`: the Playwright scripts and their `node_modules`.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Fails, with the install step, when the browser check cannot run here.
pub fn require_tools() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: install it with `apt-get install -y chromium fonts-nanum`"
    );
    let playwright = browser_dir().join("node_modules").join("playwright-core");
    assert!(
        playwright.is_dir(),
        "{} is missing: run `cd tests/browser && npm ci` (Node.js 20 or later)",
        playwright.display()
    );
}
