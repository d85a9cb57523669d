"""Comments on views, materialized views, domains, composite types, functions, procedures, triggers and policies,
declared by the models' `COMMENT ON` DDL events: created, changed, kept, removed with prune, left alone on objects
the models do not declare, re-set on an object the plan re-creates, and checked against the database itself
(the catalog, a re-diff to nothing, and `pg_dump --schema-only` against `create_all` of the same models).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import DDL, event

from schemasync.diff import changes as c
from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (the twin fixture)

# Quotes, a backslash, dollar quotes, PostgreSQL's own `$function$` tag, a new line and a schema-qualified name
# of one of the models' objects: it must come back byte for byte.
HOSTILE = 'it\'s "quoted" \\ $$ $function$ $body$\nline two; public.docs -- not SQL */'

KINDS = {  # COMMENT ON target -> key in _comments
    "FUNCTION touch()": "function touch",
    "PROCEDURE public.retitle(text)": "procedure retitle",
    "TRIGGER docs_touch ON docs": "trigger docs_touch",
    "POLICY docs_own ON public.docs": "policy docs_own",
    "VIEW titles": "view titles",
    "MATERIALIZED VIEW public.title_counts": "materialized view title_counts",
    "DOMAIN positive": "domain positive",
    "TYPE pair": "type pair",
}


def models(
    comments: dict[str, str | None] | None = None,
    *,
    trigger_when: str = "BEFORE UPDATE",
    title: sa.types.TypeEngine[str] | None = None,
) -> sa.MetaData:
    """A table with a trigger function and trigger, a procedure, a policy, a view, a materialized view, a domain
    and a composite type, each commented as `comments` says (target -> text; None: IS NULL; absent: no event)."""
    md = sa.MetaData()
    sa.Table(
        "docs",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", title or sa.Text()),
        sa.Column("at", sa.DateTime),
    )
    for sql in (
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",
        "CREATE TYPE pair AS (a integer, b text)",
    ):
        event.listen(md, "before_create", DDL(sql))
    for sql in (
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $b$ BEGIN NEW.at := now(); RETURN NEW; END $b$",
        f"CREATE TRIGGER docs_touch {trigger_when} ON public.docs FOR EACH ROW EXECUTE FUNCTION public.touch()",
        "CREATE PROCEDURE retitle(p text) LANGUAGE sql AS $$ UPDATE docs SET title = p $$",
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY docs_own ON docs USING (id > 0)",
        "CREATE VIEW titles AS SELECT id, title FROM public.docs",
        "CREATE MATERIALIZED VIEW title_counts AS SELECT count(*) AS n FROM public.docs",
    ):
        event.listen(md, "after_create", DDL(sql))
    for target, text in (comments or {}).items():
        literal = "NULL" if text is None else "'" + text.replace("'", "''") + "'"
        if text is not None and "\\" in text:
            literal = "E'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        event.listen(md, "after_create", DDL(f"COMMENT ON {target} IS {literal}".replace("%", "%%")))
    return md


def _comments(pg: TestDB) -> dict[str, str]:
    """Every comment in public on the kinds above, straight from pg_description."""
    with pg.connect() as conn:
        rows = conn.execute(
            """
            SELECT CASE WHEN c.relkind = 'm' THEN 'materialized view ' ELSE 'view ' END || c.relname, d.description
              FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
             WHERE c.relkind IN ('v', 'm') AND d.objsubid = 0 AND c.relnamespace = 'public'::regnamespace
            UNION ALL
            SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' ELSE 'function ' END || p.proname, d.description
              FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid AND d.classoid = 'pg_proc'::regclass
             WHERE p.pronamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'trigger ' || t.tgname, d.description
              FROM pg_description d JOIN pg_trigger t ON t.oid = d.objoid AND d.classoid = 'pg_trigger'::regclass
            UNION ALL
            SELECT 'policy ' || p.polname, d.description
              FROM pg_description d JOIN pg_policy p ON p.oid = d.objoid AND d.classoid = 'pg_policy'::regclass
            UNION ALL
            SELECT CASE t.typtype WHEN 'd' THEN 'domain ' ELSE 'type ' END || t.typname, d.description
              FROM pg_description d JOIN pg_type t ON t.oid = d.objoid AND d.classoid = 'pg_type'::regclass
             WHERE t.typnamespace = 'public'::regnamespace
            """
        ).fetchall()
    return dict(rows)


def _alters(prepared: object) -> list[c.AlterComment]:
    return [x for x in prepared.diff.changes if isinstance(x, c.AlterComment)]  # type: ignore[attr-defined]


def test_created_from_empty_with_hostile_text_converges_and_dumps_like_create_all(
    pg: TestDB,
    twin: TestDB,  # noqa: F811
) -> None:
    md = models(dict.fromkeys(KINDS, HOSTILE))
    prepared, applied = sync(pg, md)
    assert applied is not None
    assert not prepared.desired.unmanaged_declared, "COMMENT ON these kinds is managed, not custom DDL"
    assert len(_alters(prepared)) == len(KINDS)
    kinds = [type(x).__name__ for x in prepared.diff.changes]
    assert kinds.index("AlterComment") > max(i for i, k in enumerate(kinds) if k != "AlterComment"), (
        "comments come after the objects they are on"
    )
    assert _comments(pg) == dict.fromkeys(KINDS.values(), HOSTILE)
    assert rediff(pg, md) == []
    create_all(twin, md)
    assert schema_dump(pg) == schema_dump(twin)


def test_changed_comment_is_one_comment_on_and_removed_one_needs_prune(pg: TestDB) -> None:
    sync(pg, models({"FUNCTION touch()": "old", "VIEW titles": "kept", "TRIGGER docs_touch ON docs": "t"}))
    prepared, _ = sync(pg, models({"FUNCTION touch()": "new", "TRIGGER docs_touch ON docs": "t"}))
    assert [type(x).__name__ for x in prepared.diff.changes] == ["AlterComment"], "the function is not replaced"
    assert [s.sql for s in prepared.plan.statements if "COMMENT" in s.sql] == [
        'COMMENT ON FUNCTION "public"."touch"() IS \'new\''
    ]
    assert _comments(pg) == {"function touch": "new", "view titles": "kept", "trigger docs_touch": "t"}
    # the models no longer set the view's comment: kept, as a table's is, until prune clears it
    assert rediff(pg, models({"FUNCTION touch()": "new", "TRIGGER docs_touch ON docs": "t"})) == []
    prepared, _ = sync(pg, models({"FUNCTION touch()": "new", "TRIGGER docs_touch ON docs": "t"}), prune=True)
    assert [s.sql for s in prepared.plan.statements if "COMMENT" in s.sql] == [
        'COMMENT ON VIEW "public"."titles" IS NULL'
    ]
    assert _comments(pg) == {"function touch": "new", "trigger docs_touch": "t"}
    # `IS NULL` in the models reads as no comment (the catalog has no other way to say it): prune clears it
    assert rediff(pg, models({"FUNCTION touch()": None, "TRIGGER docs_touch ON docs": "t"})) == []
    sync(pg, models({"FUNCTION touch()": None, "TRIGGER docs_touch ON docs": "t"}), prune=True)
    assert _comments(pg) == {"trigger docs_touch": "t"}


def test_a_recreated_trigger_gets_its_comment_back(pg: TestDB) -> None:
    sync(pg, models({"TRIGGER docs_touch ON docs": "stamps"}))
    prepared, _ = sync(pg, models({"TRIGGER docs_touch ON docs": "stamps"}, trigger_when="BEFORE INSERT OR UPDATE"))
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateTrigger", "AlterComment"]
    assert _comments(pg) == {"trigger docs_touch": "stamps"}
    assert rediff(pg, models({"TRIGGER docs_touch ON docs": "stamps"}, trigger_when="BEFORE INSERT OR UPDATE")) == []


def test_comments_on_objects_the_models_do_not_declare_are_left_alone(pg: TestDB) -> None:
    sync(pg, models())
    with pg.connect() as conn:
        conn.execute("CREATE FUNCTION hand_made() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("COMMENT ON FUNCTION hand_made() IS 'a DBA''s'")
        conn.execute("CREATE VIEW hand_view AS SELECT 1 AS one")
        conn.execute("COMMENT ON VIEW hand_view IS 'theirs'")
        conn.execute("COMMENT ON FUNCTION touch() IS 'a DBA wrote this'")
    assert rediff(pg, models()) == [], "a comment the models do not set is kept, like a table's"
    prepared, _ = sync(pg, models(), prune=True)
    assert 'COMMENT ON FUNCTION "public"."touch"() IS NULL' in [s.sql for s in prepared.plan.statements]
    assert not any("hand_" in s.sql and "COMMENT" in s.sql for s in prepared.plan.statements)


def test_plan_quotes_hostile_comment_text(pg: TestDB) -> None:
    sync(pg, models())
    prepared = prepare(pg, models({"FUNCTION touch()": HOSTILE}))
    (statement,) = [s.sql for s in prepared.plan.statements]
    assert statement.startswith('COMMENT ON FUNCTION "public"."touch"() IS E\'')
    sync(pg, models({"FUNCTION touch()": HOSTILE}))
    assert _comments(pg) == {"function touch": HOSTILE}


def test_objects_re_created_around_a_column_type_change_keep_their_comments(pg: TestDB) -> None:
    """The declared view and a hand-made trigger that read the column are dropped and created around its new type:
    both get their comments back (the trigger's from its live value: the models do not declare it)."""
    sync(pg, models({"VIEW titles": "declared"}))
    with pg.connect() as conn:
        conn.execute(
            "CREATE TRIGGER hand_made BEFORE UPDATE OF title ON docs FOR EACH ROW "
            "WHEN (NEW.title IS NOT NULL) EXECUTE FUNCTION touch()"
        )
        conn.execute("COMMENT ON TRIGGER hand_made ON docs IS 'a DBA''s'")
    prepared, _ = sync(pg, models({"VIEW titles": "declared"}, title=sa.String(200)))
    kinds = [type(x).__name__ for x in prepared.diff.changes]
    assert "DropView" in kinds and "DropTrigger" in kinds, kinds
    comments = [s.sql for s in prepared.plan.statements if s.sql.startswith("COMMENT")]
    assert sorted(comments) == [
        'COMMENT ON TRIGGER "hand_made" ON "public"."docs" IS \'a DBA\'\'s\'',
        'COMMENT ON VIEW "public"."titles" IS \'declared\'',
    ]
    assert _comments(pg) == {"view titles": "declared", "trigger hand_made": "a DBA's"}
    assert rediff(pg, models({"VIEW titles": "declared"}, title=sa.String(200))) == []
