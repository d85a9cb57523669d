"""Functions, procedures and triggers declared by the models' DDL events: created, changed, left alone, pruned.

Each case is checked against the real database afterwards (the catalog, a re-diff to nothing, and
`pg_dump --schema-only` against `create_all` of the same models), never against the plan alone.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import DDL, event

from schemasync.diff import changes as c
from schemasync.plan import HazardKind
from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all, has_extensions
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (the twin fixture)

# A body holding `$$`, PostgreSQL's own tag `$function$` and a quote: whatever tag it is stored under, it
# must come back byte for byte.
HOSTILE_BODY = "SELECT 'it''s $$ and $function$ and $body$'::text || $1"
HOSTILE_NAME = 'odd "name" $$'


def models(
    *,
    stamp: str = "now()",
    when: str = "BEFORE UPDATE",
    label_result: str = "text",
    label_args: str = "a text",
    with_trigger: bool = True,
    retitle: str = "UPDATE docs SET title = p",
) -> sa.MetaData:
    """A table with a trigger function, its trigger, a procedure and a function with a hostile name and body."""
    md = sa.MetaData()
    docs = sa.Table(
        "docs",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text),
        sa.Column("at", sa.DateTime),
    )
    event.listen(
        md,
        "after_create",
        DDL(
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
            f"$body$ BEGIN NEW.at := {stamp}; RETURN NEW; END $body$"
        ),
    )
    if with_trigger:
        event.listen(
            md,
            "after_create",
            DDL(f"CREATE TRIGGER docs_touch {when} ON public.docs FOR EACH ROW EXECUTE FUNCTION public.touch()"),
        )
    event.listen(
        md,
        "after_create",
        DDL(
            f'CREATE OR REPLACE FUNCTION public."{HOSTILE_NAME.replace(chr(34), chr(34) * 2)}"({label_args}) '
            f"RETURNS {label_result} LANGUAGE sql IMMUTABLE AS $q${HOSTILE_BODY}$q$"
        ),
    )
    event.listen(
        md,
        "after_create",
        DDL(f"CREATE PROCEDURE retitle(p text) LANGUAGE sql AS $$ {retitle} $$"),
    )
    assert docs is not None
    return md


def _routines(pg: TestDB) -> dict[str, tuple[str, str]]:
    """name(args) -> (result, body) of every routine in public, straight from pg_proc."""
    with pg.connect() as conn:
        rows = conn.execute(
            """SELECT p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')',
                      COALESCE(pg_catalog.pg_get_function_result(p.oid), ''), p.prosrc
               FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'public'::regnamespace"""
        ).fetchall()
    return {name: (result, body) for name, result, body in rows}


def _triggers(pg: TestDB) -> dict[str, str]:
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT tgname, pg_catalog.pg_get_triggerdef(oid) FROM pg_catalog.pg_trigger WHERE NOT tgisinternal"
        ).fetchall()
    return dict(rows)


def test_created_from_empty_match_create_all_and_converge(pg: TestDB, twin: TestDB) -> None:  # noqa: F811
    prepared, applied = sync(pg, models())
    assert applied is not None
    kinds = [type(x).__name__ for x in prepared.diff.changes]
    assert kinds == ["CreateTable", "CreateRoutine", "CreateRoutine", "CreateRoutine", "CreateTrigger"]
    assert not prepared.desired.unmanaged_declared, "managed DDL events are not 'custom DDL'"
    found = _routines(pg)
    assert found[f"{HOSTILE_NAME}(text)"] == ("text", HOSTILE_BODY)
    assert set(found) == {"touch()", f"{HOSTILE_NAME}(text)", "retitle(text)"}
    assert _triggers(pg) == {
        "docs_touch": "CREATE TRIGGER docs_touch BEFORE UPDATE ON public.docs FOR EACH ROW EXECUTE FUNCTION touch()"
    }
    assert rediff(pg, models()) == []
    create_all(twin, models())
    assert schema_dump(pg) == schema_dump(twin)
    with pg.connect() as conn:  # the trigger works: it was created on the real table, calling the real function
        conn.execute("INSERT INTO docs (id, title) VALUES (1, 'a')")
        conn.execute("UPDATE docs SET title = 'b'")
        assert conn.execute("SELECT at IS NOT NULL FROM docs").fetchone() == (True,)


def test_changed_body_is_replaced_in_place_and_changed_trigger_recreated(pg: TestDB) -> None:
    sync(pg, models())
    with pg.connect() as conn:
        oid = conn.execute("SELECT 'public.touch()'::regprocedure::oid").fetchone()
    prepared, _ = sync(pg, models(stamp="clock_timestamp()", when="BEFORE INSERT OR UPDATE"))
    assert [type(x).__name__ for x in prepared.diff.changes] == ["ReplaceRoutine", "RecreateTrigger"]
    sql = [s.sql for s in prepared.plan.statements]
    assert sql[0].startswith("CREATE OR REPLACE FUNCTION public.touch()")
    assert sql[1:] == [
        'DROP TRIGGER "docs_touch" ON "public"."docs"',
        "CREATE TRIGGER docs_touch BEFORE INSERT OR UPDATE ON public.docs FOR EACH ROW EXECUTE FUNCTION public.touch()",
    ]
    assert "clock_timestamp()" in _routines(pg)["touch()"][1]
    with pg.connect() as conn:  # replaced, not recreated: the same routine, so nothing depending on it broke
        assert conn.execute("SELECT 'public.touch()'::regprocedure::oid").fetchone() == oid
    assert "INSERT OR UPDATE" in _triggers(pg)["docs_touch"]
    assert rediff(pg, models(stamp="clock_timestamp()", when="BEFORE INSERT OR UPDATE")) == []


def test_result_or_signature_change_drops_and_creates(pg: TestDB) -> None:
    sync(pg, models())
    changed = models(label_result="character varying")
    prepared, _ = sync(pg, changed)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateRoutine"]
    assert (
        prepared.plan.statements[0].sql
        == f'DROP FUNCTION "public"."{HOSTILE_NAME.replace(chr(34), 2 * chr(34))}"(text)'
    )
    assert [h.kind for h in prepared.plan.statements[0].hazards] == [HazardKind.CORRECTNESS]
    assert _routines(pg)[f"{HOSTILE_NAME}(text)"] == ("character varying", HOSTILE_BODY)
    assert rediff(pg, changed) == []

    # Other argument types: a new routine; the old signature of a name the models declare goes, prune or not.
    other = models(label_args="a text, b integer DEFAULT 0")
    prepared, _ = sync(pg, other)
    changes = prepared.diff.changes
    assert [type(x).__name__ for x in changes] == ["DropRoutine", "CreateRoutine"]
    assert isinstance(changes[0], c.DropRoutine) and changes[0].replaced
    assert f"{HOSTILE_NAME}(text, integer)" in _routines(pg) and f"{HOSTILE_NAME}(text)" not in _routines(pg)
    assert rediff(pg, other) == []

    # A renamed parameter keeps the signature but CREATE OR REPLACE refuses it: dropped and created.
    renamed = models(label_args="x text, b integer DEFAULT 0")
    prepared, _ = sync(pg, renamed)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateRoutine"]
    assert rediff(pg, renamed) == []


def test_hand_made_routines_and_triggers_left_alone_then_pruned(pg: TestDB) -> None:
    sync(pg, models())
    pg.execute(
        """
        CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER docs_audit AFTER INSERT ON docs FOR EACH ROW EXECUTE FUNCTION audit();
        CREATE SCHEMA elsewhere;
        CREATE FUNCTION elsewhere.keep() RETURNS int LANGUAGE sql AS 'SELECT 1';
        """
    )
    contrib = has_extensions(pg, ("pg_trgm",))
    if contrib:
        pg.execute("CREATE EXTENSION pg_trgm")  # its functions belong to it: listed and pruned as the extension
    prepared = prepare(pg, models())
    assert prepared.diff.empty
    assert [u.describe() for u in prepared.diff.unmanaged if u.kind != "extension"] == [
        "function public.audit()",
        "trigger public.docs.docs_audit",
    ]

    prepared, _ = sync(pg, models(), prune=True)
    kinds = [type(x).__name__ for x in prepared.diff.changes]
    assert kinds == ["DropTrigger", "DropRoutine", *(["DropExtension"] if contrib else [])]
    routine_drops = [s for s in prepared.plan.statements if s.sql.startswith(("DROP TRIGGER", "DROP FUNCTION"))]
    assert len(routine_drops) == 2
    assert all(h.kind is HazardKind.CORRECTNESS for s in routine_drops for h in s.hazards)
    assert "audit()" not in _routines(pg) and "docs_audit" not in _triggers(pg)
    with pg.connect() as conn:  # another schema is not the models' business, prune or not
        assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname = 'keep'").fetchone() == (1,)
    assert rediff(pg, models(), prune=True) == []


def test_dropping_a_trigger_from_the_models_needs_prune(pg: TestDB) -> None:
    sync(pg, models())
    assert rediff(pg, models(with_trigger=False)) == []
    assert [type(x).__name__ for x in prepare(pg, models(with_trigger=False), prune=True).diff.changes] == [
        "DropTrigger"
    ]


def test_routines_in_a_quoted_schema_and_unmanaged_ddl_stays_custom(pg: TestDB) -> None:
    schema = f'Odd "{uuid.uuid4().hex[:6]}"'
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), schema=schema)
    quoted = '"' + schema.replace('"', '""') + '"'
    event.listen(
        md,
        "after_create",
        DDL(f"CREATE FUNCTION {quoted}.n() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM {quoted}.t'"),
    )
    event.listen(md, "after_create", DDL(f"COMMENT ON TABLE {quoted}.t IS 'x'"))
    prepared, _ = sync(pg, md)
    assert [type(x).__name__ for x in prepared.diff.changes][-1] == "CreateRoutine"
    assert [u.kind for u in prepared.desired.unmanaged_declared] == ["custom DDL"]  # the COMMENT, not the function
    with pg.connect() as conn:
        assert conn.execute(f"SELECT {quoted}.n()").fetchone() == (0,)
    assert rediff(pg, md) == []


def test_a_function_postgresql_refuses_is_held_at_its_live_state(pg: TestDB) -> None:
    sync(pg, models())
    broken = models(retitle="UPDATE no_such_table SET x = p")
    prepared = prepare(pg, broken, prune=True)
    assert [(h.error.kind, h.error.schema, h.error.name) for h in prepared.model_errors] == [
        ("procedure", "public", "retitle")
    ]
    assert "procedure public.retitle(text)" in prepared.model_errors[0].describe()
    assert not [x for x in prepared.diff.changes if isinstance(x, c.DropRoutine)], "held, never pruned"


def test_trigger_and_policy_follow_a_renamed_table(pg: TestDB) -> None:
    def renamed(name: str, old: str | None = None) -> sa.MetaData:
        md = sa.MetaData()
        info = {"renamed_from": old} if old else {}
        t = sa.Table(name, md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime), info=info)
        event.listen(
            md,
            "before_create",
            DDL("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"),
        )
        event.listen(
            t,
            "after_create",
            DDL(f"CREATE TRIGGER t_touch BEFORE UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION touch()"),
        )
        event.listen(t, "after_create", DDL(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
        event.listen(t, "after_create", DDL(f"CREATE POLICY p ON {name} USING (id > 0)"))
        return md

    sync(pg, renamed("docs"))
    prepared, _ = sync(pg, renamed("papers", "docs"))
    kinds = [type(x).__name__ for x in prepared.diff.changes]
    assert kinds[0] == "RenameTable" and kinds.count("RecreateTrigger") == 1
    assert not {"CreateTrigger", "CreatePolicy", "AlterPolicy", "AlterRowSecurity"} & set(kinds)
    assert _triggers(pg) == {
        "t_touch": "CREATE TRIGGER t_touch BEFORE UPDATE ON public.papers FOR EACH ROW EXECUTE FUNCTION touch()"
    }
    assert rediff(pg, renamed("papers", "docs")) == []


def test_a_prune_that_drops_an_extensions_last_routine_user_drops_the_extension_too(pg: TestDB) -> None:
    if not has_extensions(pg, ("citext",)):
        pytest.skip("the citext extension is not installed on this server")
    shout = "CREATE FUNCTION shout(v citext) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(v::text)'"

    def plain(*ddl: str) -> sa.MetaData:  # no text naming a citext member ("replace", "max"...) by chance
        md = sa.MetaData()
        sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
        for text in ddl:
            event.listen(md, "after_create", DDL(text))
        return md

    sync(pg, plain())
    pg.execute(f"CREATE EXTENSION citext; {shout}")
    assert rediff(pg, plain(shout), prune=True) == []  # the function is declared: it keeps the extension
    pg.execute(
        "CREATE SCHEMA elsewhere; CREATE FUNCTION elsewhere.whisper(v citext) RETURNS citext LANGUAGE sql AS 'SELECT v'"
    )
    assert rediff(pg, plain(), prune=True) == ["DropRoutine"]  # one outside the models' schemas keeps it too
    pg.execute("DROP SCHEMA elsewhere CASCADE")

    prepared, _ = sync(pg, plain(), prune=True)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["DropRoutine", "DropExtension"]
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citext'").fetchone() == (0,)
    assert rediff(pg, plain(), prune=True) == []


def test_a_sql_function_is_created_after_the_function_its_body_calls(pg: TestDB) -> None:
    """A SQL body is checked when created: `a_doubled` (first by name) calls `b_base`, so the plan creates
    `b_base` first, whatever order the models declare them in."""
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    for ddl in (
        "CREATE FUNCTION a_doubled(p integer) RETURNS integer LANGUAGE sql AS $$ SELECT 2 * b_base(p) $$",
        "CREATE FUNCTION b_base(p integer) RETURNS integer LANGUAGE sql AS $$ SELECT p + 1 $$",
    ):
        event.listen(md, "before_create" if ddl.startswith("CREATE FUNCTION b") else "after_create", DDL(ddl))
    prepared, applied = sync(pg, md)
    assert applied is not None
    created = [x.routine.name for x in prepared.diff.changes if isinstance(x, c.CreateRoutine)]
    assert created == ["b_base", "a_doubled"]
    with pg.connect() as conn:
        assert conn.execute("SELECT a_doubled(1)").fetchone() == (4,)
    assert rediff(pg, md) == []
