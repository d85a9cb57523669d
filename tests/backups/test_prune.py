"""Retention: `backups prune` and `backups list` over the local directory and S3."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemasync.backups import retention
from schemasync.backups.store import StoredBackup
from schemasync.backups.take import take_backup
from schemasync.db import parse_url
from tests.backups.helpers import fill, make_settings
from tests.conftest import TestDB
from tests.fixtures.s3 import S3Server

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def item(days_ago: float, *, verified: bool = True, store: str = "local", database: str = "shop") -> StoredBackup:
    taken = NOW - timedelta(days=days_ago)
    return StoredBackup(
        id=taken.strftime("%Y%m%dT%H%M%SZ"),
        database=database,
        environment="production",
        app_version="1.0.0",
        taken_at=taken,
        modified_at=taken,
        store=store,
        location=f"{store}:{database}:{days_ago}",
        size=1,
        manifest=object() if verified else None,  # type: ignore[arg-type]
        problem=None if verified else "no manifest",
    )


def deleted(decisions: list[retention.Decision]) -> list[str]:
    return sorted(d.backup.location for d in decisions if d.delete)


def test_keep_and_max_age_apply_per_store_and_series() -> None:
    items = [item(d) for d in (1, 3, 5, 40)] + [item(d, store="s3") for d in (1, 50)] + [item(60, database="other")]
    decisions = retention.decide(items, keep=2, max_age=30 * 86400, now=NOW)
    assert deleted(decisions) == ["local:shop:40", "local:shop:5", "s3:shop:50"]
    assert not next(d for d in decisions if d.backup.location == "local:other:60").delete  # its series' newest


@pytest.mark.parametrize(("keep", "max_age"), [(1, 1.0), (1, None), (5, 1.0)])
def test_newest_verified_backup_is_kept_whatever_the_flags(keep: int, max_age: float | None) -> None:
    items = [item(0.5, verified=False), item(10), item(20), item(30)]
    decisions = retention.decide(items, keep=keep, max_age=max_age, now=NOW)
    kept = [d.backup.location for d in decisions if not d.delete]
    assert "local:shop:10" in kept
    assert next(d for d in decisions if d.backup.location == "local:shop:10").reason.startswith("newest verified")
    assert "local:shop:0.5" not in kept  # the unverified newer one holds no slot and is past the grace period


def test_recent_incomplete_backup_is_left_alone() -> None:
    fresh = item(0, verified=False)
    decisions = retention.decide([fresh, item(2)], keep=1, max_age=None, now=NOW)
    assert not decisions[0].delete and "in progress" in decisions[0].reason


@pytest.mark.s3
def test_prune_local_and_s3_from_the_command_line(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    fill(pg, rows=10)
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    settings = make_settings(
        cli.project,
        url=pg.url,
        s3_bucket=s3_bucket,
        s3_endpoint_url=s3_server.endpoint,
        s3_addressing_style="path",
    )
    today = datetime.now(UTC).replace(microsecond=0)
    ages = (40, 20, 10, 1)
    for days in ages:
        moment = today - timedelta(days=days)
        take_backup(settings, parse_url(pg.url, "test"), now=lambda moment=moment: moment)
    backups = cli.project / "backups"
    stray = backups / f"{pg.name}-development-20200101T000000Z-v1.2.0.dump"  # a dump whose manifest never came
    stray.write_bytes(b"partial")
    os.utime(stray, (0, 0))
    leftover = backups / f".{stray.name}.tmp-4242"  # a killed pg_dump's temporary file
    leftover.write_bytes(b"partial")
    os.utime(leftover, (0, 0))

    listed = json.loads(cli("backups", "list", "--json", env=env).stdout)
    assert listed["errors"] == []
    rows = [(b["store"], b["verified"]) for b in listed["backups"]]
    assert rows.count(("local", True)) == 4 and rows.count(("s3", True)) == 4 and rows.count(("local", False)) == 1
    taken = [b["taken_at"] for b in listed["backups"]]
    assert taken == sorted(taken, reverse=True)  # newest first

    dry = cli("backups", "prune", "--keep", "2", "--max-age", "15d", "--dry-run", "--json", env=env)
    assert dry.code == 0, dry.output
    assert sum(d["delete"] for d in json.loads(dry.stdout)["decisions"]) == 5
    assert len(list(backups.iterdir())) == 10  # 4 dumps + 4 manifests + the stray + the leftover: nothing deleted

    real = cli("backups", "prune", "--keep", "2", "--max-age", "15d", env=env)
    assert real.code == 0, real.output
    assert not stray.exists() and not leftover.exists()
    after = json.loads(cli("backups", "list", "--json", env=env).stdout)["backups"]
    expected_ids = sorted((today - timedelta(days=d)).strftime("%Y%m%dT%H%M%SZ") for d in (10, 1))
    for store in ("local", "s3"):
        assert sorted(b["id"] for b in after if b["store"] == store) == expected_ids

    everything = cli("backups", "prune", "--keep", "1", "--max-age", "1s", env=env)
    assert everything.code == 0 and "newest verified backup: always kept" in everything.stdout
    final = json.loads(cli("backups", "list", "--json", env=env).stdout)["backups"]
    newest = (today - timedelta(days=1)).strftime("%Y%m%dT%H%M%SZ")
    assert [(b["store"], b["id"]) for b in final] == [("local", newest), ("s3", newest)]
