"""What the models declare but cannot be compared: model text that tries to escape, objects PostgreSQL
refuses (model errors), declarations schemasync does not manage (unmanaged-declared), long convention names."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, event

from schemasync.schema.scratch import first_keyword
from schemasync.schema.target import desired
from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import scratch_schemas

ESCAPE = "0, PRIMARY KEY (id)); COMMIT; DROP TABLE public.victim; CREATE TABLE public.pwned(id int"


def _relations(pg: TestDB) -> list[str]:
    return [
        r[0]
        for r in pg.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"
        )
    ]


# -- issue 13.5: model text never escapes the rolled-back transaction -----------------------------


@dataclass(frozen=True)
class Owner:
    """A role that owns `victim` (so the hostile text, run as it, really could drop it)."""

    name: str

    def url(self, dbname: str) -> str:
        return url_for(dbname).replace("postgres@", f"{self.name}@")


def _victim(db: TestDB, role: str) -> None:
    """`victim` with a row in `db`, owned by `role`, in a public schema `role` owns (as an app's owner role has it)."""
    db.execute(f'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "{db.name}" TO {role}')
    db.execute(f"ALTER SCHEMA public OWNER TO {role}")
    db.execute("CREATE TABLE victim (id int); INSERT INTO victim VALUES (1)")
    db.execute(f"ALTER TABLE victim OWNER TO {role}")
    with psycopg.connect(Owner(role).url(db.name)) as conn:  # the test's premise: this role may drop it
        conn.execute("DROP TABLE public.victim")
        conn.rollback()


@pytest.fixture
def owner(pg: TestDB) -> Iterator[Owner]:
    """The owner of the target's tables, neither superuser nor CREATEDB: with no dev-url set (and the embedded
    server of another major version, or absent), a look as it materialises the models in scratch schemas
    of the target itself (`schema/devdb.py`), in the very session that could drop `victim`."""
    role = f"ss_victim_owner_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    try:
        _victim(pg, role)
        yield Owner(role)
    finally:
        pg.execute(f"REASSIGN OWNED BY {role} TO postgres")
        pg.execute(f"DROP OWNED BY {role}")
        pg.execute(f"DROP ROLE {role}")


def test_model_text_with_a_commit_leaves_the_database_untouched(pg: TestDB, owner: Owner) -> None:
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True), Column("x", Integer, server_default=sa.text(ESCAPE)))
    Table("fine", md, Column("id", Integer, primary_key=True))
    with psycopg.connect(owner.url(pg.name)) as conn:  # scratch schemas in the target, as the victim's owner
        wanted = desired(conn, md, cache_dir=None)
    assert _relations(pg) == ["victim"] and pg.scalar("SELECT count(*) FROM victim") == 1
    assert scratch_schemas(pg) == []
    (error,) = wanted.model_errors
    assert error.what == "table public.t" and "more than one SQL statement" in error.reason
    assert "\n" not in error.describe()
    assert [t.name for t in wanted.tables] == ["fine"], "the rest of the models is still read"


@pytest.mark.parametrize(
    "text",
    [
        "COMMIT",
        "  end",
        "/* a /* nested */ comment */ COMMIT",
        "-- line\nROLLBACK",
        "SAVEPOINT x",
        "RELEASE SAVEPOINT x",
        "ROLLBACK TO SAVEPOINT x",
        "PREPARE TRANSACTION 'x'",
        "START TRANSACTION",
    ],
)
def test_transaction_control_in_a_ddl_event_is_refused_before_it_is_sent(pg: TestDB, text: str) -> None:
    pg.execute("CREATE TABLE victim (id int)")
    md = MetaData()
    Table("t", md, Column("id", Integer, primary_key=True))
    event.listen(md, "after_create", sa.DDL(text))
    event.listen(md, "after_create", sa.DDL("DROP TABLE public.victim"))
    event.listen(md, "after_create", sa.DDL("CREATE TABLE public.pwned (id int)"))
    with psycopg.connect(pg.url) as conn:
        conn.execute("INSERT INTO victim VALUES (1)")  # inside the caller's transaction: a savepoint is used
        wanted = desired(conn, md, cache_dir=None)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.commit()
    assert _relations(pg) == ["victim"] and pg.scalar("SELECT count(*) FROM victim") == 1
    assert any("transaction control" in e.reason for e in wanted.model_errors)


def test_first_keyword_sees_through_white_space_and_nested_comments() -> None:
    assert first_keyword("/* /* */ */ commit") == "COMMIT"
    assert first_keyword("--x\n\t/**/ Create TABLE t") == "CREATE"
    assert first_keyword("/* unterminated") == ""


@pytest.mark.parametrize("where", ["scratch", "dev-url"])
def test_diff_with_a_hostile_default_changes_nothing_even_with_the_victim_excluded(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, owner: Owner, where: str
) -> None:
    """Run as the victim's owner, on both paths the models' DDL takes: scratch schemas in the target itself,
    and a dev database (`dev-url`) holding a `victim` of its own that the same role owns."""
    env = {"DATABASE_URL": owner.url(pg.name)}
    dev: TestDB | None = None
    if where == "dev-url":
        dev = TestDB(name := make_database("sstest_dev"), url_for(name))
        _victim(dev, owner.name)
        env["SCHEMASYNC_DEV_URL"] = owner.url(dev.name)
    try:
        _project(
            cli,
            f"""
            import sqlalchemy as sa
            metadata = sa.MetaData()
            sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("x", sa.Integer, server_default=sa.text({ESCAPE!r})))
            """,
            extra='exclude-tables = ["victim"]\n',
        )
        status = cli("status", "--json", env=env)
        assert status.code == 0, status.output
        chosen = json.loads(status.stdout)["schema"]["dev_database"]
        expected = "rolled-back scratch schemas in the target" if dev is None else f"the dev database {owner.name}@"
        assert chosen.startswith(expected), chosen

        result = cli("diff", env=env)
        for db in (pg, dev) if dev is not None else (pg,):
            assert _relations(db) == ["victim"] and db.scalar("SELECT count(*) FROM victim") == 1, db.name
        assert "Traceback" not in result.output
        assert "Model error" in result.stdout and "table public.t" in result.stdout
    finally:
        if dev is not None:
            drop_database(dev.name)


def test_without_a_dev_database_no_model_statement_acts_on_live_objects(cli, pg: TestDB, owner: Owner) -> None:  # type: ignore[no-untyped-def]
    """A rollback undoes DDL, not a setval or a function's side effect: with the models materialised in the
    target itself, custom DDL that is not a plain definition is not run (and says so), and a materialized
    view's query is never executed, so the target's live sequence is exactly as it was after the look."""
    pg.execute(f"CREATE SEQUENCE live_seq; ALTER SEQUENCE live_seq OWNER TO {owner.name}")
    _project(
        cli,
        """
        import sqlalchemy as sa
        metadata = sa.MetaData()
        sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))
        sa.Table("u", metadata, sa.Column("id", sa.Integer, sa.Sequence("own_seq"), primary_key=True),
                 sa.Column("n", sa.Integer, server_default=sa.text("nextval('public.made_by_hand')")))
        sa.event.listen(metadata, "before_create", sa.DDL("CREATE SEQUENCE public.made_by_hand"))
        sa.event.listen(metadata, "after_create", sa.DDL("SELECT setval('public.live_seq', 1000)"))
        sa.event.listen(metadata, "after_create", sa.DDL(
            "CREATE MATERIALIZED VIEW counts AS SELECT nextval('public.live_seq') AS n, now() AS at WITH DATA"))
        """,
    )
    env = {"DATABASE_URL": owner.url(pg.name)}
    assert json.loads(cli("status", "--json", env=env).stdout)["schema"]["dev_database"].startswith(
        "rolled-back scratch schemas in the target"
    )
    check = cli("check", "--json", env=env)
    assert pg.execute("SELECT last_value, is_called FROM live_seq") == [(1, False)], "the look moved the sequence"
    assert check.code == 2 and "Traceback" not in check.output, check.output
    assert 'custom DDL "SELECT setval(' in check.stderr and "was not run" in check.stderr, check.stderr
    report = json.loads(check.stdout)
    assert report["in_sync"] is False and [u["kind"] for u in report["unmanaged_declared"]] == ["custom DDL"] * 2
    assert "CREATE SEQUENCE" not in check.stderr, "a definition runs: it acts on nothing live"
    assert not report.get("model_errors"), "the view (WITH NO DATA) and u (its sequence: only a definition) made"
    assert any("counts" in json.dumps(change) for change in report["changes"]), report["changes"]


def test_without_a_dev_database_a_managed_event_on_a_live_table_is_a_model_error_not_a_lock(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, owner: Owner
) -> None:
    """An index, trigger, policy, row-level security or grant DDL event on a table the models do not create
    would, in the target's scratch schemas, lock the live table (and an index would read all of it) for
    the whole look. It fails in a dev database (no such table), so here it is the same model error, and
    the live table is never locked: a writer holding it open does not block the look."""
    pg.execute(f"CREATE TABLE live (id int, x int); ALTER TABLE live OWNER TO {owner.name}")
    _project(
        cli,
        """
        import sqlalchemy as sa
        metadata = sa.MetaData()
        sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("x", sa.Integer))
        for text in ("CREATE INDEX ix_live_x ON public.live (x)", "CREATE INDEX ix_live_id ON live (id)",
                     "ALTER TABLE live ENABLE ROW LEVEL SECURITY",
                     "CREATE INDEX ix_t_x ON t (x)"):  # the last one is on the models' own table: it runs
            sa.event.listen(metadata, "after_create", sa.DDL(text))
        """,
        extra='exclude-tables = ["live"]\n',
    )
    env = {"DATABASE_URL": owner.url(pg.name), "SCHEMASYNC_LOCK_TIMEOUT": "2"}
    with psycopg.connect(pg.url) as writer:
        writer.execute("INSERT INTO live VALUES (1, 1)")  # holds ROW EXCLUSIVE until rolled back
        check = cli("check", "--json", env=env)
        writer.rollback()
    assert check.code == 2 and "Traceback" not in check.output, check.output
    report = json.loads(check.stdout)
    reasons = [e["reason"] for e in report["model_errors"]]
    assert len(reasons) == 3 and all("which the models do not create" in r for r in reasons), reasons
    assert sorted(r.split(",")[0].split()[3] for r in reasons) == ["live", "live", "public.live"], reasons
    assert any("ix_t_x" in json.dumps(change) for change in report["changes"]), "the models' own index event runs"
    assert pg.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'live'::regclass") == []
    assert scratch_schemas(pg) == []


# -- issue 14.5: every refused object reported, the rest compared ----------------------------------

BAD_MODELS = """
import sqlalchemy as sa
metadata = sa.MetaData()
docs = sa.Table(
    "docs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200)),
    sa.Column("code", sa.Integer),
    sa.Column("added", sa.Text),
    sa.Index("ix_docs_empty"),
)
sa.Index("ix_docs_title", docs.c.title, postgresql_using="gin")
sa.Index("ix_docs_code", docs.c.code)
sa.Index("ix_docs_code", docs.c.code)
sa.Table("refs", metadata, sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("doc_code", sa.Integer, sa.ForeignKey("docs.code")))
"""


def _bad_database(pg: TestDB) -> None:
    pg.execute(
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE TABLE docs (id serial PRIMARY KEY, title varchar(200), code integer);
        CREATE INDEX ix_docs_title ON docs USING gin (title gin_trgm_ops);
        CREATE INDEX ix_docs_code ON docs (code);
        """
    )


def test_every_refused_object_is_reported_and_the_rest_is_compared(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    _bad_database(pg)
    _project(cli, BAD_MODELS)
    env = {"DATABASE_URL": pg.url}
    check = cli("check", "--json", env=env)
    assert check.code == 2, check.output
    report = json.loads(check.stdout)
    assert report["in_sync"] is False
    errors = {e["object"]: e for e in report["model_errors"]}
    assert set(errors) == {
        "index ix_docs_title on table public.docs",
        "index ix_docs_empty on table public.docs",
        "table public.refs",
    }
    title = errors["index ix_docs_title on table public.docs"]
    assert "operator class" in title["reason"] and "gin_trgm_ops" in title["live"]
    assert "unique constraint" in errors["table public.refs"]["reason"] and errors["table public.refs"]["live"] is None
    # the rest is compared: the missing column is found, the live gin index is neither dropped nor rebuilt
    changes = json.dumps(report["changes"])
    assert "added" in changes and "ix_docs_title" not in changes and "ix_docs_code" not in changes
    assert "twice, identically" in check.stderr
    text = cli("check", env=env)
    assert text.code == 2 and "Traceback" not in text.output
    assert text.stdout.count("Model error") == 3

    refused = cli("sync", "--yes", env=env)
    assert refused.code == 3 and "--allow-model-errors" in refused.output
    assert pg.scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'added'") == 0
    applied = cli("sync", "--yes", "--allow-model-errors", env=env)
    assert applied.code == 0, applied.output
    assert pg.scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'added'") == 1
    assert "gin_trgm_ops" in pg.scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_docs_title'")


def test_model_errors_are_cached_with_the_desired_schema(pg: TestDB, tmp_path: Path) -> None:
    md = MetaData()
    t = Table("docs", md, Column("id", Integer, primary_key=True), Column("title", String(20)))
    Index("ix_docs_title", t.c.title, postgresql_using="gin")
    with pg.connect() as conn:
        first = desired(conn, md, cache_dir=tmp_path)
        pg.execute("CREATE TABLE marker (id int)")  # a cache hit does not materialise again
        second = desired(conn, md, cache_dir=tmp_path)
    assert first.model_errors and second.model_errors == first.model_errors
    assert list(tmp_path.glob("desired-*.json"))


def test_a_table_referencing_a_refused_table_is_left_out_as_its_dependent(pg: TestDB) -> None:
    md = MetaData()
    Table("a", md, Column("id", Integer, primary_key=True), Column("x", Integer, server_default=sa.text("nope(")))
    Table("b", md, Column("id", Integer, primary_key=True), Column("a_id", ForeignKey("a.id")))
    with pg.connect() as conn:
        wanted = desired(conn, md, cache_dir=None)
    reasons = {e.name: e.reason for e in wanted.model_errors}
    assert set(reasons) == {"a", "b"} and "depends on table public.a" in reasons["b"]
    assert wanted.tables == ()


# -- issue 14.4: long naming-convention names as SQLAlchemy sends them --------------------------------


def test_long_convention_names_are_what_sqlalchemy_emits(pg: TestDB) -> None:
    md = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s"})
    t = Table(
        "customer_subscription_billing_history",
        md,
        Column("id", Integer, primary_key=True),
        Column("first_very_long_column_name_a", Integer),
        Column("second_b", Integer),
        Column("second_c", Integer),
    )
    Index(None, t.c.first_very_long_column_name_a, t.c.second_b)
    Index(None, t.c.first_very_long_column_name_a, t.c.second_c)
    with pg.connect() as conn:
        wanted = desired(conn, md, cache_dir=None)
    names = sorted(i.name for i in wanted.tables[0].indexes)
    assert len(names) == 2 and all(len(n) == 60 and n.startswith("ix_customer_subscription_billing_hi") for n in names)
    warned = " ".join(wanted.warnings)  # kept with the desired schema; the engine logs them on every look
    assert all(n in warned for n in names), "the warning names what SQLAlchemy actually sends"
    assert "PostgreSQL keeps only" not in warned


# -- issue 14.8: declared but not managed is never "in sync" ----------------------------------------

UNMANAGED = {
    "inheritance": """
        sa.Table("base", metadata, sa.Column("id", sa.Integer))
        sa.Table("booking", metadata, sa.Column("id", sa.Integer), sa.Column("room", sa.Integer),
                 postgresql_inherits="base")
        """,
    "tablespace": """
        sa.Table("booking", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 postgresql_tablespace="pg_default")
        """,
    "custom DDL": """
        t = sa.Table("booking", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.Text))
        sa.event.listen(t, "after_create", sa.DDL("CREATE STATISTICS booking_st (ndistinct) ON id, code FROM booking"))
        """,
}


@pytest.mark.parametrize("kind", sorted(UNMANAGED))
def test_declared_but_unmanaged_objects_keep_check_from_in_sync(cli, pg: TestDB, kind: str) -> None:  # type: ignore[no-untyped-def]
    _project(cli, "import sqlalchemy as sa\nmetadata = sa.MetaData()\n" + textwrap.dedent(UNMANAGED[kind]))
    env = {"DATABASE_URL": pg.url}
    synced = cli("sync", "--yes", env=env)
    assert synced.code == 0, synced.output
    assert "Unmanaged-declared" in synced.stdout and kind in synced.stdout
    check = cli("check", env=env)
    assert check.code == 2 and "In sync" not in check.stdout, check.output
    assert f"Unmanaged-declared (schemasync neither creates nor compares it): {kind}" in check.stdout
    report = json.loads(cli("check", "--json", env=env).stdout)
    assert report["in_sync"] is False and [u["kind"] for u in report["unmanaged_declared"]] == [kind]


def _project(cli, models: str, extra: str = "") -> None:  # type: ignore[no-untyped-def]
    root: Path = cli.project
    (root / "pyproject.toml").write_text(
        '[project]\nname = "m"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "mymodels:metadata"\n' + extra
    )
    (root / "mymodels.py").write_text(textwrap.dedent(models))


# -- issue 14 (5b): a key declared twice, identically; warnings on a recalled look -----------------

DUPLICATE_KEY_MODELS = """
import sqlalchemy as sa
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_name)s_an_index_name_made_rather_long_by_its_naming_convention",
})
sa.Table("parent", metadata, sa.Column("id", sa.Integer, primary_key=True))
sa.Table(
    "child", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pid", sa.Integer, sa.ForeignKey("parent.id", ondelete="CASCADE")),
    sa.Column("other", sa.Integer, index=True),
    sa.ForeignKeyConstraint(["pid"], ["parent.id"], name="fk_child_pid", ondelete="CASCADE"),
)
"""
LONG = "ix_child_other_an_index_name_made_rather_long_by_its_naming_convention"


def test_a_key_declared_twice_identically_is_kept_once_and_every_look_warns(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """A column's ForeignKey plus an identical named ForeignKeyConstraint is one key (kept under its declared
    name), not a second one to add; the warnings about it and about a long convention name are shown by the
    look that compiles the models and by the next one, which recalls them from the cache without importing."""
    import sqlalchemy as sa

    # The database: what create_all makes of the models with the key declared once (the named constraint).
    once: dict[str, object] = {}
    exec(textwrap.dedent(DUPLICATE_KEY_MODELS).replace(', sa.ForeignKey("parent.id", ondelete="CASCADE")', ""), once)
    engine = sa.create_engine("postgresql+psycopg://" + pg.url.split("://", 1)[1])
    try:
        once["metadata"].create_all(engine)  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    assert pg.scalar("SELECT count(*) FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'") == 1
    _project(cli, DUPLICATE_KEY_MODELS)
    env = {"DATABASE_URL": pg.url}
    twice = (
        "The models declare the foreign key on public.child (pid) twice, identically: it is kept once, as fk_child_pid."
    )
    for look in ("compiled", "recalled"):
        check = cli("check", "--json", env=env)
        assert check.code == 0, (look, check.output)
        assert json.loads(check.stdout)["changes"] == [], look
        assert twice in check.stderr, (look, check.stderr)
        assert f"'{LONG}'" in check.stderr and "SQLAlchemy shortens it" in check.stderr, (look, check.stderr)
    assert len(list((cli.project / ".schemasync" / "cache").glob("models-*.json"))) == 1  # what the second recalled


def test_check_and_diff_say_why_an_event_trigger_is_not_managed(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    _project(
        cli,
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
        'sa.Table("booking", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
        "sa.event.listen(metadata, 'after_create', sa.DDL(\"CREATE FUNCTION noop() RETURNS event_trigger "
        "LANGUAGE plpgsql AS 'BEGIN END'\"))\n"
        "sa.event.listen(metadata, 'after_create', sa.DDL('CREATE EVENT TRIGGER t ON ddl_command_end "
        "EXECUTE FUNCTION noop()'))\n",
    )
    env = {"DATABASE_URL": pg.url}
    for command, code in (("check", 2), ("diff", 0)):
        result = cli(command, env=env)
        said = " ".join(result.stdout.split())
        assert result.code == code, result.output
        assert "Unmanaged-declared (schemasync neither creates nor compares it): custom DDL" in said
        assert "an event trigger: database-wide" in said and "only a superuser may create one" in said
