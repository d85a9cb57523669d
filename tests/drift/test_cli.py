"""`schemasync drift` as a shell sees it: exit codes, JSON, targets files, refusals, no secrets."""

from __future__ import annotations

import json

from tests.conftest import TestDB
from tests.drift import helpers
from tests.fixtures.pg import PASSWORD


def clean(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output, result.output


def test_one_database_exit_codes(cli, fleet_dbs: dict[str, TestDB]) -> None:  # type: ignore[no-untyped-def]
    helpers.make_project(cli.project)

    synced = cli("drift", env={"DATABASE_URL": fleet_dbs["synced"].url})
    assert synced.code == 0, synced.output
    assert "1 target: 1 in sync." in synced.stdout

    drifted = cli("drift", "--json", env={"DATABASE_URL": fleet_dbs["drifted"].url})
    assert drifted.code == 2, drifted.output
    report = json.loads(drifted.stdout)
    (target,) = report["targets"]
    assert target["status"] == "drifted" and target["in_sync"] is False and target["changes"] == 2
    assert target["app_version"] == "2.0.0" and target["database_version"] == "1.9.0"
    assert target["versions"] == "app ahead"
    assert target["destructive"] == ["numeric(10,4) -> numeric(10,2) on items.price rounds values to 2 decimal places"]
    assert "ALTER TABLE" in target["plan_sql"] and report["exit_code"] == 2
    # drift never writes: the database is as it was
    assert fleet_dbs["drifted"].scalar("SELECT count(*) FROM schema_versions") == 1
    assert (
        fleet_dbs["drifted"].scalar(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'"
        )
        == 0
    )
    for result in (synced, drifted):
        clean(result)


def test_targets_file_fleet(cli, fleet_dbs: dict[str, TestDB]) -> None:  # type: ignore[no-untyped-def]
    """TOML with defaults: one target per state; drift wins the exit code; each target gets its row."""
    project = helpers.make_project(cli.project / "app")
    gone = helpers.unreachable_url()
    (cli.project / "targets.toml").write_text(
        f"""
[defaults]
models = "{helpers.MODELS_SPEC}"
project_dir = "app"
env = "production"

[[targets]]
name = "shop-eu"
url = "{fleet_dbs["synced"].url}"

[[targets]]
name = "shop-us"
url_env = "SHOP_US_URL"

[[targets]]
name = "billing"
url = "{gone}"
"""
    )
    result = cli("drift", "--targets", "targets.toml", "--json", env={"SHOP_US_URL": fleet_dbs["drifted"].url})
    assert result.code == 2, result.output
    report = json.loads(result.stdout)
    by_name = {t["target"]: t for t in report["targets"]}
    assert [t["target"] for t in report["targets"]] == ["shop-eu", "shop-us", "billing"]
    assert by_name["shop-eu"]["status"] == "in sync" and by_name["shop-eu"]["environment"] == "production"
    assert by_name["shop-us"]["status"] == "drifted" and by_name["shop-us"]["changes"] == 2
    assert by_name["billing"]["status"] == "unreachable" and by_name["billing"]["in_sync"] is None
    assert report["drifted"] == ["shop-us"] and report["not_checked"] == ["billing"]
    assert report["summary"] == "3 targets: 1 in sync, 1 drifted (shop-us), 1 not checked (billing)."
    assert (project / ".schemasync" / "cache").is_dir()  # the relative project_dir was the file's app/

    # YAML, without the drifted one: nothing drifted but one could not be checked -> 1
    (cli.project / "targets.yaml").write_text(
        f"""
defaults:
  models: {helpers.MODELS_SPEC}
  project_dir: app
targets:
  - name: shop-eu
    url: {fleet_dbs["synced"].url}
  - name: billing
    url: {gone}
"""
    )
    text = cli("drift", "--targets", "targets.yaml")
    assert text.code == 1, text.output
    assert "billing unreachable: Nothing is accepting connections" in text.stdout
    assert "2 targets: 1 in sync, 1 not checked (billing)." in text.stdout
    clean(result)
    clean(text)


def test_bad_targets_files_are_refused_clearly(cli) -> None:  # type: ignore[no-untyped-def]
    """Exit 1, one paragraph on stderr, nothing on stdout, and never the password (more cases in test_targets)."""
    (cli.project / "targets.toml").write_text(
        f'[[targets]]\nname = "shop"\nurl = "postgresql://app:{PASSWORD}@db.example:5432/shop"\n'
    )
    refused = cli("drift", "--targets", "targets.toml")
    assert refused.code == 1, refused.output
    assert "has a database password in url" in refused.stderr and "checked nothing" in refused.stderr
    assert "url_env" in refused.stderr and "url_secret" in refused.stderr  # says what to do instead
    assert PASSWORD not in refused.output and refused.stdout == ""

    (cli.project / "fleet.toml").write_text("[[targets]\nname = 1")
    broken = cli("drift", "--targets", "fleet.toml")
    assert broken.code == 1 and broken.stderr.startswith("Error:") and "is not valid TOML" in broken.stderr
    for result in (refused, broken):
        clean(result)


def test_targets_and_database_url_together_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "targets.toml").write_text('[[targets]]\nname = "a"\nurl_env = "A"\n')
    result = cli("drift", "--targets", "targets.toml", "--database-url", "postgresql://u@h/db")
    assert result.code == 1 and "--database-url and --targets" in result.stderr
    clean(result)
