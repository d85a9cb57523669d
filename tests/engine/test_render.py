"""From change to exact SQL and hazards, with no database."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest

from schemasync.diff import analyse
from schemasync.diff import changes as c
from schemasync.diff.summary import describe
from schemasync.plan import HazardKind, PlanContext, make_plan, render
from schemasync.plan.dispatch import plan_change
from schemasync.plan.facts import probe_sql
from schemasync.plan.model import Plan, Statement
from schemasync.schema.model import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    PrimaryKey,
    Sequence,
    UniqueConstraint,
)
from tests.engine.values import col, schema, table, users

BIG = 50 * 1024 * 1024


def big_users(**kw: object) -> PlanContext:
    current = schema(replace(users(), row_estimate=1_234_567, size_bytes=BIG))
    return PlanContext(current=current, **kw)  # type: ignore[arg-type]


def sql(changes: list[c.Change], ctx: PlanContext | None = None) -> list[str]:
    return [s.sql for s in render(changes, ctx)]


def kinds(statement: Statement) -> list[HazardKind]:
    return [h.kind for h in statement.hazards]


def test_every_change_type_has_a_planner_and_a_summary() -> None:
    assert set(get_args(c.Change)) <= set(plan_change.registry)
    for kind in get_args(c.Change):
        assert kind.__name__ in {k.__name__ for k in plan_change.registry}
    assert describe(c.CreateSchema("app")) == ("schema+", "app")


def test_create_table_with_serial_identity_keys_checks_and_comments() -> None:
    t = table(
        "users",
        col("id", nullable=False, default="nextval('public.users_id_seq'::regclass)"),
        col("n", "bigint", nullable=False, identity="always"),
        col("email", "character varying(320)", nullable=False, collation='"C"', comment="it's; -- fine"),
        col("total", "integer", generated="(n * 2)"),
        col("role", "public.member_role", default="'member'::public.member_role"),
        uniques=(UniqueConstraint("uq_users_email", ("email",), deferrable=True, initially_deferred=True),),
        checks=(CheckConstraint("ck_n", "((n > 0))"),),
        comment="People\\ and 'things'",
    )
    statements = sql([c.CreateTable(t)])
    assert statements == [
        'CREATE TABLE "public"."users" (\n'
        '    "id" serial NOT NULL,\n'
        '    "n" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n'
        '    "email" character varying(320) COLLATE "C" NOT NULL,\n'
        '    "total" integer GENERATED ALWAYS AS ((n * 2)) STORED,\n'
        "    \"role\" public.member_role DEFAULT 'member'::public.member_role,\n"
        '    CONSTRAINT "users_pkey" PRIMARY KEY ("id"),\n'
        '    CONSTRAINT "uq_users_email" UNIQUE ("email") DEFERRABLE INITIALLY DEFERRED,\n'
        '    CONSTRAINT "ck_n" CHECK ((n > 0))\n'
        ")",
        "COMMENT ON TABLE \"public\".\"users\" IS E'People\\\\ and ''things'''",
        'COMMENT ON COLUMN "public"."users"."email" IS \'it\'\'s; -- fine\'',
    ]


def test_declared_sequence_default_is_not_a_serial() -> None:
    t = table("t", col("id", nullable=False, default="nextval('public.ids'::regclass)"))
    ctx = PlanContext(desired=schema(t, sequences=(Sequence("public", "ids"),)))
    assert sql([c.CreateTable(t)], ctx)[0].startswith(
        'CREATE TABLE "public"."t" (\n    "id" integer DEFAULT nextval(\'public.ids\'::regclass) NOT NULL'
    )


def test_identifiers_are_always_quoted() -> None:
    assert sql([c.RenameColumn("public", 'we"ird', "a b", "Select")]) == [
        'ALTER TABLE "public"."we""ird" RENAME COLUMN "a b" TO "Select"'
    ]


def test_drop_table_deletes_data_with_a_row_probe() -> None:
    (s,) = render([c.DropTable("public", "users")], big_users())
    assert s.sql == 'DROP TABLE "public"."users"'
    (h,) = s.hazards
    assert h.kind is HazardKind.DELETES_DATA and h.probe is not None
    assert probe_sql(h.probe) == 'SELECT count(*) FROM "public"."users" t'


def test_add_column_not_null_without_default_is_data_dependent() -> None:
    (s,) = render([c.AddColumn("public", "users", col("age", nullable=False))], big_users())
    assert s.sql == 'ALTER TABLE "public"."users" ADD COLUMN "age" integer NOT NULL'
    assert kinds(s) == [HazardKind.DATA_DEPENDENT]
    assert "server_default" in s.hazards[0].probe.template  # type: ignore[union-attr]
    # with a constant default: instant, no hazard; with a volatile one: a rewrite
    (s,) = render([c.AddColumn("public", "users", col("age", nullable=False, default="0"))], big_users())
    assert s.hazards == ()
    (s,) = render([c.AddColumn("public", "users", col("token", "uuid", default="gen_random_uuid()"))], big_users())
    assert kinds(s) == [HazardKind.LOCKING]
    assert "1,234,567 rows" in s.hazards[0].fact and "50.0 MB" in s.hazards[0].fact


def test_small_tables_carry_no_locking_noise() -> None:
    (s,) = render([c.AddColumn("public", "users", col("token", "uuid", default="gen_random_uuid()"))])
    assert s.hazards == ()


def test_drop_column_deletes_data() -> None:
    (s,) = render([c.DropColumn("public", "users", "name")], big_users())
    assert s.sql == 'ALTER TABLE "public"."users" DROP COLUMN "name"'
    assert kinds(s) == [HazardKind.DELETES_DATA]
    assert probe_sql(s.hazards[0].probe) == 'SELECT count(*) FROM "public"."users" t WHERE t."name" IS NOT NULL'  # type: ignore[arg-type]


def test_set_not_null_counts_nulls_under_the_old_name_after_a_rename() -> None:
    renamed = analyse(
        schema(users()),
        schema(replace(users(), columns=(*users().columns[:2], col("full_name", "text", nullable=False)))),
        options=__import__("schemasync.diff", fromlist=["CompareOptions"]).CompareOptions(
            hints=__import__("schemasync.schema.model", fromlist=["RenameHints"]).RenameHints(
                columns=(("public", "users", "full_name", "name"),)
            )
        ),
    )
    assert [type(x).__name__ for x in renamed.changes] == ["RenameColumn", "AlterColumnNullability"]
    ctx = PlanContext(current=big_users().current, renames=renamed.renames)
    statements = render(list(renamed.changes), ctx)
    assert statements[1].sql == 'ALTER TABLE "public"."users" ALTER COLUMN "full_name" SET NOT NULL'
    assert kinds(statements[1]) == [HazardKind.DATA_DEPENDENT, HazardKind.LOCKING]
    assert statements[1].hazards[0].probe.predicate == 't."name" IS NULL'  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "expected", "hazards"),
    [
        ("character varying(20)", "character varying(50)", "TYPE character varying(50)", []),
        ("character varying(20)", "text", "TYPE text", []),
        ("character varying(50)", "character varying(20)", "TYPE character varying(20)", ["data_dependent", "locking"]),
        ("integer", "bigint", "TYPE bigint", ["locking"]),
        ("bigint", "integer", "TYPE integer", ["data_dependent", "locking"]),
        ("numeric(10,2)", "numeric(12,2)", "TYPE numeric(12,2)", []),
        ("numeric(10,2)", "numeric(10,0)", "TYPE numeric(10,0)", ["deletes_data", "locking"]),
        ("numeric(10,2)", "numeric(6,2)", "TYPE numeric(6,2)", ["data_dependent", "locking"]),
        ("text", "integer", 'TYPE integer USING "c"::integer', ["data_dependent", "locking"]),
        ("integer", "text", 'TYPE text USING "c"::text', ["locking"]),
        ("timestamp without time zone", "date", "TYPE date", ["deletes_data", "locking"]),
        ("text", "jsonb", 'TYPE jsonb USING "c"::jsonb', ["data_dependent", "locking"]),
    ],
)
def test_column_type_changes(old: str, new: str, expected: str, hazards: list[str]) -> None:
    current = schema(replace(table("t", col("id"), col("c", old)), size_bytes=BIG, row_estimate=10))
    (s,) = render([c.AlterColumnType("public", "t", "c", old, new)], PlanContext(current=current))
    assert s.sql == f'ALTER TABLE "public"."t" ALTER COLUMN "c" {expected}'
    assert [str(k) for k in kinds(s)] == hazards


def test_cast_to_enum_counts_values_that_are_not_labels() -> None:
    mood = Enum("public", "mood", ("ok", "it's"))
    (s,) = render(
        [c.AlterColumnType("public", "t", "c", "text", "public.mood")], PlanContext(desired=schema(enums=(mood,)))
    )
    assert s.sql == 'ALTER TABLE "public"."t" ALTER COLUMN "c" TYPE public.mood USING "c"::public.mood'
    probe = s.hazards[0].probe
    assert probe is not None and probe.predicate == "t.\"c\"::text NOT IN ('ok', 'it''s')"


def test_cast_without_a_countable_test_says_so() -> None:
    (s,) = render(
        [c.AlterColumnType("public", "t", "c", "text", "inet")], PlanContext(current=schema(server_version=150000))
    )
    assert "not counted" in s.hazards[0].fact and s.hazards[0].probe is None
    (s,) = render(
        [c.AlterColumnType("public", "t", "c", "text", "inet")], PlanContext(current=schema(server_version=160000))
    )
    assert s.hazards[0].probe.predicate == "NOT pg_input_is_valid(t.\"c\"::text, 'inet')"  # type: ignore[union-attr]


def test_defaults_identity_and_sequences() -> None:
    assert sql(
        [
            c.AlterColumnDefault("public", "t", "id", None, "nextval('x')", drop_sequence=("public", "t_id_seq")),
            c.AlterColumnIdentity("public", "t", "id", "by default", None),
            c.AlterColumnIdentity("public", "t", "id", "always", "by default"),
            c.AlterColumnIdentity("public", "t", "id", None, "always"),
            c.AlterColumnDefault(
                "public",
                "t",
                "id",
                "nextval('public.t_id_seq'::regclass)",
                None,
                create_sequence=("public", "t_id_seq"),
            ),
            c.AlterColumnDefault("public", "t", "note", "'it''s'::text", None),
        ]
    ) == [
        'ALTER TABLE "public"."t" ALTER COLUMN "id" DROP DEFAULT',
        'DROP SEQUENCE IF EXISTS "public"."t_id_seq"',
        'ALTER TABLE "public"."t" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY',
        'SELECT setval(pg_get_serial_sequence(\'"public"."t"\', \'id\'), COALESCE(max("id"), 0) + 1, false) '
        'FROM "public"."t"',
        'ALTER TABLE "public"."t" ALTER COLUMN "id" SET GENERATED ALWAYS',
        'ALTER TABLE "public"."t" ALTER COLUMN "id" DROP IDENTITY',
        'CREATE SEQUENCE IF NOT EXISTS "public"."t_id_seq" OWNED BY "public"."t"."id"',
        'SELECT setval(\'"public"."t_id_seq"\'::regclass, COALESCE(max("id"), 0) + 1, false) FROM "public"."t"',
        'ALTER TABLE "public"."t" ALTER COLUMN "id" SET DEFAULT nextval(\'public.t_id_seq\'::regclass)',
        'ALTER TABLE "public"."t" ALTER COLUMN "note" SET DEFAULT \'it\'\'s\'::text',
    ]


def test_generated_column_replaced_and_dropped() -> None:
    new = Column("s", "integer", generated="(a + b)")
    statements = render([c.AlterColumnGenerated("public", "t", new, None)])
    assert [s.sql for s in statements] == [
        'ALTER TABLE "public"."t" DROP COLUMN "s"',
        'ALTER TABLE "public"."t" ADD COLUMN "s" integer GENERATED ALWAYS AS ((a + b)) STORED',
    ]
    assert kinds(statements[0]) == [HazardKind.DELETES_DATA]
    plain = Column("s", "integer")
    assert sql([c.AlterColumnGenerated("public", "t", plain, "(a + b)")]) == [
        'ALTER TABLE "public"."t" ALTER COLUMN "s" DROP EXPRESSION'
    ]


def test_foreign_key_on_existing_table_is_added_not_valid_then_validated() -> None:
    fk = ForeignKey("fk_posts_user", ("user_id",), "public", "users", ("id",), on_delete="CASCADE", deferrable=True)
    posts = table("posts", col("id"), col("user_id"))
    ctx = PlanContext(current=schema(users(), posts))
    statements = render([c.AddForeignKey("public", "posts", fk)], ctx)
    assert [s.sql for s in statements] == [
        'ALTER TABLE "public"."posts" ADD CONSTRAINT "fk_posts_user" FOREIGN KEY ("user_id") REFERENCES '
        '"public"."users" ("id") ON DELETE CASCADE DEFERRABLE NOT VALID',
        'ALTER TABLE "public"."posts" VALIDATE CONSTRAINT "fk_posts_user"',
    ]
    probe = statements[1].hazards[0].probe
    assert probe is not None
    assert probe.predicate == (
        't."user_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "public"."users" r WHERE r."id" = t."user_id")'
    )
    # on a table the plan creates: one plain statement, nothing to validate
    new_ctx = PlanContext(current=schema(users()), new_tables=frozenset({("public", "posts")}))
    assert len(render([c.AddForeignKey("public", "posts", fk)], new_ctx)) == 1
    # online mode: validation after the transaction
    online = render([c.AddForeignKey("public", "posts", fk)], replace(ctx, concurrent_indexes=True))
    assert online[1].transactional is False and HazardKind.CORRECTNESS in kinds(online[1])


def test_check_with_quotes_and_semicolons_stays_one_statement() -> None:
    check = CheckConstraint("ck_note", "((note <> 'a'';DROP TABLE x;--'::text))")
    ctx = PlanContext(current=schema(table("t", col("id"), col("note", "text"))))
    statements = render([c.AddCheck("public", "t", check)], ctx)
    assert statements[0].sql == (
        'ALTER TABLE "public"."t" ADD CONSTRAINT "ck_note" CHECK ((note <> \'a\'\';DROP TABLE x;--\'::text)) NOT VALID'
    )
    assert statements[1].hazards[0].probe.predicate == "NOT ((note <> 'a'';DROP TABLE x;--'::text))"  # type: ignore[union-attr]


def test_keys_and_uniques_count_duplicates() -> None:
    ctx = big_users()
    (s,) = render([c.AddUnique("public", "users", UniqueConstraint("uq_email", ("email",)))], ctx)
    assert s.sql == 'ALTER TABLE "public"."users" ADD CONSTRAINT "uq_email" UNIQUE ("email")'
    assert kinds(s) == [HazardKind.DATA_DEPENDENT, HazardKind.INDEX_BUILD, HazardKind.LOCKING]
    assert probe_sql(s.hazards[0].probe) == (  # type: ignore[arg-type]
        'SELECT count(*) FROM (SELECT 1 FROM "public"."users" t WHERE t."email" IS NOT NULL '
        'GROUP BY t."email" HAVING count(*) > 1) d'
    )
    (s,) = render([c.AddPrimaryKey("public", "users", PrimaryKey("pk", ("id", "email")))], ctx)
    assert s.sql == 'ALTER TABLE "public"."users" ADD CONSTRAINT "pk" PRIMARY KEY ("id", "email")'
    (s,) = render([c.DropPrimaryKey("public", "users", "pk")], ctx)
    assert s.sql == 'ALTER TABLE "public"."users" DROP CONSTRAINT "pk"' and kinds(s) == [HazardKind.INDEX_DROPPED]


def test_indexes_blocking_and_concurrent() -> None:
    index = Index(
        "ix_users_email",
        True,
        "btree",
        ("lower((email)::text)", "name DESC NULLS LAST"),
        include=("id",),
        where="(name IS NOT NULL)",
    )
    change = c.CreateIndex("public", "users", index)
    (s,) = render([change], big_users())
    assert s.sql == (
        'CREATE UNIQUE INDEX "ix_users_email" ON "public"."users" USING btree (lower((email)::text), name DESC NULLS LAST) '
        'INCLUDE ("id") WHERE (name IS NOT NULL)'
    )
    assert s.transactional and kinds(s) == [HazardKind.DATA_DEPENDENT, HazardKind.INDEX_BUILD, HazardKind.LOCKING]
    assert s.hazards[0].probe.columns == ("lower((email)::text)", "name")  # type: ignore[union-attr]
    (s,) = render([change], big_users(concurrent_indexes=True))
    assert s.sql.startswith('CREATE UNIQUE INDEX CONCURRENTLY "ix_users_email"')
    assert not s.transactional and HazardKind.LOCKING not in kinds(s)
    (s,) = render([c.DropIndex("public", "users", "ix_users_email")])
    assert s.sql == 'DROP INDEX "public"."ix_users_email"' and kinds(s) == [HazardKind.INDEX_DROPPED]


def test_enums() -> None:
    mood = Enum("public", "mood", ("sad", "o'k"), comment="How it feels")
    assert sql([c.CreateEnum(mood), c.AddEnumValue("public", "mood", "new", before="sad")]) == [
        "CREATE TYPE \"public\".\"mood\" AS ENUM ('sad', 'o''k')",
        'COMMENT ON TYPE "public"."mood" IS \'How it feels\'',
        "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'new' BEFORE 'sad'",
    ]
    recreate = c.RecreateEnum(
        replace(mood, comment=None),
        ("sad", "o'k", "happy"),
        (c.EnumUse("public", "t", "m", False, "'sad'::public.mood"), c.EnumUse("public", "t", "ms", True)),
    )
    statements = render([recreate])
    assert [s.sql for s in statements] == [
        'ALTER TYPE "public"."mood" RENAME TO "mood__old"',
        "CREATE TYPE \"public\".\"mood\" AS ENUM ('sad', 'o''k')",
        'ALTER TABLE "public"."t" ALTER COLUMN "m" DROP DEFAULT',
        'ALTER TABLE "public"."t" ALTER COLUMN "m" TYPE "public"."mood" USING "m"::text::"public"."mood"',
        'ALTER TABLE "public"."t" ALTER COLUMN "m" SET DEFAULT \'sad\'::public.mood',
        'ALTER TABLE "public"."t" ALTER COLUMN "ms" DROP DEFAULT',
        'ALTER TABLE "public"."t" ALTER COLUMN "ms" TYPE "public"."mood"[] USING "ms"::text[]::"public"."mood"[]',
        'DROP TYPE "public"."mood__old"',
    ]
    assert statements[3].hazards[0].probe.predicate == "t.\"m\"::text IN ('happy')"  # type: ignore[union-attr]
    assert statements[6].hazards[0].probe.predicate == "t.\"ms\"::text[] && ARRAY['happy']::text[]"  # type: ignore[union-attr]


def test_sequences() -> None:
    seq = Sequence("public", "order_no", "bigint", start=1000, increment=1, max_value=999999, cache=10)
    assert sql(
        [
            c.CreateSequence(seq),
            c.AlterSequence(seq, replace(seq, increment=5, owned_by="orders.no", max_value=None)),
            c.RenameSequence("public", "a_id_seq", "b_id_seq"),
            c.DropSequence("public", "order_no"),
        ]
    ) == [
        'CREATE SEQUENCE "public"."order_no" AS bigint INCREMENT BY 1 NO MINVALUE MAXVALUE 999999 START WITH 1000 '
        "CACHE 10 NO CYCLE",
        'ALTER SEQUENCE "public"."order_no" INCREMENT BY 5 NO MAXVALUE OWNED BY "public"."orders"."no"',
        'ALTER SEQUENCE "public"."a_id_seq" RENAME TO "b_id_seq"',
        'DROP SEQUENCE "public"."order_no"',
    ]


def test_enum_label_used_later_in_the_plan_runs_before_the_transaction() -> None:
    old = Enum("public", "mood", ("sad",))
    new = Enum("public", "mood", ("sad", "happy"))
    t = table("t", col("id"), col("m", "public.mood"))
    t2 = table("t", col("id"), col("m", "public.mood", default="'happy'::public.mood"))
    current, desired = schema(t, enums=(old,)), schema(t2, enums=(new,))
    plan = make_plan(analyse(current, desired), current, desired)
    before, inside, after = plan.parts()
    assert [s.sql for s in before] == ["ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'happy' AFTER 'sad'"]
    assert [s.sql for s in inside] == [
        'ALTER TABLE "public"."t" ALTER COLUMN "m" SET DEFAULT \'happy\'::public.mood'
    ] and after == ()
    # not used later: stays in the transaction
    desired2 = schema(t, enums=(new,))
    plan = make_plan(analyse(current, desired2), current, desired2)
    assert plan.parts()[0] == () and len(plan.parts()[1]) == 1


def test_plan_sql_script_and_timeouts() -> None:
    desired = schema(users())
    plan = make_plan(analyse(schema(), desired), schema(), desired, lock_timeout=2, statement_timeout=30)
    assert plan.sql().startswith('BEGIN;\nCREATE TABLE "public"."users"')
    assert plan.sql().endswith("COMMIT;")
    assert {(s.lock_timeout, s.statement_timeout) for s in plan.statements} == {(2, 30)}
    assert plan.summary == ("Found 1 new table: users",)
    assert plan.to_dict()["statements"][0]["change"] == "CreateTable"


def test_a_plan_with_a_non_transactional_statement_in_the_middle_is_refused() -> None:
    plan = Plan((Statement("a"), Statement("b", transactional=False), Statement("c")), "h")
    with pytest.raises(ValueError, match="between transactional"):
        plan.parts()
