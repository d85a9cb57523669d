"""The studio's request log line is safe to print (issue 13, points 6 and 9).

Paths arrive percent-decoded, so a URL can carry a terminal escape or a line break into the log; and a
long URL used to stall the event loop while a backtracking regex scrubbed it. The log shows control
characters as visible escapes, masks secrets, and cuts a long target after scrubbing it.
"""

from __future__ import annotations

import logging

import pytest

from schemasync import secrets
from schemasync.studio.app import LOGGED_TARGET_CHARS
from tests.studio.helpers import Studio


def test_control_characters_in_a_url_do_not_reach_the_log_raw(
    shop_studio: Studio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="schemasync.studio")
    page = shop_studio.client.get("/tables%1b%5b2J%0d%0aGET%20/forged%20200?q=%1b%5b31m")
    assert page.status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "schemasync.studio"]
    line = next(m for m in lines if "forged" in m)
    assert "\x1b" not in line and "\n" not in line and "\r" not in line
    assert line.startswith("GET /tables\\x1b[2J")


def test_a_long_url_is_logged_scrubbed_and_cut(shop_studio: Studio, caplog: pytest.LogCaptureFixture) -> None:
    secrets.register("L0ngUrlSecret")
    caplog.set_level(logging.INFO, logger="schemasync.studio")
    page = shop_studio.client.get("/tables", params={"q": "L0ngUrlSecret " + "A" * 12_000})
    assert page.status_code == 200
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("GET /tables?q=***+AAAA"))
    assert "L0ngUrlSecret" not in line
    assert len(line) < LOGGED_TARGET_CHARS + 100
