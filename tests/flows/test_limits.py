"""One change at a time per database: the Prefect global concurrency limit, against the real server."""

from __future__ import annotations

import time

import pytest
from prefect.client.orchestration import get_client

from schemasync.db import parse_url
from schemasync.workflows.limits import ChangeSlotBusy, limit_name, one_change_at_a_time
from tests.flows.helpers import finish, flow_process, unique

BASE = "postgresql://{auth}db.example.com:{port}/{db}"


def name_for(auth: str = "", port: int = 5432, db: str = "shop", scheme: str = "postgresql") -> str:
    url = BASE.format(auth=auth, port=port, db=db).replace("postgresql://", f"{scheme}://")
    return limit_name(parse_url(url, "test"))


def test_the_limit_name_identifies_the_database_and_nothing_secret() -> None:
    plain = name_for()
    assert plain.startswith("schemasync-shop-")
    assert name_for("app:S3cret-pw@") == plain, "user and password must not change the limit"
    assert name_for("admin@") == plain
    assert name_for(scheme="postgresql+psycopg") == plain
    assert "S3cret" not in name_for("app:S3cret-pw@")
    assert name_for(port=5433) != plain
    assert name_for(db="shop2") != plain
    odd = name_for(db="Shop%2F%3C%26Prod%3E")
    assert all(c not in odd for c in "/%&<>"), odd  # characters Prefect refuses in names
    assert limit_name(parse_url("postgresql://DB.EXAMPLE.COM/shop", "t")) == plain


@pytest.mark.prefect
def test_two_runs_never_hold_the_slot_at_once(prefect_api, tmp_path) -> None:
    url = f"postgresql://app@127.0.0.1:5432/{unique('sstest_limit').replace('-', '_')}"
    log = tmp_path / "log"
    first = flow_process("hold", "--name", unique("hold-a"), "--database-url", url, "--seconds", "6", "--log", str(log))
    second = flow_process(
        "hold", "--name", unique("hold-b"), "--database-url", url, "--seconds", "1", "--log", str(log)
    )

    deadline = time.monotonic() + 90
    while not (log.exists() and "enter" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.exists(), "neither run took the slot"
    with pytest.raises(ChangeSlotBusy) as busy, one_change_at_a_time(parse_url(url, "test"), timeout=1):
        pytest.fail("entered the slot while another run held it")
    assert "did not release it within 1s; nothing was changed" in busy.value.message
    assert "prefect gcl update" in str(busy.value.hint)

    results = [finish(first), finish(second)]
    assert [r["state"] for r in results] == ["COMPLETED", "COMPLETED"], results
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[0] for e in events] == ["enter", "exit", "enter", "exit"], events
    assert events[0][1] == events[1][1] and events[2][1] == events[3][1], "each run left before the other entered"
    assert float(events[1][2]) <= float(events[2][2])

    name = limit_name(parse_url(url, "test"))
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(name)
    assert (limit.limit, limit.active, limit.active_slots) == (1, True, 0)
