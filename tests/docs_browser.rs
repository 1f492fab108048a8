//! The API explorer at `/docs`, driven in a real browser: `restgate serve
//! --demo`, then headless Chromium (Debian's `chromium`, driven by
//! Playwright's Python package, both installed by
//! `scripts/install-test-tools`) runs `tests/browser/docs.py`: it opens
//! `/docs`, runs the create-user operation through the page (Try it out →
//! body → Execute) and reports what the page shows. The page must show `201`
//! and the `Location`, ask nothing of another origin, and log no error; the
//! user it created must then be readable at that `Location`. The screenshot
//! lands in `target/docs-screenshot.png`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Gateway;

/// The interpreter that has Playwright: `PYTHON`, or `python3` on `PATH`
/// (`scripts/test` puts `target/tools/venv/bin` first).
fn python() -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .output();
    match probe {
        Ok(out) if out.status.success() => python,
        _ => panic!(
            "Playwright's Python package is not installed for {python}: run \
             scripts/install-test-tools, then the tests with scripts/test (or with \
             target/tools/venv/bin first on PATH)"
        ),
    }
}

/// The system Chromium: `CHROMIUM`, or Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    assert!(
        chromium.is_file(),
        "{} is missing: run scripts/install-test-tools (it installs Debian's chromium)",
        chromium.display()
    );
    chromium
}

/// `target/docs-screenshot.png`, whatever the target directory is.
fn screenshot_path() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("docs-screenshot.png")
}

/// What the page showed: the `key: value` lines docs.py prints.
fn shown<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("docs.py printed no {key}: {stdout}"))
}

#[tokio::test]
async fn create_through_the_explorer_shows_201_and_location() {
    let (python, chromium) = (python(), chromium());
    let gw = Gateway::start(&["--demo"]).await;
    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);

    // Every wait in docs.py is bounded (30 s a step).
    let out = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/docs.py"))
        .arg(&gw.base)
        .arg(&screenshot)
        .arg(&chromium)
        .output()
        .expect("run tests/browser/docs.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docs.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(shown(&stdout, "status"), "201", "{stdout}");
    assert_eq!(shown(&stdout, "location"), "/v1/users/1", "{stdout}");
    assert_eq!(
        shown(&stdout, "request_url"),
        gw.url("/v1/users"),
        "the page called this gateway: {stdout}"
    );

    // The page's create reached the service: the user is there.
    let user = gw.get("/v1/users/1").await.assert_json(200);
    assert_eq!(user["displayName"], "Grace Hopper", "{user}");

    let png = std::fs::read(&screenshot).expect("docs.py saved the screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is no screenshot ({} bytes)",
        screenshot.display(),
        png.len()
    );
}
