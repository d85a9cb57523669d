"""`secrets.scrub` masks every form of secret, and stays linear on hostile text (issue 13, point 6).

Scrubbing runs on every log line, error, artifact and studio page value, including text an attacker
chooses (a request URL). A backtracking regex made `scrub("A" * 40000)` take about ten seconds while
the studio's event loop waited; here 1 MB of each hostile shape must take well under a second (a
generous bound: the linear scanner needs milliseconds), and a real secret hidden at the end of each
shape must still be masked.
"""

from __future__ import annotations

import time
from urllib.parse import quote, quote_plus

import pytest

from schemasync import secrets

pytestmark = pytest.mark.reliability

REGISTERED = "Reg1stered-S3cret/+ &x"
MB = 1_000_000


@pytest.fixture(autouse=True)
def _registered() -> None:
    secrets.register(REGISTERED)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://app:Zq9pw@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        ("connect to postgres+psycopg://u:p%40ss@h/d failed", "connect to postgres+psycopg://u:***@h/d failed"),
        ("s3://key:wx/yz@bucket and https://bob:tok@h.example", "s3://key:***@bucket and https://bob:***@h.example"),
        ("host=db password=hunter22 user=app", "host=db password=*** user=app"),
        ("host=db password = 'it\\'s quoted' user=app", "host=db password = *** user=app"),
        ("PASSWORD='a b c'", "PASSWORD=***"),
        (f"leaked {REGISTERED} here", "leaked *** here"),
        (f"encoded {quote(REGISTERED, safe='')} and {quote_plus(REGISTERED)}", "encoded *** and ***"),
        # our own hints' placeholders are not secrets
        ("postgresql://user:password@host:5432/dbname", "postgresql://user:password@host:5432/dbname"),
        ("no secret here: a://b c@d", "no secret here: a://b c@d"),
    ],
)
def test_every_form_of_secret_is_masked(text: str, expected: str) -> None:
    assert secrets.scrub(text) == expected


SHAPES = {
    "one letter": "A" * MB,
    "at signs": "@" * MB,
    "equals signs": "=" * MB,
    "colons": ":" * MB,
    "scheme-like run": "a" * MB,
    "URL fragments": "a://:" * (MB // 5),
    "URL with user and colon": "ab://user:pw" * (MB // 12),
    "bare separators": "x://" * (MB // 4),
    "long schemes": ("s" * 99 + "://") * (MB // 102),
    "unclosed conninfo quotes": "password='" * (MB // 10),
    "conninfo keys": "password = " * (MB // 11),
    "escapes": "password='\\" * (MB // 11),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_megabyte_of_hostile_text_is_scrubbed_in_linear_time(shape: str) -> None:
    secret_tail = "\nend postgresql://app:Tail5ecret@db/shop password=C0nninfoSecret " + REGISTERED
    text = SHAPES[shape] + secret_tail
    started = time.perf_counter()
    clean = secrets.scrub(text)
    elapsed = time.perf_counter() - started
    # Linear scrubbing takes well under a second here; a quadratic (backtracking) one takes hours on a megabyte.
    # The bound only separates those two, generously, so that a loaded machine never fails it.
    assert elapsed < 15.0, f"{shape}: {elapsed:.2f} s"
    for secret in ("Tail5ecret", "C0nninfoSecret", REGISTERED):
        assert secret not in clean, shape
    assert clean.endswith(" postgresql://app:***@db/shop password=*** ***")
