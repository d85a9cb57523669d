"""End to end in headless Chromium: the real `schemasync studio` server, driven as an operator uses it.

Debian's `chromium` (installed by `.ci/run`) driven by Playwright through `executable_path`: no
browser is ever downloaded. Skipped, with the reason, only where Chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TestDB
from tests.studio.helpers import HOSTILE_TABLE, shop
from tests.studio.server import png_colours, studio_process

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "Brows3r-Secret-Pw"  # the test server trusts everybody, so any password connects


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium package: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield instance
        finally:
            instance.close()


def test_overview_search_follow_a_foreign_key_and_screenshot(
    browser,
    pg: TestDB,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect

    shop(pg)
    project = tmp_path / "project"
    project.mkdir()
    url = pg.url.replace("postgres@", f"postgres:{PASSWORD}@")
    with studio_process(project, "--database-url", url) as running:
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        page.goto(running.url + "/")
        expect(page.locator("h1")).to_have_text("Overview")
        expect(page.locator("#fig-tables")).to_have_text("8")
        assert PASSWORD not in page.content()

        page.get_by_role("link", name="Tables", exact=True).click()
        expect(page.locator("h1")).to_contain_text("Tables")
        search = page.get_by_role("searchbox", name="Filter tables")
        search.fill("item")
        rows = page.locator("#table-list tbody tr:visible")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("order_items")
        assert "q=item" in page.url  # the filter is in the address, so it can be shared and reloaded
        search.fill("")
        expect(rows).to_have_count(8)
        search.fill("<script>")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(HOSTILE_TABLE)  # shown as text, never run
        search.fill("order_it")
        page.locator("#table-list a.table-link:visible").click()
        expect(page.locator("h1")).to_have_text("order_items")

        page.locator("a.fk-link", has_text="FK → products").click()
        expect(page.locator("h1")).to_have_text("products")
        page.locator("a.fk-link", has_text="categories").first.click()
        expect(page.locator("h1")).to_have_text("categories")
        assert re.search(r"/table\?schema=public&name=categories$", page.url)

        page.get_by_role("link", name="Relationships").click()
        page.locator('a.erd-table[data-table="public.customers"]').click()
        expect(page.locator("h1")).to_have_text("customers")
        expect(page.locator("#rows tbody tr")).to_have_count(2)

        page.goto(running.url + "/table?name=" + HOSTILE_TABLE.replace(" ", "%20").replace('"', "%22"))
        expect(page.locator("h1")).to_have_text(HOSTILE_TABLE)
        assert page.evaluate("document.scripts.length") == 1  # ours only: the names and values stayed text

        page.goto(running.url + "/tables?q=" + PASSWORD)
        page.goto(running.url + "/drift")
        expect(page.locator("h1")).to_have_text("Drift")

        page.goto(running.url + "/relationships")
        shot = page.screenshot(full_page=True)
        (project / "relationships.png").write_bytes(shot)
        diagram = page.locator("#erd svg").screenshot()  # the drawing itself, not just the page around it
        page.close()
        log = running.stderr()
    assert png_colours(shot) > 50, "the screenshot is (nearly) blank"
    assert png_colours(diagram) > 20, "the diagram rendered (nearly) blank"
    assert errors == []
    assert PASSWORD not in log
    assert "GET /tables?q=*** 200" in log and "GET /relationships 200" in log
