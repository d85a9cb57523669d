"""The inspector against a real PostgreSQL: what it reads, what it leaves out, and how many queries."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg
import pytest

from schemasync.schema.inspect import QUERIES, check_expression, index_keys, inspect
from schemasync.schema.model import Schema
from tests.engine.schema_helpers import counted, has_extensions, put_rich_model_in_place

if TYPE_CHECKING:
    from tests.conftest import TestDB

# -- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "keys"),
    [
        ("CREATE INDEX i ON public.t USING btree (a, b DESC)", ("a", "b DESC")),
        (
            "CREATE UNIQUE INDEX i ON public.t USING btree (lower((email)::text)) WHERE (deleted_at IS NULL)",
            ("lower((email)::text)",),
        ),
        (
            'CREATE INDEX "i,(x" ON "My (Schema)".t USING btree ("we(ird, col" COLLATE "C" text_pattern_ops DESC NULLS LAST, id) INCLUDE (x)',
            ('"we(ird, col" COLLATE "C" text_pattern_ops DESC NULLS LAST', "id"),
        ),
        (
            "CREATE INDEX i ON public.t USING btree (COALESCE(a, ')'':,('::text), (b + 1))",
            ("COALESCE(a, ')'':,('::text)", "(b + 1)"),
        ),
        ("CREATE INDEX i ON ONLY public.p USING gin (tags)", ("tags",)),
    ],
)
def test_index_keys_are_split_at_top_level_commas_only(definition: str, keys: tuple[str, ...]) -> None:
    assert index_keys(definition) == keys


def test_check_expression_drops_keyword_and_validity() -> None:
    assert check_expression("CHECK ((amount > 0)) NOT VALID") == "((amount > 0))"
    assert check_expression("CHECK ((a > 0)) NO INHERIT") == "((a > 0)) NO INHERIT"


# -- against the server --------------------------------------------------------------------------


def test_rich_model_is_read_in_full(pg: TestDB) -> None:
    """Both sides of the no-false-drift tests come from here, so check the content, not just equality."""
    _, extensions = put_rich_model_in_place(pg)
    with pg.connect() as conn:
        schema = inspect(conn)

    assert schema.schemas == ("Reporting", "inventory")
    assert [t.qualified for t in schema.tables] == [
        "Reporting.Daily Reports",
        "inventory.stock",
        "inventory.warehouses",
        "public.organisations",
        "public.projects",
        "public.tasks",
    ]
    orgs = schema.table("public", "organisations")
    assert orgs is not None
    assert orgs.comment == "Customer accounts; it's the root of everything."
    assert [c.name for c in orgs.columns][:4] == ["id", "slug", "name", "name_sort"]  # ordinal order
    col = {c.name: c for c in orgs.columns}
    assert (col["id"].identity, col["id"].default, col["id"].nullable) == ("always", None, False)
    assert col["slug"].type == ("public.citext" if extensions else "text")
    assert col["name"].comment == "Display name, as typed."
    assert (col["name_sort"].generated, col["name_sort"].collation) == ("lower((name)::text)", '"C"')
    assert (col["status"].type, col["status"].default) == ("public.status", "'draft'::public.status")
    assert (col["tags"].type, col["tags"].default) == ("text[]", "'{}'::text[]")
    assert col["balance"].type == "numeric(12,4)"
    assert col["created_at"].type == "timestamp with time zone"
    assert col["trial_ends"].default == "(now() + '14 days'::interval)"
    assert (col["public_id"].type, col["public_id"].default) == ("uuid", "gen_random_uuid()")
    assert [c.name for c in orgs.checks] == ["ck_organisations_balance_not_negative", "ck_organisations_name_length"]
    assert orgs.checks[0].expression == "((balance >= (0)::numeric))"
    idx = {i.name: i for i in orgs.indexes}
    assert set(idx) == {
        "ix_organisations_created_desc",
        "ix_organisations_lower_name",
        "ix_organisations_settings",
        "ix_organisations_tags",
    } | ({"ix_organisations_name_trgm"} if extensions else set()), "PK and unique indexes belong to them"
    assert (idx["ix_organisations_lower_name"].keys, idx["ix_organisations_lower_name"].unique) == (
        ("lower((name)::text)",),
        True,
    )
    assert (idx["ix_organisations_settings"].method, idx["ix_organisations_settings"].keys) == (
        "gin",
        ("settings jsonb_path_ops",),
    )
    if extensions:
        assert idx["ix_organisations_name_trgm"].keys == ("name public.gin_trgm_ops",)
        assert col["handle"].default == "'anon'::public.citext"
    assert idx["ix_organisations_created_desc"].definition == (
        "CREATE INDEX ix_organisations_created_desc ON public.organisations USING btree (created_at DESC, id)"
    )

    projects = schema.table("public", "projects")
    assert projects is not None
    assert projects.primary_key is not None and projects.primary_key.columns == ("organisation_id", "number")
    uq = {u.name: u for u in projects.uniques}
    assert uq["uq_projects_organisation_id_code"].nulls_not_distinct is True
    assert (uq["uq_projects_title_deferred"].deferrable, uq["uq_projects_title_deferred"].initially_deferred) == (
        True,
        True,
    )
    assert projects.column("title").collation == '"POSIX"'  # type: ignore[union-attr]
    pidx = {i.name: i for i in projects.indexes}
    assert (pidx["ix_projects_open"].include, pidx["ix_projects_open"].where) == (("title",), "(NOT archived)")
    assert pidx["ix_projects_title_pattern"].keys == ("title text_pattern_ops",)
    assert pidx["ix_projects_code_c"].keys == ('code COLLATE "C" DESC',)
    assert pidx["ix_projects_budget_hash"].method == "hash"

    tasks = schema.table("public", "tasks")
    assert tasks is not None
    tcol = {c.name: c for c in tasks.columns}
    assert tcol["id"].default == "nextval('public.tasks_id_seq'::regclass)"
    assert tcol["order_number"].default == "nextval('public.order_number_seq'::regclass)"
    assert tcol["total"].generated == "((quantity)::numeric * unit_price)"
    assert tcol["estimate"].identity == "by default"
    fks = {f.name: f for f in tasks.foreign_keys}
    composite = fks["fk_tasks_organisation_id_project_number_projects"]
    assert (composite.columns, composite.ref_table, composite.ref_columns) == (
        ("organisation_id", "project_number"),
        "projects",
        ("organisation_id", "number"),
    )
    assert (composite.on_delete, composite.on_update, composite.match_full) == ("RESTRICT", "CASCADE", True)
    assert fks["fk_tasks_org_default"].on_delete == "SET DEFAULT"
    selfref = fks["fk_tasks_parent_id_tasks"]
    assert (selfref.ref_table, selfref.on_delete, selfref.deferrable, selfref.initially_deferred) == (
        "tasks",
        "CASCADE",
        True,
        True,
    )
    tidx = {i.name: i for i in tasks.indexes}
    assert tidx["ix_tasks_due"].keys == ("due DESC NULLS LAST",)
    assert tidx["ix_tasks_done_nulls_first"].keys == ("done_at NULLS FIRST",)
    assert (tidx["ix_tasks_assignee_nnd"].unique, tidx["ix_tasks_assignee_nnd"].nulls_not_distinct) == (True, True)
    assert tidx["ix_tasks_total_expr"].keys == ("(((quantity)::numeric * unit_price))", "lower((assignee)::text)")
    assert tasks.checks[0].expression == '(("Order" > 0))'

    warehouses = schema.table("inventory", "warehouses")
    assert warehouses is not None
    wfk = {f.name: f for f in warehouses.foreign_keys}
    assert (wfk["fk_warehouses_main_stock"].ref_schema, wfk["fk_warehouses_main_stock"].ref_table) == (
        "inventory",
        "stock",
    )
    assert wfk["fk_warehouses_owner_id_organisations"].on_update == "RESTRICT"
    assert warehouses.uniques[0].deferrable is True
    assert warehouses.column("org_status").type == "public.status"  # type: ignore[union-attr]
    stock = schema.table("inventory", "stock")
    assert stock is not None and stock.column("history").type == "inventory.status[]"  # type: ignore[union-attr]

    reports = schema.table("Reporting", "Daily Reports")
    assert reports is not None
    assert reports.column("kind").type == '"Reporting"."Report Kind"'  # type: ignore[union-attr]
    assert reports.column("kind").default == '\'Daily\'::"Reporting"."Report Kind"'  # type: ignore[union-attr]
    assert reports.column("id").default == 'nextval(\'"Reporting"."Daily Reports_id_seq"\'::regclass)'  # type: ignore[union-attr]

    assert [(e.schema, e.name, e.labels) for e in schema.enums] == [
        ("Reporting", "Report Kind", ("Daily", "Weekly", "it's monthly")),
        ("inventory", "status", ("in_stock", "backorder", "gone")),
        ("public", "status", ("draft", "active", "retired")),
    ]
    # serial and identity sequences belong to their columns; the two standalone ones are listed
    assert [(s.schema, s.name) for s in schema.sequences] == [
        ("inventory", "batch_seq"),
        ("public", "order_number_seq"),
    ]
    batch = schema.sequences[0]
    assert (batch.start, batch.increment, batch.min_value, batch.max_value, batch.cycle) == (10, -1, -100, 10, True)
    order = schema.sequences[1]
    assert (order.start, order.increment, order.min_value, order.max_value) == (1000, 5, None, None)
    # the extensions are read; nothing they own (citext's functions, pg_trgm's) is
    expected = ["citext", "pg_trgm"] if extensions else []
    assert [x.name for x in schema.extensions] == expected
    assert not schema.reported
    assert all(t.size_bytes > 0 for t in schema.tables)


def test_json_round_trip_is_exact(pg: TestDB) -> None:
    put_rich_model_in_place(pg)
    with pg.connect() as conn:
        schema = inspect(conn)
    again = Schema.from_json(schema.to_json())
    assert again == schema
    assert again.to_json() == schema.to_json()
    assert again.hash() == schema.hash()
    assert again.tables[0].size_bytes == schema.tables[0].size_bytes  # non-compared facts survive too


def test_serialisation_is_plain_asdict_and_hash_ignores_facts() -> None:
    from dataclasses import asdict

    from schemasync.schema.model import Column, Index, PrimaryKey, Reported, Sequence, Table

    table = Table(
        "s",
        "t",
        (Column("id", "integer", False, identity="always"), Column("c", "text", collation='"C"')),
        primary_key=PrimaryKey("t_pkey", ("id",)),
        indexes=(Index("i", False, "btree", ("c",), include=("id",), where="(c IS NULL)"),),
        row_estimate=5,
        size_bytes=8192,
    )
    schema = Schema(
        tables=(table,),
        sequences=(Sequence("s", "q", min_value=3),),
        reported=(Reported("view", "s", "v", definition_hash="x"),),
        schemas=("s",),
        server_version=150000,
    )
    assert schema.to_dict() == {"format": 1, **asdict(schema)}
    assert Schema.from_json(schema.to_json()) == schema
    bigger = replace(schema, tables=(replace(table, row_estimate=10**6, size_bytes=10**9),), server_version=160000)
    assert bigger == schema and bigger.hash() == schema.hash()
    assert replace(schema, schemas=()).hash() != schema.hash()
    deep = replace(table, columns=(replace(table.columns[0], comment="changed"), *table.columns[1:]))
    assert replace(schema, tables=(deep,)).hash() != schema.hash()  # a change deep inside counts too


def _many_tables(db: TestDB, count: int) -> None:
    statements = []
    for i in range(count):
        ref = f", parent_id integer REFERENCES t{i - 1}(id) ON DELETE CASCADE" if i else ""
        statements.append(
            f"CREATE TABLE t{i} (id serial PRIMARY KEY, name text NOT NULL, score numeric(8,2) DEFAULT 0{ref});"
            f"CREATE INDEX ix_t{i}_name ON t{i} (lower(name)) WHERE score > 0"
        )
    with db.connect() as conn:
        conn.execute(";".join(statements))


def test_query_count_does_not_grow_with_the_number_of_tables(pg: TestDB) -> None:
    _many_tables(pg, 5)
    with counted(pg) as (conn, statements):
        small = inspect(conn)
    few = len(statements)
    with pg.connect() as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    _many_tables(pg, 200)
    with counted(pg) as (conn, statements):
        big = inspect(conn)
    assert (len(small.tables), len(big.tables)) == (5, 200)
    assert sum(len(t.foreign_keys) + len(t.indexes) for t in big.tables) == 199 + 200
    assert len(statements) == few == len(QUERIES) + 1  # one per object kind, plus the session setup


def test_materialized_view_indexes_belong_to_the_view_not_to_a_table(pg: TestDB) -> None:
    """Tables' and materialized views' indexes come from one query (indexes.sql), each on its own relation's oid."""
    pg.execute(
        """
        CREATE SCHEMA app;
        CREATE TABLE app.orders (id int PRIMARY KEY, status text, amount int);
        CREATE INDEX ix_orders_status ON app.orders (status);
        CREATE MATERIALIZED VIEW app.totals AS SELECT status, sum(amount) AS total FROM app.orders GROUP BY status;
        CREATE UNIQUE INDEX ix_totals_status ON app.totals (status);
        CREATE INDEX ix_totals_big ON app.totals (total) WHERE total > 100;
        CREATE VIEW app.plain AS SELECT id FROM app.orders;
        """
    )
    with pg.connect() as conn:
        schema = inspect(conn)
    (orders,) = schema.tables
    assert [i.name for i in orders.indexes] == ["ix_orders_status"]
    views = {v.name: v for v in schema.views}
    assert [(i.name, i.unique, i.keys, i.where) for i in views["totals"].indexes] == [
        ("ix_totals_big", False, ("total",), "(total > 100)"),
        ("ix_totals_status", True, ("status",), None),
    ]
    assert views["plain"].indexes == ()


def test_views_are_reported_functions_triggers_policies_modelled(pg: TestDB) -> None:
    pg.execute(
        """
        CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int);
        CREATE TABLE entries (id int PRIMARY KEY, account_id int REFERENCES accounts(id));
        CREATE VIEW rich_accounts AS SELECT * FROM accounts WHERE balance > 100;
        CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM accounts;
        CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
        CREATE AGGREGATE total(int) (SFUNC = add, STYPE = int);
        CREATE PROCEDURE reset_balances() LANGUAGE sql AS 'UPDATE accounts SET balance = 0';
        CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();
        ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own_rows ON accounts USING (owner = current_user);
        """
    )
    contrib = has_extensions(pg, ("pgcrypto",))
    if contrib:
        pg.execute("CREATE EXTENSION pgcrypto")  # its functions belong to it and are not listed
    with pg.connect() as conn:
        schema = inspect(conn)
    assert [(x.name, x.schema) for x in schema.extensions] == ([("pgcrypto", "public")] if contrib else [])
    assert [(r.kind, r.schema, r.name, r.table) for r in schema.reported] == [
        ("function", "public", "total(integer)", None),  # an aggregate: listed, not managed
    ]
    assert [(v.name, v.materialized) for v in schema.views] == [("rich_accounts", False), ("totals", True)]
    # Functions, procedures and triggers are managed: read with their signatures and definitions (the
    # extension's functions are not among them, nor are the FK's internal triggers).
    assert [(r.kind, r.name, r.arguments, r.result) for r in schema.routines] == [
        ("function", "add", "integer, integer", "integer"),
        ("procedure", "reset_balances", "", None),
        ("function", "touch", "", "trigger"),
    ]
    assert schema.routines[0].definition.startswith("CREATE OR REPLACE FUNCTION public.add(a integer, b integer)")
    assert [(t.table, t.name, t.enabled) for t in schema.triggers] == [("accounts", "accounts_touch", "O")]
    assert [(r.table, r.enabled, r.forced) for r in schema.row_security] == [("accounts", True, False)]
    assert [(p.table, p.name, p.command, p.permissive, p.roles, p.using, p.check) for p in schema.policies] == [
        ("accounts", "own_rows", "ALL", True, ("public",), "(owner = CURRENT_USER)", None)
    ]
    assert schema.triggers[0].definition == (
        "CREATE TRIGGER accounts_touch BEFORE UPDATE ON public.accounts FOR EACH ROW EXECUTE FUNCTION public.touch()"
    )
    assert all(len(r.definition_hash) == 32 for r in schema.reported)
    assert [t.name for t in schema.tables] == ["accounts", "entries"], "views are not tables"

    before = {r.name: r.definition_hash for r in schema.reported}
    pg.execute("CREATE OR REPLACE VIEW rich_accounts AS SELECT * FROM accounts WHERE balance > 500")
    with pg.connect() as conn:
        again = inspect(conn)
    after = {r.name: r.definition_hash for r in again.reported}
    assert again.view("public", "rich_accounts") != schema.view("public", "rich_accounts")
    assert after["total(integer)"] == before["total(integer)"]


def test_extension_members_and_system_schemas_are_left_out(pg: TestDB) -> None:
    if not has_extensions(pg, ("hstore",)):
        pytest.skip("the server has no hstore extension (contrib not installed)")
    pg.execute("CREATE SCHEMA ext; CREATE EXTENSION hstore SCHEMA ext; CREATE TABLE kv (id int, attrs ext.hstore)")
    with pg.connect() as conn:
        schema = inspect(conn)
    assert [t.name for t in schema.tables] == ["kv"]
    assert schema.tables[0].columns[1].type == "ext.hstore"
    assert schema.schemas == ("ext",)
    assert [(x.name, x.schema) for x in schema.extensions] == [("hstore", "ext")]  # not its 80 functions
    assert not schema.reported
    assert not schema.enums and not schema.sequences


def test_schemas_filter_and_standalone_sequence_ownership(pg: TestDB) -> None:
    pg.execute(
        """
        CREATE SCHEMA a; CREATE SCHEMA b;
        CREATE TABLE a.t (id serial PRIMARY KEY, n bigint, k int GENERATED ALWAYS AS IDENTITY);
        CREATE SEQUENCE a.n_seq OWNED BY a.t.n;
        CREATE SEQUENCE a.free_seq AS integer INCREMENT 2 MINVALUE 5 MAXVALUE 500 CACHE 10;
        CREATE TABLE b.t (id int);
        CREATE TYPE b.mood AS ENUM ();
        """
    )
    with pg.connect() as conn:
        only_a = inspect(conn, schemas=["a"])
        everything = inspect(conn)
        nothing = inspect(conn, schemas=[])
    assert [t.qualified for t in only_a.tables] == ["a.t"]
    assert only_a.schemas == ("a",) and not only_a.enums
    assert [(s.name, s.owned_by) for s in only_a.sequences] == [("free_seq", None), ("n_seq", "t.n")]
    free = only_a.sequences[0]
    assert (free.data_type, free.increment, free.min_value, free.max_value, free.cache) == ("integer", 2, 5, 500, 10)
    assert [t.qualified for t in everything.tables] == ["a.t", "b.t"]
    assert everything.schemas == ("a", "b")
    assert [(e.name, e.labels) for e in everything.enums] == [("mood", ())]
    assert nothing == Schema(server_version=nothing.server_version)


def test_validity_of_constraints_and_indexes(pg: TestDB) -> None:
    pg.execute(
        """
        CREATE TABLE p (id int PRIMARY KEY);
        CREATE TABLE c (id int, p_id int, amount int, code text);
        INSERT INTO c VALUES (1, 99, -5, 'x'), (2, 98, 1, 'x');
        ALTER TABLE c ADD CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p(id) NOT VALID;
        ALTER TABLE c ADD CONSTRAINT c_amount_ck CHECK (amount > 0) NOT VALID;
        """
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg.execute("CREATE UNIQUE INDEX CONCURRENTLY c_code_ux ON c (code)")  # fails, leaves an invalid index
    with pg.connect() as conn:
        table = inspect(conn).table("public", "c")
    assert table is not None
    assert table.foreign_keys[0].validated is False
    assert (table.checks[0].expression, table.checks[0].validated) == ("((amount > 0))", False)
    assert (table.indexes[0].name, table.indexes[0].valid) == ("c_code_ux", False)


def test_inspect_leaves_the_callers_session_and_transaction_alone(pg: TestDB) -> None:
    pg.execute("CREATE TABLE t (id int)")
    with psycopg.connect(pg.url) as conn:  # not autocommit: the caller has a transaction open
        conn.execute("SET search_path = public, pg_catalog")
        conn.execute("INSERT INTO t VALUES (1)")
        schema = inspect(conn)
        assert [t.name for t in schema.tables] == ["t"]
        assert conn.execute("SHOW search_path").fetchone() == ("public, pg_catalog",)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,), "the caller's work is not rolled back"
        conn.commit()
    assert pg.scalar("SELECT count(*) FROM t") == 1
