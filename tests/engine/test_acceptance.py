"""Table-driven acceptance cases: a database before, the models, the exact plan and hazards; then apply,
re-diff, empty. Each case is one kind of change as a user meets it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from tests.conftest import TestDB
from tests.engine.sync_helpers import rediff, sync


@dataclass(frozen=True)
class Case:
    name: str
    before: str  # SQL run on the empty database
    models: Callable[[], MetaData]
    statements: list[str]  # the plan, exactly
    hazards: dict[int, set[str]] = field(default_factory=dict)  # statement index -> hazard kinds (others: none)
    options: dict[str, object] = field(default_factory=dict)


def md(*builders: Callable[[MetaData], object]) -> Callable[[], MetaData]:
    def build() -> MetaData:
        m = MetaData()
        for b in builders:
            b(m)
        return m

    return build


def _indexed_people(m: MetaData) -> None:
    t = Table("people", m, Column("id", Integer, primary_key=True), Column("nick", Text), Column("age", Integer))
    Index("ix_people_nick", t.c.nick)
    Index("ix_people_lower_nick", func.lower(t.c.nick))


def people(*extra: object, name: str = "people", **kw: object) -> Callable[[MetaData], object]:
    """A `people` table with an id and `extra` columns/constraints (copied: each build is fresh)."""

    def build(m: MetaData) -> Table:
        fresh = [e() if callable(e) else e._copy() for e in extra]  # type: ignore[attr-defined]
        return Table(name, m, Column("id", Integer, primary_key=True), *fresh, **kw)  # type: ignore[arg-type]

    return build


CASES = [
    Case(
        "add a nullable column and one with a default",
        "CREATE TABLE people (id serial PRIMARY KEY); INSERT INTO people DEFAULT VALUES",
        md(people(Column("nick", Text), Column("score", Integer, nullable=False, server_default=text("0")))),
        [
            'ALTER TABLE "public"."people" ADD COLUMN "nick" text',
            'ALTER TABLE "public"."people" ADD COLUMN "score" integer DEFAULT 0 NOT NULL',
        ],
    ),
    Case(
        "drop a column with prune",
        "CREATE TABLE people (id serial PRIMARY KEY, fax text); INSERT INTO people (fax) VALUES ('1'), (NULL)",
        md(people()),
        ['ALTER TABLE "public"."people" DROP COLUMN "fax"'],
        {0: {"deletes_data"}},
        {"prune": True},
    ),
    Case(
        "declared column rename keeps the data",
        "CREATE TABLE people (id serial PRIMARY KEY, fullname text); INSERT INTO people (fullname) VALUES ('Ada')",
        md(people(Column("display_name", Text, info={"renamed_from": "fullname"}))),
        ['ALTER TABLE "public"."people" RENAME COLUMN "fullname" TO "display_name"'],
        {0: {"correctness"}},
        {"prune": True},
    ),
    Case(
        "declared table rename takes its serial sequence and key along",
        "CREATE TABLE users (id serial, email text, CONSTRAINT pk_users PRIMARY KEY (id));"
        "INSERT INTO users (email) VALUES ('a')",
        md(
            lambda m: Table(
                "accounts",
                m,
                Column("id", Integer, primary_key=True),
                Column("email", Text),
                info={"renamed_from": "users"},
            )
        ),
        [
            'ALTER TABLE "public"."users" RENAME TO "accounts"',
            'ALTER SEQUENCE "public"."users_id_seq" RENAME TO "accounts_id_seq"',
            'ALTER TABLE "public"."accounts" RENAME CONSTRAINT "pk_users" TO "accounts_pkey"',
        ],
        {0: {"correctness"}},
        {"prune": True},
    ),
    Case(
        "widen types: varchar and integer",
        "CREATE TABLE people (id serial PRIMARY KEY, nick varchar(20), n integer)",
        md(people(Column("nick", String(50)), Column("n", BigInteger))),
        [
            'ALTER TABLE "public"."people" ALTER COLUMN "nick" TYPE character varying(50)',
            'ALTER TABLE "public"."people" ALTER COLUMN "n" TYPE bigint',
        ],
    ),
    Case(
        "text to integer with USING, counted",
        "CREATE TABLE people (id serial PRIMARY KEY, age text); INSERT INTO people (age) VALUES ('42'), (NULL)",
        md(people(Column("age", Integer))),
        ['ALTER TABLE "public"."people" ALTER COLUMN "age" TYPE integer USING "age"::integer'],
        {0: {"data_dependent"}},
    ),
    Case(
        "set not null with no nulls, and a default",
        "CREATE TABLE people (id serial PRIMARY KEY, email text, active boolean); INSERT INTO people VALUES (1, 'a', true)",
        md(people(Column("email", Text, nullable=False), Column("active", Text, server_default="yes"))),
        [
            'ALTER TABLE "public"."people" ALTER COLUMN "email" SET NOT NULL',
            'ALTER TABLE "public"."people" ALTER COLUMN "active" TYPE text USING "active"::text',
            'ALTER TABLE "public"."people" ALTER COLUMN "active" SET DEFAULT \'yes\'::text',
        ],
        {0: {"data_dependent"}},
    ),
    Case(
        "serial becomes identity, keeping the next value",
        "CREATE TABLE people (id serial PRIMARY KEY); INSERT INTO people DEFAULT VALUES; INSERT INTO people DEFAULT VALUES",
        md(lambda m: Table("people", m, Column("id", Integer, Identity(), primary_key=True))),
        [
            'ALTER TABLE "public"."people" ALTER COLUMN "id" DROP DEFAULT',
            'DROP SEQUENCE IF EXISTS "public"."people_id_seq"',
            'ALTER TABLE "public"."people" ALTER COLUMN "id" ADD GENERATED BY DEFAULT AS IDENTITY',
            'SELECT setval(pg_get_serial_sequence(\'"public"."people"\', \'id\'), COALESCE(max("id"), 0) + 1, false) '
            'FROM "public"."people"',
        ],
    ),
    Case(
        "comments with quotes",
        "CREATE TABLE people (id serial PRIMARY KEY, nick text)",
        md(people(Column("nick", Text, comment="what friends say; it's short"), comment="People\\ we know")),
        [
            'COMMENT ON COLUMN "public"."people"."nick" IS \'what friends say; it\'\'s short\'',
            'COMMENT ON TABLE "public"."people" IS E\'People\\\\ we know\'',
        ],
    ),
    Case(
        "unique constraint added, counted, and another dropped",
        "CREATE TABLE people (id serial PRIMARY KEY, email text, nick text CONSTRAINT old_nick UNIQUE);"
        "INSERT INTO people (email) VALUES ('a'), ('b')",
        md(
            people(
                Column("email", Text), Column("nick", Text), lambda: UniqueConstraint("email", name="uq_people_email")
            )
        ),
        [
            'ALTER TABLE "public"."people" DROP CONSTRAINT "old_nick"',
            'ALTER TABLE "public"."people" ADD CONSTRAINT "uq_people_email" UNIQUE ("email")',
        ],
        {0: {"index_dropped"}, 1: {"data_dependent"}},
    ),
    Case(
        "foreign key on an existing table: NOT VALID, then VALIDATE",
        "CREATE TABLE teams (id serial PRIMARY KEY); CREATE TABLE people (id serial PRIMARY KEY, team_id int);"
        "INSERT INTO teams DEFAULT VALUES; INSERT INTO people (team_id) VALUES (1), (NULL)",
        md(
            lambda m: Table("teams", m, Column("id", Integer, primary_key=True)),
            people(Column("team_id", Integer, ForeignKey("teams.id", name="fk_team", ondelete="SET NULL"))),
        ),
        [
            'ALTER TABLE "public"."people" ADD CONSTRAINT "fk_team" FOREIGN KEY ("team_id") REFERENCES '
            '"public"."teams" ("id") ON DELETE SET NULL NOT VALID',
            'ALTER TABLE "public"."people" VALIDATE CONSTRAINT "fk_team"',
        ],
        {1: {"data_dependent"}},
    ),
    Case(
        "check constraint changed: dropped and added NOT VALID",
        "CREATE TABLE people (id serial PRIMARY KEY, age int CONSTRAINT ck_age CHECK (age > 0))",
        md(people(Column("age", Integer), lambda: CheckConstraint("age >= 18", name="ck_age"))),
        [
            'ALTER TABLE "public"."people" DROP CONSTRAINT "ck_age"',
            'ALTER TABLE "public"."people" ADD CONSTRAINT "ck_age" CHECK ((age >= 18)) NOT VALID',
            'ALTER TABLE "public"."people" VALIDATE CONSTRAINT "ck_age"',
        ],
        {2: {"data_dependent"}},
    ),
    Case(
        "indexes: renamed by shape, dropped, created",
        "CREATE TABLE people (id serial PRIMARY KEY, nick text, age int);"
        "CREATE INDEX people_nick_idx ON people (nick); CREATE INDEX people_age_idx ON people (age)",
        md(_indexed_people),
        [
            'ALTER INDEX "public"."people_nick_idx" RENAME TO "ix_people_nick"',
            'DROP INDEX "public"."people_age_idx"',
            'CREATE INDEX "ix_people_lower_nick" ON "public"."people" USING btree (lower(nick))',
        ],
        {1: {"index_dropped"}},
        {"prune": True},
    ),
    Case(
        "enum: labels added before and after",
        "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE people (id serial PRIMARY KEY, m mood)",
        md(people(Column("m", Enum("awful", "sad", "ok", "great", name="mood")))),
        [
            "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'awful' BEFORE 'sad'",
            "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'great' AFTER 'ok'",
        ],
    ),
    Case(
        "enum: a label removed recreates the type and recasts its columns",
        "CREATE TYPE mood AS ENUM ('sad', 'meh', 'ok');"
        "CREATE TABLE people (id serial PRIMARY KEY, m mood DEFAULT 'ok');"
        "INSERT INTO people (m) VALUES ('sad'), ('ok')",
        md(people(Column("m", Enum("sad", "ok", name="mood"), server_default="ok"))),
        [
            'ALTER TYPE "public"."mood" RENAME TO "mood__old"',
            "CREATE TYPE \"public\".\"mood\" AS ENUM ('sad', 'ok')",
            'ALTER TABLE "public"."people" ALTER COLUMN "m" DROP DEFAULT',
            'ALTER TABLE "public"."people" ALTER COLUMN "m" TYPE "public"."mood" USING "m"::text::"public"."mood"',
            'ALTER TABLE "public"."people" ALTER COLUMN "m" SET DEFAULT \'ok\'::public.mood',
            'DROP TYPE "public"."mood__old"',
        ],
        {3: {"data_dependent"}},
    ),
    Case(
        "enum and sequence dropped with prune, new ones created",
        "CREATE TYPE old_kind AS ENUM ('a'); CREATE SEQUENCE old_seq",
        md(
            lambda m: Sequence("ticket_no", start=100, increment=10, metadata=m),
            people(Column("kind", Enum("x", "y", name="kind"))),
        ),
        [
            "CREATE TYPE \"public\".\"kind\" AS ENUM ('x', 'y')",
            'CREATE SEQUENCE "public"."ticket_no" AS bigint INCREMENT BY 10 NO MINVALUE NO MAXVALUE START WITH 100 CACHE 1 NO CYCLE',
            'CREATE TABLE "public"."people" (\n    "id" serial NOT NULL,\n    "kind" public.kind,\n'
            '    CONSTRAINT "people_pkey" PRIMARY KEY ("id")\n)',
            'DROP TYPE "public"."old_kind"',
            'DROP SEQUENCE "public"."old_seq"',
        ],
        {4: {"correctness"}},
        {"prune": True},
    ),
    Case(
        "a new schema, and tables in a foreign-key cycle",
        "",
        md(
            lambda m: Table(
                "a",
                m,
                Column("id", Integer, primary_key=True),
                Column("b_id", Integer, ForeignKey("app.b.id", name="a_b", use_alter=True)),
                schema="app",
            ),
            lambda m: Table(
                "b",
                m,
                Column("id", Integer, primary_key=True),
                Column("a_id", Integer, ForeignKey("app.a.id", name="b_a")),
                schema="app",
            ),
        ),
        [
            'CREATE SCHEMA "app"',
            'CREATE TABLE "app"."a" (\n    "id" serial NOT NULL,\n    "b_id" integer,\n    CONSTRAINT "a_pkey" PRIMARY KEY ("id")\n)',
            'CREATE TABLE "app"."b" (\n    "id" serial NOT NULL,\n    "a_id" integer,\n    CONSTRAINT "b_pkey" PRIMARY KEY ("id")\n)',
            'ALTER TABLE "app"."a" ADD CONSTRAINT "a_b" FOREIGN KEY ("b_id") REFERENCES "app"."b" ("id")',
            'ALTER TABLE "app"."b" ADD CONSTRAINT "b_a" FOREIGN KEY ("a_id") REFERENCES "app"."a" ("id")',
        ],
    ),
    Case(
        "generated column expression changed",
        "CREATE TABLE people (id serial PRIMARY KEY, a int, b int, s int GENERATED ALWAYS AS (a + b) STORED)",
        md(
            people(
                Column("a", Integer),
                Column("b", Integer),
                lambda: Column("s", Integer, Computed("a * b", persisted=True)),
            )
        ),
        [
            'ALTER TABLE "public"."people" DROP COLUMN "s"',
            'ALTER TABLE "public"."people" ADD COLUMN "s" integer GENERATED ALWAYS AS ((a * b)) STORED',
        ],
    ),
    Case(
        "generated column re-added: its index comes back",
        "CREATE TABLE people (id serial PRIMARY KEY, a int, b int, s int GENERATED ALWAYS AS (a + b) STORED);"
        "CREATE INDEX ix_people_s ON people (s); INSERT INTO people (a, b) VALUES (2, 3)",
        md(
            lambda m: Index(
                "ix_people_s",
                Table(
                    "people",
                    m,
                    Column("id", Integer, primary_key=True),
                    Column("a", Integer),
                    Column("b", Integer),
                    Column("s", Integer, Computed("a * b", persisted=True)),
                ).c.s,
            )
        ),
        [
            'ALTER TABLE "public"."people" DROP COLUMN "s"',
            'ALTER TABLE "public"."people" ADD COLUMN "s" integer GENERATED ALWAYS AS ((a * b)) STORED',
            'CREATE INDEX "ix_people_s" ON "public"."people" USING btree (s)',
        ],
    ),
    Case(
        "primary key rebuilt: the foreign keys pointing at it go and come back",
        "CREATE TABLE teams (id int PRIMARY KEY, code text NOT NULL);"
        "CREATE TABLE people (id serial PRIMARY KEY, team_id int CONSTRAINT fk_team REFERENCES teams (id))",
        md(
            lambda m: Table(
                "teams",
                m,
                Column("id", Integer, primary_key=True, autoincrement=False),
                Column("code", Text, primary_key=True),
            ),
            people(Column("team_id", Integer)),
        ),
        [
            'ALTER TABLE "public"."people" DROP CONSTRAINT "fk_team"',
            'ALTER TABLE "public"."teams" DROP CONSTRAINT "teams_pkey"',
            'ALTER TABLE "public"."teams" ADD CONSTRAINT "teams_pkey" PRIMARY KEY ("id", "code")',
        ],
        {1: {"index_dropped"}, 2: {"data_dependent"}},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_acceptance(pg: TestDB, case: Case) -> None:
    if case.before:
        pg.execute(case.before)
    prepared, applied = sync(pg, case.models(), **case.options)  # type: ignore[arg-type]
    statements = prepared.plan.statements
    assert [s.sql for s in statements] == case.statements
    assert {i: {str(h.kind) for h in s.hazards} for i, s in enumerate(statements) if s.hazards} == case.hazards
    assert all(h.probe is None for h in prepared.plan.hazards), "every probe was counted"
    assert applied is not None
    assert rediff(pg, case.models(), **case.options) == []
