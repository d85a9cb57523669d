"""Snapshots, `compare`, `history --changes` and the studio's history, on a real database through the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.conftest import TestDB
from tests.engine.sync_helpers import sync
from tests.history.helpers import MODELS_V1, MODELS_V2, MODELS_V3, metadata_of, write_project


def _json(result):  # type: ignore[no-untyped-def]
    assert result.code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def three_versions(cli, pg: TestDB):  # type: ignore[no-untyped-def]
    """1.0.0 (users, posts), 1.1.0 (+ tags, + users.bio), 1.2.0 (- posts.body, + index, NOT NULL bio)."""
    for version, models in (("1.0.0", MODELS_V1), ("1.1.0", MODELS_V2), ("1.2.0", MODELS_V3)):
        write_project(cli.project, version, models)
        _, applied = sync(pg, metadata_of(models), version=version, prune=True)  # the library, as sync runs it
        assert applied is not None and applied.version_id is not None
    return {"DATABASE_URL": pg.url}


def test_every_recorded_version_has_a_snapshot_in_the_same_transaction(cli, pg: TestDB, three_versions) -> None:  # type: ignore[no-untyped-def]
    rows = pg.execute(
        "SELECT v.schema_version, s.schema_version, s.label, s.size_bytes > 0, length(s.snapshot) < s.size_bytes "
        "FROM schema_versions v JOIN schema_snapshots s ON s.version_id = v.id ORDER BY v.id"
    )
    assert [r[:3] for r in rows] == [("1.0.0", "1.0.0", None), ("1.1.0", "1.1.0", None), ("1.2.0", "1.2.0", None)]
    assert all(r[3] and r[4] for r in rows)  # stored compressed
    listed = _json(cli("snapshots", "--json", env=three_versions))
    assert [s["schema_version"] for s in listed] == ["1.2.0", "1.1.0", "1.0.0"]


def test_compare_across_three_recorded_versions(cli, pg: TestDB, three_versions) -> None:  # type: ignore[no-untyped-def]
    env = three_versions
    first_to_last = _json(cli("compare", "1.0.0", "version:1.2.0", "--json", env=env))
    assert first_to_last["from"]["kind"] == "version" and "1.0.0" in first_to_last["from"]["title"]
    assert first_to_last["counts"] == {"table+": 1, "column+": 1, "column-": 1, "index+": 1}
    tables = {(t["schema"], t["table"]): t for t in first_to_last["tables"]}
    assert tables[("public", "tags")]["status"] == "added"
    assert {c["text"] for c in tables[("public", "posts")]["changes"]} >= {"- column body"}
    users = [c["text"] for c in tables[("public", "users")]["changes"]]
    assert "+ column bio text NOT NULL" in users
    assert any(t.startswith("+ index ix_users_email") for t in users)

    middle = _json(cli("compare", "1.1.0", "1.2.0", "--json", env=env))
    assert middle["counts"] == {"column*": 1, "column-": 1, "index+": 1}
    assert _json(cli("compare", "id:3", "live", "--json", env=env))["identical"] is True

    text = cli("compare", "1.2.0", "1.0.0", env=env)  # backwards: what it takes to go back
    assert text.code == 0
    assert "public.tags (dropped)" in text.stdout and "+ column body text" in text.stdout
    assert "4 differences: 1 table dropped, 1 column added, 1 column dropped, 1 index dropped." in text.stdout

    markdown = cli("compare", "1.0.0", "1.1.0", "--markdown", env=env)
    assert markdown.code == 0 and markdown.stdout.startswith("## Schema comparison")
    assert "| table added | 1 |" in markdown.stdout and "### `public.tags` (added)" in markdown.stdout

    default = cli("compare", env=env)  # latest snapshot -> live
    assert default.code == 0 and "No differences" in default.stdout
    pg.execute("ALTER TABLE tags ADD COLUMN colour text")
    drifted = _json(cli("compare", "--json", env=env))
    assert drifted["counts"] == {"column+": 1} and drifted["to"]["kind"] == "live"
    assert _json(cli("compare", "latest", "models", "--json", env=env))["identical"] is True


def test_history_changes_lists_what_each_version_changed(cli, pg: TestDB, three_versions) -> None:  # type: ignore[no-untyped-def]
    rows = _json(cli("history", "--changes", "--json", env=three_versions))
    by_version = {r["schema_version"]: r["schema_changes"] for r in rows}
    assert by_version["1.0.0"] is None  # nothing earlier to compare with
    assert "Found 1 new table: tags" in by_version["1.1.0"]
    assert any("users.bio" in line for line in by_version["1.2.0"])
    text = cli("history", "--changes", env=three_versions)
    assert text.code == 0 and "Found 1 new table: tags" in text.stdout


def test_labelled_snapshots_files_and_backup_manifests_compare(cli, pg: TestDB, three_versions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = three_versions
    out = tmp_path / "before.json.gz"
    taken = cli("snapshot", "--label", "before-colour", "--output", str(out), env=env)
    assert taken.code == 0 and "before-colour" in taken.stdout, taken.output
    assert json.loads(gzip.decompress(out.read_bytes()))["kind"] == "schemasync-snapshot"
    again = cli("snapshot", "--label", "before-colour", env=env)
    assert again.code == 1 and "already a snapshot labelled" in again.output and "Traceback" not in again.output
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 3  # a snapshot is not a version

    pg.execute("ALTER TABLE tags ADD COLUMN colour text")
    for ref in ("before-colour", "label:before-colour", str(out)):
        result = _json(cli("compare", ref, "live", "--json", env=env))
        assert result["counts"] == {"column+": 1}, ref

    backup = cli("backup", "--json", env=env)
    assert backup.code == 0, backup.output
    manifest = next((cli.project / "backups").glob("*.manifest.json"))
    assert json.loads(manifest.read_text())["snapshot"]["encoding"] == "gzip+base64"
    # files only: no database needed
    offline = _json(
        cli("compare", str(out), str(manifest), "--json", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    )
    assert offline["counts"] == {"column+": 1}


def test_bad_references_and_files_give_clear_errors(cli, pg: TestDB, three_versions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = three_versions
    unknown = cli("compare", "9.9.9", env=env)
    assert unknown.code == 1 and "There is no version, row id or snapshot label '9.9.9'" in unknown.stderr
    assert "1.2.0" in unknown.stderr  # says what there is
    label = cli("compare", "label:nope", env=env)
    assert label.code == 1 and "no snapshot labelled 'nope'" in label.stderr
    missing = cli("compare", str(tmp_path / "missing.json"), env=env)
    assert missing.code == 1 and "cannot be read" in missing.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert "is not JSON" in cli("compare", str(garbage), env=env).stderr
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    assert "holds no schema" in cli("compare", str(other), env=env).stderr
    reserved = cli("snapshot", "--label", "live", env=env)
    assert reserved.code == 1 and "cannot be used" in reserved.stderr
    for result in (unknown, label, missing, reserved):
        assert "Traceback" not in result.output


def test_compare_before_any_snapshot_and_rows_from_before_snapshots(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    write_project(cli.project, "1.0.0", MODELS_V1)
    nothing = cli("compare", env=env)
    assert nothing.code == 1 and "No schema snapshot is recorded" in nothing.stderr
    pg.execute(
        "CREATE TABLE schema_versions (id serial PRIMARY KEY, version varchar(20), created_at timestamp DEFAULT now());"
        "INSERT INTO schema_versions (version) VALUES ('0.9.0')"
    )
    assert cli("setup", env=env).code == 0  # adapts the old layout; the old row has no snapshot
    old = cli("compare", "0.9.0", "live", env=env)
    assert old.code == 1 and "before schemasync kept schema snapshots" in old.stderr
    assert cli("compare", "models", "live", env=env).code == 0


def test_studio_history_shows_changes_from_snapshots(pg: TestDB, three_versions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.studio.helpers import make_studio

    studio = make_studio(pg.url, tmp_path)
    page = studio.get("/history")
    assert page.status_code == 200
    assert "Found 1 new table: tags" in page.text


def test_compare_lists_functions_triggers_policies_and_grants_by_kind(cli, pg: TestDB, three_versions) -> None:  # type: ignore[no-untyped-def]
    env = three_versions
    taken = cli("snapshot", "--label", "before-routines", env=env)
    assert taken.code == 0, taken.output
    pg.execute(
        """
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER tags_touch BEFORE UPDATE ON tags FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
        CREATE POLICY everyone ON tags FOR SELECT USING (true);
        GRANT SELECT ON tags TO PUBLIC;
        """
    )
    result = _json(cli("compare", "before-routines", "live", "--json", env=env))
    assert result["counts"] == {"routine+": 1, "trigger+": 1, "policy+": 1, "security*": 1, "grant+": 1}
    texts = {c["text"] for t in result["tables"] for c in t["changes"]}
    assert {"+ function public.touch()", "+ trigger tags_touch", "~ row-level security: off -> on"} <= texts
    assert "+ SELECT on tags to PUBLIC" in texts
    text = cli("compare", "before-routines", "live", env=env)
    assert "1 function or procedure added" in text.stdout and "1 trigger added" in text.stdout, text.output
