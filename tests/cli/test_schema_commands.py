"""`diff`, `check`, `sync`, `push` as a user meets them: exit codes, prompts, refusals, the database after."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import TestDB

MODELS_V1 = """
from sqlalchemy import ForeignKey, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={"ix": "ix_%(table_name)s_%(column_0_name)s", "uq": "uq_%(table_name)s_%(column_0_name)s"}
    )


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    fullname: Mapped[str | None] = mapped_column(Text)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(Text)
"""


def project(cli, version: str, models: str) -> Path:  # type: ignore[no-untyped-def]
    root: Path = cli.project
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "blog"\nversion = "{version}"\n\n[tool.schemasync]\nmodels = "blogmodels:Base"\n'
    )
    (root / "blogmodels.py").write_text(textwrap.dedent(models))
    return root


def v2(models: str = MODELS_V1) -> str:
    """fullname renamed to display_name (undeclared), a new table, a dropped column when pruning."""
    return (
        models.replace(
            "fullname: Mapped[str | None] = mapped_column(Text)",
            "display_name: Mapped[str | None] = mapped_column(Text)",
        )
        + """

class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
"""
    )


def assert_clean(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output, result.output


def test_check_diff_sync_round(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)

    check = cli("check", env=env)
    assert check.code == 2 and "Found 2 new tables: users, posts" in check.stdout

    diff = cli("diff", env=env)
    assert diff.code == 0 and "Found 2 new tables: users, posts" in diff.stdout
    assert "statements to run" in diff.stdout
    as_json = json.loads(cli("diff", "--json", env=env).stdout)
    assert as_json["in_sync"] is False and {c["change"] for c in as_json["changes"]} == {"CreateTable", "AddForeignKey"}
    assert as_json["plan"]["statements"][0]["transactional"] is True
    as_sql = cli("diff", "--sql", env=env).stdout
    assert as_sql.startswith("BEGIN;\nCREATE TABLE") and as_sql.rstrip().endswith("COMMIT;")
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0  # diff wrote nothing

    applied = cli("sync", "--yes", env=env)
    assert applied.code == 0, applied.output
    assert "Applied" in applied.stdout and "version 1.0.0 recorded" in applied.stdout
    assert "Created the schema_versions table (it was missing)." in applied.output  # the automatic recovery
    assert pg.execute("SELECT schema_version, status FROM schema_versions") == [("1.0.0", "applied")]

    again = cli("sync", "--yes", env=env)
    assert again.code == 0 and "Nothing to do" in again.stdout
    assert json.loads(cli("check", "--json", env=env).stdout)["in_sync"] is True
    for result in (check, diff, applied, again):
        assert_clean(result)


def test_version_behind_with_no_changes_is_recorded_and_downgrade_refused(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    project(cli, "1.1.0", MODELS_V1)
    recorded = cli("sync", "--yes", env=env)
    assert recorded.code == 0 and "recorded version 1.1.0" in recorded.stdout
    assert pg.execute("SELECT schema_version, status FROM schema_versions ORDER BY id") == [
        ("1.0.0", "applied"),
        ("1.1.0", "recorded"),
    ]
    project(cli, "0.9.0", MODELS_V1)
    downgrade = cli("sync", "--yes", env=env)
    assert downgrade.code == 3 and "ahead of the app" in downgrade.output and "--allow-downgrade" in downgrade.output
    assert cli("sync", "--yes", "--allow-downgrade", env=env).code == 0
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 3


def test_no_terminal_and_no_yes_fails_clearly_without_changing_anything(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    result = cli("sync", env=env, timeout=60)
    assert result.code == 3
    assert "no terminal to ask for confirmation" in result.stderr and "--yes" in result.stderr
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    assert_clean(result)


def test_destructive_plans_need_explicit_consent_and_take_a_backup_first(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    root = project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    pg.execute("INSERT INTO users (email, fullname) VALUES ('a@x', 'Ada'), ('b@x', 'Bob')")
    project(cli, "1.1.0", v2())

    kept = cli("sync", "--yes", env=env)  # without prune, fullname is left alone
    assert kept.code == 0, kept.output
    assert "Left alone" in kept.stdout and "column public.users.fullname" in kept.stdout
    assert "Possible rename (not applied): column public.users.fullname -> display_name" in kept.stdout

    refused = cli("sync", "--yes", "--prune", env=env)
    assert refused.code == 3 and "deletes data" in refused.stderr and "--allow-destructive" in refused.stderr
    assert "drops column users.fullname and its values in 2 rows" in refused.output
    assert pg.scalar("SELECT count(*) FROM users WHERE fullname IS NOT NULL") == 2

    pruned = cli("sync", "--yes", "--prune", "--allow-destructive", env=env)
    assert pruned.code == 0, pruned.output
    assert "Backing up" in pruned.stderr and "schemasync restore" in pruned.stderr
    (dump,) = (root / "backups").glob("*.dump")
    assert pg.scalar("SELECT backup_uri FROM schema_versions ORDER BY id DESC LIMIT 1") == str(dump)
    assert pg.scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'fullname'") == 0

    project(cli, "1.2.0", v2().split("class Tag(Base):")[0])  # drop the tags table
    pushed = cli("push", "--force", "--prune", "--no-backup", env=env)
    assert pushed.code == 0, pushed.output
    assert "warning: push --force applies every change without asking" in pushed.stderr
    assert "Backing up" not in pushed.stderr and len(list((root / "backups").glob("*.dump"))) == 1
    assert pg.scalar("SELECT to_regclass('public.tags')") is None


def test_declared_rename_on_the_command_line_keeps_the_data(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    pg.execute("INSERT INTO users (email, fullname) VALUES ('a@x', 'Ada')")
    project(cli, "1.1.0", v2())
    bad = cli("sync", "--yes", "--rename", "nosuch.fullname=display_name", env=env)
    assert bad.code == 1 and "no table or schema called 'nosuch'" in bad.stderr
    renamed = cli("sync", "--yes", "--prune", "--rename", "users.fullname=display_name", env=env)
    assert renamed.code == 0, renamed.output
    assert "Found 1 renamed column: users.fullname -> display_name" in renamed.stdout
    assert pg.execute("SELECT display_name FROM users") == [("Ada",)]


def test_data_that_would_fail_the_plan_is_counted_and_refused(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    pg.execute("INSERT INTO users (email) VALUES ('a@x'), ('b@x')")
    project(cli, "1.1.0", MODELS_V1.replace("fullname: Mapped[str | None]", "fullname: Mapped[str]"))
    result = cli("sync", "--yes", env=env)
    assert result.code == 3
    assert "users has 2 rows with NULL in fullname" in result.stderr and "Nothing was changed" in result.stderr
    assert "TRUNCATE" not in result.output
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 1


def test_refusals_carry_their_policy_code_in_the_message_and_in_diff_json(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """The plan both fails on the data (SS103, nothing lets it through) and deletes data (SS104, needs a yes):
    `diff --json` lists both by code, and `sync` refuses with the code first in its error."""
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    pg.execute("INSERT INTO users (email) VALUES ('a@x'), ('b@x')")
    pg.execute("ALTER TABLE users ADD COLUMN legacy text DEFAULT 'kept'")
    project(cli, "1.1.0", MODELS_V1.replace("fullname: Mapped[str | None]", "fullname: Mapped[str]"))

    planned = json.loads(cli("diff", "--json", "--prune", env=env).stdout)["policy"]
    assert [(p["code"], p["rule"], p["permissible"]) for p in planned] == [
        ("SS103", "fails-on-data", False),
        ("SS104", "deletes-unreviewed", True),
    ]
    assert planned[0]["facts"][0].startswith("users has 2 rows with NULL in fullname")
    assert planned[1]["facts"] == ["drops column users.legacy and its values in 2 rows"]
    assert json.loads(cli("diff", "--json", env=env).stdout)["policy"][0]["code"] == "SS103"  # no prune: no drop

    fails = cli("sync", "--yes", "--prune", "--allow-destructive", env=env)
    assert fails.code == 3 and "Error: [SS103] The plan would fail on the data as it is" in fails.stderr

    pg.execute("UPDATE users SET fullname = email")
    unreviewed = cli("sync", "--yes", "--prune", env=env)
    assert unreviewed.code == 3 and "Error: [SS104] The plan deletes data" in unreviewed.stderr
    no_terminal = cli("sync", "--prune", "--allow-destructive", env=env, timeout=60)
    assert no_terminal.code == 3 and "Error: [SS105] There is no terminal" in no_terminal.stderr
    assert "legacy" in [r[0] for r in pg.execute("SELECT column_name FROM information_schema.columns")]
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 1
    for result in (fails, unreviewed, no_terminal):
        assert_clean(result)

    applied = cli("sync", "--yes", "--prune", "--allow-destructive", "--no-backup", env=env)
    assert applied.code == 0, applied.output
    assert json.loads(cli("diff", "--json", env=env).stdout)["policy"] == []


def test_versioned_sync_needs_the_same_yes_for_model_errors_as_a_planned_sync(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """Stricter wins: the production flow refused versioned deploys of models PostgreSQL cannot create whole
    (`steps.check_models`) while versioned `sync` ran the migrations anyway. Now both refuse with SS102."""
    env = {"DATABASE_URL": pg.url}
    broken = MODELS_V1.replace("from sqlalchemy import ForeignKey,", "from sqlalchemy import ForeignKey, Index,")
    root = project(cli, "1.0.0", broken + '\nIndex("ix_users_email_words", User.email, postgresql_using="gin")\n')
    subprocess.run([sys.executable, "-m", "alembic", "init", "migrations"], cwd=root, check=True, capture_output=True)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'alembic-ini = "alembic.ini"\n')

    refused = cli("sync", "--yes", env=env)
    assert refused.code == 3, refused.output
    assert "Error: [SS102] The models have 1 declared object PostgreSQL cannot create" in refused.stderr
    assert "--allow-model-errors" in refused.stderr and "ix_users_email_words" in refused.output
    assert pg.scalar("SELECT to_regclass('public.schema_versions')") is None, "nothing was recorded"
    assert_clean(refused)

    allowed = cli("sync", "--yes", "--allow-model-errors", env=env)
    assert "[SS102]" not in allowed.output and "Residual drift" in allowed.stdout, allowed.output


@pytest.mark.reliability
def test_two_syncs_at_once_one_applies_the_other_finds_nothing_to_do(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": pg.url, "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("SCHEMASYNC_")}
    root = project(cli, "1.0.0", MODELS_V1)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "schemasync", "sync", "--yes"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], outputs
    texts = [o[0] + o[1] for o in outputs]
    assert sum("Applied" in t for t in texts) == 1
    assert sum("Nothing to do" in t for t in texts) == 1
    assert pg.execute("SELECT status FROM schema_versions") == [("applied",)]
    assert cli("check", env={"DATABASE_URL": pg.url}).code == 0


def test_a_sync_that_cannot_get_the_change_lock_in_time_changes_nothing(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    from schemasync.db import LOCK_CLASS_ID, LOCK_OBJECT_ID

    project(cli, "1.0.0", MODELS_V1)
    with pg.connect() as holder:  # another run, still busy
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID))
        started = time.monotonic()
        result = cli("sync", "--yes", env={"DATABASE_URL": pg.url, "SCHEMASYNC_ADVISORY_LOCK_TIMEOUT": "2s"})
        waited = time.monotonic() - started
    assert result.code == 1, result.output
    assert "waiting for another schemasync run" in result.stderr
    assert "holds the change lock" in result.stderr and "did not finish within 2s; nothing was changed" in result.stderr
    assert "SCHEMASYNC_ADVISORY_LOCK_TIMEOUT" in result.stderr
    assert_clean(result)
    assert waited >= 2
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0


def run_in_terminal(
    root: Path, args: list[str], env: dict[str, str], answers: str, timeout: float = 90
) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout, typing `answers` as the prompts come."""
    master, slave = os.openpty()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMASYNC_")}
    full_env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", **env})
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemasync", *args], cwd=root, env=full_env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    output = b""
    pending = [a + "\n" for a in answers.splitlines()] if answers else []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if pending and output.rstrip().endswith(b"(y/N)"):
                os.write(master, pending.pop(0).encode())
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, output.decode(errors="replace")


def test_interactive_prompt_no_then_yes(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    root = project(cli, "1.0.0", MODELS_V1)
    code, output = run_in_terminal(root, ["sync"], env, "n")
    assert code == 3, output
    assert "Apply schema changes to database? (y/N)" in output and "nothing was changed" in output
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    code, output = run_in_terminal(root, ["sync"], env, "y")
    assert code == 0 and "Applied" in output, output
    assert "Traceback" not in output


def test_interactive_rename_suggestion_keeps_the_data(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    root = project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    pg.execute("INSERT INTO users (email, fullname) VALUES ('a@x', 'Ada')")
    project(cli, "1.1.0", v2())
    code, output = run_in_terminal(root, ["sync", "--prune"], env, "y\ny")
    assert code == 0, output
    assert "Is column public.users.fullname -> display_name a rename?" in output
    assert pg.execute("SELECT display_name FROM users") == [("Ada",)]


def test_missing_models_setting_is_explained(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.0.0"\n')
    result = cli("sync", "--yes", env={"DATABASE_URL": pg.url})
    assert result.code == 1 and "No models are configured" in result.stderr, result.output
    assert_clean(result)


@pytest.mark.parametrize("flag", ["--concurrent-indexes", "--online"])
def test_concurrent_indexes_flag(cli, pg: TestDB, flag: str) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    project(
        cli,
        "1.1.0",
        MODELS_V1.replace(
            "title: Mapped[str] = mapped_column(Text)", "title: Mapped[str] = mapped_column(Text, index=True)"
        ),
    )
    diff = cli("diff", "--sql", flag, env=env)
    sql = diff.stdout
    assert diff.code == 0, diff.output
    assert "CREATE INDEX CONCURRENTLY" in sql and sql.rstrip().endswith("(title);")
    result = cli("sync", "--yes", flag, env=env)
    assert result.code == 0, result.output
    assert "After the transaction commits:" in result.stdout
    assert pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_posts_title'::regclass") is True
    if flag == "--online":  # the summary names what ran outside the transaction
        assert "1 step ran outside the transaction:" in result.stdout and "CREATE INDEX CONCURRENTLY" in result.stdout


def test_status_says_whether_the_schema_matches_the_models(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "1.0.0", MODELS_V1)
    before = json.loads(cli("status", "--json", env=env).stdout)["schema"]
    assert before["in_sync"] is False and before["changes"] == 3 and before["error"] is None
    assert cli("sync", "--yes", env=env).code == 0
    human = cli("status", env=env)
    assert human.code == 0 and "matches the models" in human.stdout
    assert json.loads(cli("status", "--json", "--quick", env=env).stdout)["schema"] is None


@pytest.fixture
def example_project(cli):  # type: ignore[no-untyped-def]
    """The example app copied into the test's project directory; its embedded server stopped afterwards."""
    import shutil
    import warnings

    from tests.conftest import EXAMPLES

    root: Path = cli.project
    shutil.copytree(EXAMPLES / "app", root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".schemasync", "backups"))
    yield root
    pgdata = root / ".schemasync" / "pgdata"
    if (pgdata / "PG_VERSION").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver  # type: ignore[import-untyped]

            pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()


def test_the_main_job_syncs_the_example_app_on_the_embedded_default(cli, example_project: Path) -> None:  # type: ignore[no-untyped-def]
    first = cli("sync", "--yes", timeout=300)
    assert first.code == 0, first.output
    assert "Found 4 new tables" in first.stdout and "version 1.0.0 recorded" in first.stdout
    second = cli("sync", "--yes")
    assert second.code == 0 and "Nothing to do" in second.stdout
    report = json.loads(cli("status", "--json").stdout)
    assert report["database_version"] == "1.0.0" and report["schema"]["in_sync"] is True
    assert report["server_version"].startswith("16") and report["tables"] == 4


def test_sync_uploads_its_backup_when_a_bucket_is_configured_and_stops_if_it_cannot(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server, s3_bucket: str
) -> None:
    project(cli, "1.0.0", MODELS_V1)
    assert cli("sync", "--yes", env={"DATABASE_URL": pg.url}).code == 0
    pg.execute("INSERT INTO users (email, fullname) VALUES ('a@x', 'Ada')")
    project(cli, "1.1.0", v2())

    unreachable = {
        **s3_server.env(s3_bucket),
        "SCHEMASYNC_S3_ENDPOINT_URL": "http://127.0.0.1:1",
        "DATABASE_URL": pg.url,
    }
    stopped = cli("sync", "--yes", "--prune", "--allow-destructive", env=unreachable)
    assert stopped.code != 0 and "Traceback" not in stopped.output
    assert pg.scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'fullname'") == 1  # untouched
    assert pg.scalar("SELECT count(*) FROM schema_versions WHERE schema_version = '1.1.0'") == 0

    env = {**s3_server.env(s3_bucket), "DATABASE_URL": pg.url}
    synced = cli("sync", "--yes", "--prune", "--allow-destructive", env=env)
    assert synced.code == 0, synced.output
    assert "kept on this machine only" not in synced.stderr
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert any(k.endswith(".dump") for k in keys) and any(k.endswith(".json") for k in keys), keys
    uri = pg.scalar("SELECT backup_uri FROM schema_versions ORDER BY id DESC LIMIT 1")
    assert str(uri).startswith(f"s3://{s3_bucket}/"), uri
