"""Drives the API explorer at /docs in a real, headless Chromium.

Usage: docs.py BASE_URL SCREENSHOT [CHROMIUM]

Opens BASE_URL/docs, opens the create-user operation, presses "Try it out",
types a body, presses "Execute", waits for the answer the page shows, and
saves a screenshot of the operation and its answer to SCREENSHOT. Prints what the page
showed, one `key: value` line each (status, location, request_url), for the
caller to check; exits non-zero with the reason when a step fails, when the
page logs an error (a blocked script or style included), or when the page
asks anything of another origin (the explorer must work offline).

Playwright's Python package drives the system Chromium (CHROMIUM, default
/usr/bin/chromium); it never downloads a browser of its own.
"""

import json
import re
import sys

from playwright.sync_api import sync_playwright

# Playwright adds --headless and a fresh temporary --user-data-dir itself.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPERATION = "#operations-UserService-UserService_CreateUser"
BODY = {"displayName": "Grace Hopper", "email": "grace@example.com"}
# Bounds every wait; a step that takes longer fails the run.
TIMEOUT_MS = 30_000


def main(base, screenshot, chromium):
    errors = []
    elsewhere = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: None
                if r.url.startswith(base + "/") or r.url.startswith("data:")
                else elsewhere.append(r.url),
            )
            shown = run_create(page, base)
            save_screenshot(page, screenshot)
        finally:
            browser.close()
    if elsewhere:
        fail(f"the page asked other origins: {elsewhere}")
    if errors:
        fail(f"the page logged errors: {errors}")
    for key, value in shown.items():
        print(f"{key}: {value}")


def run_create(page, base):
    """The create operation through the UI; what the page shows of its answer."""
    page.goto(base + "/docs")
    operation = page.locator(OPERATION)
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    body = operation.locator("textarea.body-param__text")
    body.fill(json.dumps(BODY, indent=2))
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tbody .response").first
    status = answer.locator(".response-col_status")
    status.wait_for()
    headers = answer.locator(".response-col_description").inner_text()
    location = re.search(r"^\s*location:\s*(\S+)", headers, re.MULTILINE | re.IGNORECASE)
    request_url = operation.locator(".request-url pre").inner_text()
    return {
        "status": status.inner_text().strip(),
        "location": location.group(1) if location else "(none)",
        "request_url": request_url.strip(),
    }


def save_screenshot(page, path):
    """The operation from its summary line down to the answer it shows."""
    top = page.locator(OPERATION).bounding_box()
    answer = page.locator(OPERATION + " .live-responses-table").bounding_box()
    # Boxes are relative to the viewport, a full-page clip to the page.
    scrolled = page.evaluate("window.scrollY")
    clip = {
        "x": top["x"],
        "y": top["y"] + scrolled,
        "width": top["width"],
        "height": answer["y"] + answer["height"] - top["y"] + 16,
    }
    page.screenshot(path=path, clip=clip, full_page=True)


def fail(reason):
    print(f"docs.py: {reason}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        fail("usage: docs.py BASE_URL SCREENSHOT [CHROMIUM]")
    main(
        sys.argv[1].rstrip("/"),
        sys.argv[2],
        sys.argv[3] if len(sys.argv) == 4 else "/usr/bin/chromium",
    )
