"""Open a results.html in headless Chromium, time its rendering, and take screenshots to look at.

    python scripts/screenshot_report.py RESULTS.html OUT_DIR [HASH ...]

Writes ``OUT_DIR/top.png`` (the first screen), ``OUT_DIR/full.png`` (the whole page, cut at
``FULL_LIMIT`` pixels), ``OUT_DIR/nojs.png`` (one vector's anchor with scripts off) and one
``OUT_DIR/view-N.png`` per HASH (a filtered view such as ``impl=safetensors&verdict=failed``, or a
vector's anchor such as ``buffer/overlap-tied``). Prints the page's size, the times to
DOMContentLoaded and load, when the script was ready, and how many vector rows each view shows.

Needs Debian's chromium at /usr/bin/chromium (``apt-get install chromium``) and the dev extra's
Playwright, which drives that browser (no browser download).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import FloatRect, Page, ViewportSize, sync_playwright

CHROMIUM = "/usr/bin/chromium"
#: Without these, a Chromium with no network stalls on start-up trying to reach Google's services.
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
#: A full-page PNG of 600 rows is tens of thousands of pixels tall: keep its top part.
FULL_LIMIT = 12000
#: Where the scriptless screenshot looks: a vector the committed matrix always has.
NOJS_ANCHOR = "buffer/overlap-tied"


def timings(page: Page) -> dict[str, float]:
    """Milliseconds from navigation start to DOMContentLoaded, load, and the script's first paint."""
    return dict(
        page.evaluate(
            """() => {
              const n = performance.getEntriesByType("navigation")[0];
              const paint = performance.getEntriesByName("first-contentful-paint")[0];
              return {dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
                      first_contentful_paint: paint ? paint.startTime : -1};
            }"""
        )
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, folder, views = Path(argv[0]).resolve(), Path(argv[1]), argv[2:]
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{source}: {source.stat().st_size} bytes")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(source.as_uri(), wait_until="load")
        page.wait_for_selector("body[data-ready]")
        print("timings (ms):", {k: round(v, 1) for k, v in timings(page).items()})
        page.screenshot(path=folder / "top.png")
        height = page.evaluate("document.documentElement.scrollHeight")
        clip: FloatRect = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": min(height, FULL_LIMIT)}
        page.screenshot(path=folder / "full.png", full_page=True, clip=clip)
        print(f"page height {height} px; full.png holds the top {clip['height']} px")
        for number, view in enumerate(views, start=1):
            page.goto(f"{source.as_uri()}#{view}", wait_until="load")
            page.wait_for_selector("body[data-ready]")
            page.wait_for_timeout(100)
            shown = page.get_attribute("body", "data-shown")
            page.screenshot(path=folder / f"view-{number}.png")
            print(f"view-{number}.png: #{view}: {shown} vector rows shown")
        context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
        plain = context.new_page()
        plain.goto(source.as_uri(), wait_until="load")
        rows = plain.locator("tr.vec:visible").count()
        plain.goto(f"{source.as_uri()}#{NOJS_ANCHOR}", wait_until="load")
        plain.wait_for_timeout(300)
        plain.screenshot(path=folder / "nojs.png")
        print(f"nojs.png: scripts off, at #{NOJS_ANCHOR}; {rows} vector rows visible")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
