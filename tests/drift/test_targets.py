"""Targets and the verdict, in-process: parsing and refusing targets files, one check per state."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemasync import secrets
from schemasync.drift import (
    DriftResult,
    DriftStatus,
    FleetTarget,
    check_target,
    has_password,
    load_targets,
    outcome,
    parse_targets,
    plan_markdown,
    table_rows,
)
from schemasync.errors import ConfigError, ExitCode
from tests.conftest import TestDB
from tests.drift import helpers
from tests.fixtures.pg import PASSWORD


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("targets.toml", None, "does not exist"),
        ("targets.txt", "", "neither TOML nor YAML"),
        ("targets.toml", "[[targets]\nname = 1", "is not valid TOML"),
        ("targets.yaml", "targets: [\n  - name: a", "is not valid YAML"),
        ("targets.toml", "[defaults]\nmodels = 'm:B'\n", "has no list of targets"),
        ("targets.toml", "targets = []\n", "lists no targets"),
        ("targets.toml", "targets = [1]\n", "is not a table of target settings"),
        ("targets.toml", "owner = 'x'\n[[targets]]\nname = 'a'\nurl_env = 'A'\n", "unknown top-level key(s): owner"),
        (
            "targets.toml",
            "[[targets]]\nname = 'a'\nurl_env = 'A'\n[[targets]]\nname = 'a'\nurl_env = 'B'\n",
            "two targets called 'a'",
        ),
        ("targets.toml", "[[targets]]\nname = 'a'\nurl_env = 'A'\ndatabase = 'x'\n", "unknown setting(s): database"),
        ("targets.toml", "[[targets]]\nname = 'a'\n", "exactly one of url_env, url_secret or url"),
        (
            "targets.toml",
            "[[targets]]\nname = 'a'\nurl_env = 'A'\nurl_secret = 'b'\n",
            "(it gives url_env and url_secret)",
        ),
        ("targets.toml", "[[targets]]\nname = 'a'\nurl_env = 'not a var'\n", "is not an environment variable name"),
        ("targets.toml", "[[targets]]\nname = 'a'\nurl_secret = 'Shop DB'\n", "is not a Prefect block name"),
        ("targets.toml", "[[targets]]\nname = 'a b'\nurl_env = 'A'\n", "needs a name of letters"),
        ("targets.toml", "[[targets]]\nurl_env = 'A'\n", "needs a name of letters"),
        ("targets.toml", "[[targets]]\nname = 'a'\nurl_env = 'A'\nenv = 3\n", "env must be text"),
        ("targets.toml", "[[targets]]\nname = 'a'\nurl = 'mysql://h/db'\n", "PostgreSQL only"),
        ("targets.toml", "[defaults]\nurl_env = 'A'\n[[targets]]\nname = 'a'\n", "must differ per target"),
    ],
)
def test_bad_targets_files(tmp_path: Path, name: str, content: str | None, expected: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_targets(path)
    assert expected in caught.value.message, caught.value.message
    assert caught.value.hint  # always says what to do


def test_targets_file_with_defaults(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(
        "defaults:\n  models: app.models:Base\n  project_dir: ../app\n  env: production\n"
        "targets:\n  - name: shop-eu\n    url_env: SHOP_EU_URL\n"
        "  - name: shop-us\n    url_secret: shop-us-db\n    env: staging\n    project_dir: /srv/us\n"
        "  - name: local\n    url: postgresql://postgres@127.0.0.1/shop\n"
    )
    eu, us, local = load_targets(tmp_path / "fleet.yaml")
    assert eu == FleetTarget(
        name="shop-eu",
        url_env="SHOP_EU_URL",
        models="app.models:Base",
        env="production",
        project_dir=tmp_path.resolve() / "../app",
    )
    assert us.url_secret == "shop-us-db" and us.env == "staging" and us.project_dir == Path("/srv/us")
    assert local.url == "postgresql://postgres@127.0.0.1/shop"
    assert eu.url_origin == "environment variable SHOP_EU_URL"
    assert us.url_origin == "Prefect Secret block shop-us-db"


@pytest.mark.parametrize(
    "entry",
    [
        {"url": f"postgresql://app:{PASSWORD}@db.example:5432/shop"},
        {"url": f"postgres://app@db.example/shop?sslmode=require&password={PASSWORD}"},
        {"url_env": f"postgresql://app:{PASSWORD}@db.example/shop"},
        {"url_env": f"host=db.example password={PASSWORD} dbname=shop"},
        {"url_env": "SHOP_URL", "models": f"postgresql+psycopg://u:{PASSWORD}@h/db"},
    ],
)
def test_a_password_anywhere_is_refused_without_echoing_it(entry: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_targets([{"name": "shop", **entry}], origin="the flow's targets parameter")
    error = caught.value
    assert "Target 'shop' (the flow's targets parameter, target 1) has a database password in" in error.message
    assert "url_env" in (error.hint or "") and "url_secret" in (error.hint or "")
    assert PASSWORD not in str(error)
    assert secrets.scrub(f"leaked {PASSWORD}") == "leaked ***"  # registered: masked wherever it turns up


def test_has_password() -> None:
    assert has_password("postgresql://u:p%40ss@h/db")
    assert has_password("postgresql://u@h/db?password=x")
    assert has_password("dbname=x password=y")
    assert not has_password("postgresql://u@h:5432/db?sslmode=require")
    assert not has_password("postgresql://h/db")
    assert not has_password("SHOP_DATABASE_URL")


def test_one_check_per_state(fleet_dbs: dict[str, TestDB], tmp_path: Path) -> None:
    project = helpers.make_project(tmp_path / "app")
    environ = {"SYNCED_URL": fleet_dbs["synced"].url}
    fleet = parse_targets(
        [
            {"name": "synced", "url_env": "SYNCED_URL"},
            {"name": "drifted", "url": fleet_dbs["drifted"].url, "env": "staging"},
            {"name": "gone", "url": helpers.unreachable_url()},
            {"name": "unset", "url_env": "NOT_SET_ANYWHERE"},
            {"name": "vaulted", "url_secret": "shop-db"},
            {"name": "bad-models", "url_env": "SYNCED_URL", "models": "nosuchmodule:Base"},
        ],
        origin="test",
        defaults={"project_dir": str(project)},
    )
    results = {t.name: check_target(t, environ=environ) for t in fleet}

    synced = results["synced"]
    assert (synced.status, synced.in_sync, synced.changes, synced.versions) == (DriftStatus.IN_SYNC, True, 0, "in step")
    assert synced.database == f"postgres@127.0.0.1:5432/{fleet_dbs['synced'].name}" and synced.plan_sql == ""

    drifted = results["drifted"]
    assert drifted.status is DriftStatus.DRIFTED and drifted.environment == "staging"
    assert (drifted.app_version, drifted.database_version, drifted.versions) == ("2.0.0", "1.9.0", "app ahead")
    assert drifted.summary == (
        "Found 1 new column: items.note",
        "Found 1 changed column: items.price (type numeric(10,4) -> numeric(10,2))",
    )
    assert drifted.destructive == ("numeric(10,4) -> numeric(10,2) on items.price rounds values to 2 decimal places",)
    assert 'ADD COLUMN "note" text' in drifted.plan_sql

    assert (
        results["gone"].status is DriftStatus.UNREACHABLE
        and "Nothing is accepting connections" in results["gone"].error
    )
    assert results["unset"].status is DriftStatus.ERROR and "NOT_SET_ANYWHERE" in results["unset"].error
    assert results["vaulted"].status is DriftStatus.ERROR and "cannot read" in results["vaulted"].error
    assert results["bad-models"].status is DriftStatus.ERROR and "nosuchmodule" in results["bad-models"].error
    assert all(not r.checked for n, r in results.items() if n not in ("synced", "drifted"))

    verdict = outcome(list(results.values()))
    assert verdict.exit_code is ExitCode.DRIFT and verdict.drifted == ("drifted",)
    assert verdict.message == (
        "6 targets: 1 in sync, 1 drifted (drifted), 4 not checked (gone, unset, vaulted, bad-models)."
    )
    rows = {row["target"]: row for row in table_rows(list(results.values()))}
    assert rows["drifted"]["in sync"] == "no" and rows["drifted"]["changes"] == "2"
    assert rows["drifted"]["destructive changes"].startswith("numeric(10,4) -> numeric(10,2)")
    assert rows["gone"]["in sync"] == "unknown" and rows["gone"]["status"].startswith("unreachable: Nothing is")
    markdown = plan_markdown(drifted)
    assert markdown.startswith("# Drift on drifted\n") and "```sql\nBEGIN;" in markdown
    assert "| database version | 1.9.0 |" in markdown and "DELETES_DATA" in markdown


def test_exit_codes() -> None:
    ok = DriftResult("a", DriftStatus.IN_SYNC)
    drifted = DriftResult("b", DriftStatus.DRIFTED, changes=1)
    gone = DriftResult("c", DriftStatus.UNREACHABLE, error="x")
    assert outcome([ok]).exit_code is ExitCode.OK
    assert outcome([ok, gone]).exit_code is ExitCode.ERROR
    assert outcome([ok, gone, drifted]).exit_code is ExitCode.DRIFT  # drift wins: that database needs a sync
    assert outcome([drifted]).message == "1 target: 0 in sync, 1 drifted (b)."


def test_the_guides_targets_file_parses(tmp_path: Path) -> None:
    """deployments/README.md shows a targets.toml; it must be one `schemasync drift --targets` accepts."""
    import re

    from tests.conftest import ROOT

    guide = (ROOT / "deployments" / "README.md").read_text()
    (example,) = re.findall(r"^```toml\n(.*?)^```", guide, re.MULTILINE | re.DOTALL)
    (tmp_path / "targets.toml").write_text(example)
    eu, us = load_targets(tmp_path / "targets.toml")
    assert (eu.name, eu.url_env, eu.env) == ("shop-eu", "SHOP_EU_DATABASE_URL", "production")
    assert (us.name, us.url_secret, us.models) == ("shop-us", "shop-us-database-url", "exampleapp.models:Base")


def test_a_plan_carrying_backticks_cannot_close_the_drift_reports_code_block() -> None:
    """A comment or name from the database holding ``` closed the fixed ```sql fence of the drift artifact
    and could add headings of its own below it (the approver's page already used a longer fence)."""
    from schemasync.drift import DriftResult, DriftStatus, plan_markdown

    sql = "COMMENT ON TABLE \"t\" IS 'x\n```\n## In sync\nNothing to do';"
    page = plan_markdown(DriftResult(target="shop", status=DriftStatus.DRIFTED, changes=1, plan_sql=sql))
    lines = page.rstrip("\n").splitlines()
    opening = next(i for i, line in enumerate(lines) if line.startswith("```"))
    assert lines[opening] == "````sql" and lines[-1] == "````", page
    assert "## In sync" in lines[opening + 1 : -1], "the injected heading stays inside the code block"
