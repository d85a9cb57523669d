"""`generate` (Alembic revisions from the plan) and versioned mode (`sync` runs alembic upgrade head)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemasync import db, versioned
from schemasync.config import load_settings
from schemasync.history import comparison
from schemasync.history.snapshots import without_own_tables
from schemasync.schema.inspect import inspect
from tests.conftest import TestDB
from tests.engine.sync_helpers import sync
from tests.history.helpers import MODELS_V1, MODELS_V2, MODELS_V3, metadata_of, write_project

ALEMBIC = 'alembic-ini = "alembic.ini"\n'


def alembic_project(root: Path) -> None:
    """`alembic init migrations`, as an app would have it; env.py reads sqlalchemy.url from the ini."""
    subprocess.run([sys.executable, "-m", "alembic", "init", "migrations"], cwd=root, check=True, capture_output=True)


def alembic(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    ini = root / "alembic.ini"
    text = ini.read_text()
    lines = [
        f"sqlalchemy.url = {url.replace('postgresql://', 'postgresql+psycopg://')}"
        if line.startswith("sqlalchemy.url")
        else line
        for line in text.splitlines()
    ]
    ini.write_text("\n".join(lines) + "\n")
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=root, capture_output=True, text=True, check=False
    )


def schema_of(pg: TestDB):  # type: ignore[no-untyped-def]
    with pg.connect() as conn:
        return without_own_tables(inspect(conn))


def same(a, b) -> list[str]:  # type: ignore[no-untyped-def]
    result = comparison.compare(comparison.Side("a", "file", "a", a), comparison.Side("b", "file", "b", b))
    return [item.text for group in result.groups for item in group.items]


def test_generate_upgrade_check_downgrade_round_trip(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    root: Path = cli.project
    env = {"DATABASE_URL": pg.url}
    sync(pg, metadata_of(MODELS_V1), version="1.0.0")
    alembic_project(root)
    write_project(root, "1.1.0", MODELS_V2, ALEMBIC)
    at_v1 = schema_of(pg)

    first = cli("generate", "-m", "tags and bios", env=env)
    assert first.code == 0, first.output
    [script] = (root / "migrations" / "versions").glob("*tags_and_bios.py")
    text = script.read_text()
    assert "down_revision: Union[str, Sequence[str], None] = None" in text
    assert "op.create_table('tags'" in text and "sa.Column('name', sa.String(length=40), nullable=False)" in text
    assert (
        "op.add_column('users', sa.Column('bio', sa.Text(), server_default=sa.text(\"''::text\"), nullable=False))"
        in text
    )
    assert "op.drop_table('tags')" in text and "op.drop_column('users', 'bio')" in text  # the downgrade
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'tags'") == 0  # generate wrote no DDL

    upgraded = alembic(root, pg.url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    check = cli("check", env=env)
    assert check.code == 0, check.output
    at_v2 = schema_of(pg)
    assert alembic(root, pg.url, "downgrade", "-1").returncode == 0
    assert same(at_v1, schema_of(pg)) == []  # the previous schema, exactly
    assert alembic(root, pg.url, "upgrade", "head").returncode == 0

    # 1.2.0 drops posts.body: chained on the first revision, and the downgrade says what it cannot restore
    write_project(root, "1.2.0", MODELS_V3, ALEMBIC)
    second = cli("generate", "-m", "drop body", "--prune", "--json", env=env)
    assert second.code == 0, second.output
    [script2] = (root / "migrations" / "versions").glob("*drop_body.py")
    text2 = script2.read_text()
    first_id = text.split("revision: str = '")[1].split("'")[0]
    assert f"down_revision: Union[str, Sequence[str], None] = '{first_id}'" in text2
    assert "# NOT FULLY REVERSIBLE" in text2 and "posts.body" in text2.split("def downgrade")[1]
    assert (
        "op.drop_column('posts', 'body')" in text2 and "op.create_index('ix_users_email', 'users', ['email']" in text2
    )
    assert alembic(root, pg.url, "upgrade", "head").returncode == 0
    assert cli("check", env=env).code == 0
    assert alembic(root, pg.url, "downgrade", "-1").returncode == 0
    assert same(at_v2, schema_of(pg)) == []

    nothing = cli("generate", "-m", "again", env=env)  # the database is behind the head: refused
    assert nothing.code == 3 and "not at the head" in nothing.stderr
    assert alembic(root, pg.url, "upgrade", "head").returncode == 0
    clean = cli("generate", "-m", "again", env=env)
    assert clean.code == 0 and "Nothing to generate" in clean.stdout


def test_generate_into_a_configured_versions_directory(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """Two version_locations in alembic.ini: --version-path picks one; without it, or with another, a clear error."""
    root: Path = cli.project
    env = {"DATABASE_URL": pg.url}
    alembic_project(root)
    (root / "migrations" / "team").mkdir()
    ini = root / "alembic.ini"
    ini.write_text(
        ini.read_text().replace(
            "[alembic]\n", "[alembic]\nversion_locations = %(here)s/migrations/versions:%(here)s/migrations/team\n", 1
        )
    )
    write_project(root, "1.0.0", MODELS_V1, ALEMBIC)

    ambiguous = cli("generate", "-m", "initial", env=env)
    assert ambiguous.code == 1 and "Alembic could not write the revision" in ambiguous.stderr, ambiguous.output
    assert "--version-path" in ambiguous.stderr
    elsewhere = cli("generate", "-m", "initial", "--version-path", "somewhere/else", env=env)
    assert elsewhere.code == 1 and "not represented in current version locations" in elsewhere.stderr
    for result in (ambiguous, elsewhere):
        assert "Traceback" not in result.output
    assert list((root / "migrations").rglob("*initial.py")) == []

    written = cli("generate", "-m", "initial", "--version-path", "migrations/team", "--json", env=env)
    assert written.code == 0, written.output
    [script] = (root / "migrations").rglob("*initial.py")
    assert script.parent == root / "migrations" / "team" and "op.create_table('users'" in script.read_text()
    assert alembic(root, pg.url, "upgrade", "head").returncode == 0
    assert cli("check", env=env).code == 0


def test_generate_renders_what_op_cannot_say_as_planned_sql(pg: TestDB, tmp_path: Path) -> None:
    """A new enum label (committed on its own), and its downgrade (recreating the type): exact SQL."""
    models = """
import enum
from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class Mood(enum.Enum):
    happy = "happy"
    sad = "sad"

class Person(Base):
    __tablename__ = "people"
    name: Mapped[str] = mapped_column(primary_key=True)
    mood: Mapped[Mood] = mapped_column(Enum(Mood, name="mood"))
"""
    sync(pg, metadata_of(models), version="1.0.0")
    before = schema_of(pg)
    changed = models.replace('    sad = "sad"\n', '    sad = "sad"\n    meh = "meh"\n')
    write_project(tmp_path, "1.1.0", changed, ALEMBIC)
    alembic_project(tmp_path)
    settings = load_settings({"database_url": pg.url, "project_dir": str(tmp_path)}, environ={}).settings
    from schemasync.migrations.generate import generate

    with pg.connect() as conn:
        written = generate(conn, settings, "meh")
    assert written is not None
    text = written.path.read_text()
    assert (
        "with op.get_context().autocommit_block():\n        op.execute('ALTER TYPE" in text
        and "ADD VALUE IF NOT EXISTS" in text
    )
    assert alembic(tmp_path, pg.url, "upgrade", "head").returncode == 0
    assert pg.scalar("SELECT enum_range(NULL::mood)::text") == "{happy,sad,meh}"
    down = alembic(tmp_path, pg.url, "downgrade", "-1")
    assert down.returncode == 0, down.stderr
    assert same(before, schema_of(pg)) == []


def test_generate_without_alembic_config_is_a_clear_error(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    write_project(cli.project, "1.0.0", MODELS_V1)
    result = cli("generate", "-m", "x", env={"DATABASE_URL": pg.url})
    assert result.code == 1 and "No Alembic configuration is set" in result.stderr and "alembic-ini" in result.stderr
    write_project(cli.project, "1.0.0", MODELS_V1, 'alembic-ini = "missing.ini"\n')
    missing = cli("generate", "-m", "x", env={"DATABASE_URL": pg.url})
    assert missing.code == 1 and "does not exist" in missing.stderr
    for r in (result, missing):
        assert "Traceback" not in r.output


def test_versioned_sync_runs_migrations_and_reports_residual_drift(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    root: Path = cli.project
    env = {"DATABASE_URL": pg.url}
    alembic_project(root)
    write_project(root, "1.0.0", MODELS_V1, ALEMBIC)
    assert cli("generate", "-m", "initial", env=env).code == 0  # from an empty database
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0

    # the ini's URL points nowhere: schemasync hands env.py the database it resolved
    applied = cli("sync", "--yes", env=env)
    assert applied.code == 0, applied.output
    assert "Applied 1 revision(s)" in applied.stdout
    head = pg.scalar("SELECT version_num FROM alembic_version")
    rows = pg.execute("SELECT schema_version, status, migration_file, changes, backup_uri FROM schema_versions")
    [dump] = (root / "backups").glob("*.dump")  # migrations are opaque: backed up before running them
    assert rows == [("1.0.0", "applied", head, 1, str(dump))]
    assert pg.scalar("SELECT count(*) FROM schema_snapshots WHERE version_id IS NOT NULL") == 1

    # the models move on without a revision: the migrations leave residual drift, reported and recorded
    write_project(root, "1.1.0", MODELS_V2, ALEMBIC)
    drift = cli("sync", "--yes", "--no-backup", env=env)
    assert drift.code == 2, drift.output
    assert "Residual drift" in drift.stdout and "tags" in drift.stdout
    notes = pg.scalar("SELECT notes FROM schema_versions ORDER BY id DESC LIMIT 1")
    assert "Residual drift" in str(notes) and "tags" in str(notes)

    # the flow's path: the engine function with the state an approver saw, and require_clean failing it
    settings = load_settings({"database_url": pg.url, "project_dir": str(root)}, environ={}).settings
    target = db.parse_url(pg.url, "test")
    with pg.connect() as conn:
        seen = versioned.status(conn, settings)
        assert seen.up_to_date and seen.current == (head,)
        result = versioned.upgrade(conn, target, settings, record=None, expect=seen)
    assert not result.clean and any("tags" in line for line in result.residual)
    with pytest.raises(versioned.ResidualDrift):
        versioned.require_clean(result)

    assert cli("sync", "--yes", "--prune", env=env).code == 1  # planned-sync flags make no sense here
    stale = versioned.State(("0000",), seen.heads, ())
    with pg.connect() as conn, pytest.raises(versioned.StaleMigrations):
        versioned.upgrade(conn, target, settings, record=None, expect=stale)


def test_versioned_sync_failing_migration_changes_nothing(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    root: Path = cli.project
    env = {"DATABASE_URL": pg.url}
    alembic_project(root)
    write_project(root, "1.0.0", MODELS_V1, ALEMBIC)
    assert cli("generate", "-m", "initial", env=env).code == 0
    [script] = (root / "migrations" / "versions").glob("*initial.py")
    script.write_text(
        script.read_text().replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    op.execute('SELECT 1/0')\n")
    )
    failed = cli("sync", "--yes", "--no-backup", env=env)
    assert failed.code == 1 and "alembic upgrade head failed" in failed.stderr and "division by zero" in failed.stderr
    assert "Traceback" not in failed.output
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0  # rolled back
    assert pg.scalar("SELECT to_regclass('public.schema_versions')") is None  # nothing recorded either


def test_downgrade_leaves_alone_what_the_upgrade_left_alone(pg: TestDB, tmp_path: Path) -> None:
    """Objects the models do not have (prune off) are neither dropped by the upgrade nor touched by the downgrade."""
    from schemasync import engine
    from schemasync.diff import changes as c
    from schemasync.migrations.generate import downgrade_diff
    from tests.engine.sync_helpers import models as models_of
    from tests.engine.sync_helpers import settings_for

    sync(pg, metadata_of(MODELS_V1), version="1.0.0")
    pg.execute(
        "CREATE TABLE audit (id int PRIMARY KEY); ALTER TABLE users ADD COLUMN nickname text; CREATE INDEX users_nick ON users (nickname)"
    )
    settings = settings_for(pg, tmp_path)
    with pg.connect() as conn:
        prepared = engine.prepare(conn, settings, models=models_of(pg, metadata_of(MODELS_V2)), measure=False)
    after, back = downgrade_diff(prepared.current, prepared.desired, prepared.diff, prepared.options)
    assert {t.name for t in after.tables} >= {"audit", "users", "tags"}
    assert after.table("public", "users").column("nickname") is not None  # type: ignore[union-attr]
    kinds = sorted(type(x).__name__ for x in back.changes)
    assert kinds == ["DropColumn", "DropTable"], kinds  # tags and users.bio, nothing else
    assert {x.name for x in back.changes if isinstance(x, c.DropTable)} == {"tags"}


def test_versioned_sync_never_shows_the_password(cli, password_pg) -> None:  # type: ignore[no-untyped-def]
    import uuid

    import psycopg

    name = f"sstest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(password_pg.url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        root: Path = cli.project
        env = {"DATABASE_URL": password_pg.url(name)}
        alembic_project(root)
        write_project(root, "1.0.0", MODELS_V1, ALEMBIC)
        assert cli("generate", "-m", "initial", env=env).code == 0
        [script] = (root / "migrations" / "versions").glob("*initial.py")
        good = script.read_text()
        script.write_text(
            good.replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    op.execute('SELEC 1')\n")
        )
        failed = cli("sync", "--yes", "--no-backup", "--debug", env=env)
        assert failed.code == 1 and "syntax error" in failed.output
        script.write_text(good)
        applied = cli("sync", "--yes", "--no-backup", "--debug", env=env)
        assert applied.code == 0, applied.output
        for result in (failed, applied):
            assert password_pg.password not in result.output
    finally:
        with psycopg.connect(password_pg.url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_other_schemas_round_trip_through_generate_alembic_and_introspect(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    from tests.history.helpers import MODELS_INVENTORY

    root: Path = cli.project
    env = {"DATABASE_URL": pg.url}
    alembic_project(root)
    write_project(root, "1.0.0", MODELS_INVENTORY, ALEMBIC)
    written = cli("generate", "-m", "inventory", env=env)
    assert written.code == 0, written.output
    [script] = (root / "migrations" / "versions").glob("*inventory.py")
    text = script.read_text()
    assert "op.execute('CREATE SCHEMA \"inventory\"')" in text and "schema='inventory'" in text
    assert "postgresql_nulls_not_distinct=True" in text and "postgresql_using='gin'" in text
    assert alembic(root, pg.url, "upgrade", "head").returncode == 0
    assert cli("check", env=env).code == 0

    models = cli("introspect", "--schema", "public", "--schema", "inventory", "--output", "generated.py", env=env)
    assert models.code == 0, models.output
    check = cli("check", "--models", "generated:Base", env=env)
    assert check.code == 0, check.output + (root / "generated.py").read_text()

    assert alembic(root, pg.url, "downgrade", "-1").returncode == 0
    assert pg.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'inventory'") == 0
    assert (
        pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'") == 0
    )


def test_declared_renames_become_renames_both_ways(pg: TestDB, tmp_path: Path) -> None:
    """A table and a column renamed with info={"renamed_from": ...}: kept data up, renamed back down."""
    from schemasync.migrations.generate import generate

    sync(pg, metadata_of(MODELS_V1), version="1.0.0")
    pg.execute("INSERT INTO users (email) VALUES ('a@example.com')")
    before = schema_of(pg)
    renamed = MODELS_V1.replace(
        '__tablename__ = "posts"',
        '__tablename__ = "articles"\n    __table_args__ = {"info": {"renamed_from": "posts"}}',
    ).replace(
        "email: Mapped[str] = mapped_column(String(200))",
        'address: Mapped[str] = mapped_column(String(200), info={"renamed_from": "email"})',
    )
    write_project(tmp_path, "1.1.0", renamed, ALEMBIC)
    alembic_project(tmp_path)
    settings = load_settings({"database_url": pg.url, "project_dir": str(tmp_path)}, environ={}).settings
    with pg.connect() as conn:
        written = generate(conn, settings, "renames")
    assert written is not None
    text = written.path.read_text()
    upgrade, downgrade = text.split("def downgrade")
    assert "op.rename_table('posts', 'articles')" in upgrade and "new_column_name='address'" in upgrade
    assert "op.rename_table('articles', 'posts')" in downgrade and "new_column_name='email'" in downgrade
    assert "drop_table" not in text and "drop_column" not in text
    assert alembic(tmp_path, pg.url, "upgrade", "head").returncode == 0
    assert pg.scalar("SELECT address FROM users") == "a@example.com"
    assert alembic(tmp_path, pg.url, "downgrade", "-1").returncode == 0
    assert same(before, schema_of(pg)) == []
    assert pg.scalar("SELECT email FROM users") == "a@example.com"


def test_generate_writes_functions_triggers_and_policies_as_planned_sql(pg: TestDB, tmp_path: Path) -> None:
    """Issue 17's kinds have no `op` of their own: the revision runs the planner's SQL, both ways."""
    models = """
from sqlalchemy import DDL, Column, DateTime, Integer, Table, Text, event
from sqlalchemy.orm import DeclarativeBase

class Base(DeclarativeBase):
    pass

notes = Table("notes", Base.metadata, Column("id", Integer, primary_key=True), Column("owner", Text),
              Column("at", DateTime))
"""
    sync(pg, metadata_of(models), version="1.0.0")
    before = schema_of(pg)
    changed = (
        models
        + """
for ddl in (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$",
    "CREATE TRIGGER notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION touch()",
    "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY own ON notes FOR SELECT USING (owner = current_user)",
):
    event.listen(Base.metadata, "after_create", DDL(ddl))
"""
    )
    write_project(tmp_path, "1.1.0", changed, ALEMBIC)
    alembic_project(tmp_path)
    settings = load_settings({"database_url": pg.url, "project_dir": str(tmp_path)}, environ={}).settings
    from schemasync.migrations.generate import generate

    with pg.connect() as conn:
        written = generate(conn, settings, "routines")
    assert written is not None
    text = written.path.read_text()
    assert "CREATE OR REPLACE FUNCTION public.touch()" in text and "CREATE TRIGGER notes_touch" in text
    up = alembic(tmp_path, pg.url, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert pg.scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'notes_touch'") == 1
    assert pg.scalar("SELECT relrowsecurity FROM pg_class WHERE relname = 'notes'") is True
    down = alembic(tmp_path, pg.url, "downgrade", "-1")
    assert down.returncode == 0, down.stderr
    assert same(before, schema_of(pg)) == []
