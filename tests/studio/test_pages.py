"""The studio's pages against a real database: what each shows, links, escaping, pagination."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from markupsafe import escape

from schemasync.history import versions
from schemasync.studio.erd import table_href
from tests.conftest import TestDB
from tests.studio.helpers import (
    HOSTILE_COLUMN,
    HOSTILE_SCHEMA,
    HOSTILE_TABLE,
    HOSTILE_VALUE,
    Studio,
    make_studio,
    write_models,
)


def links(page: str, css_class: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a class="[^"]*\b{css_class}\b[^"]*" href="([^"]+)"', page)]


def test_overview_shows_the_status_figures(shop_studio: Studio, pg: TestDB) -> None:
    with pg.connect() as conn, conn.transaction():
        versions.ensure_table(conn, announce=False)
        versions.record(
            conn, versions.Record(schema_version="1.0.0", status=versions.Status.INITIAL, environment="development")
        )
    page = shop_studio.get("/")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'id="fig-tables">8<', text)  # 7 in public + 1 in "odd schema"; schema_versions is ours
    assert "in step" in text and "1.0.0" in text
    assert "postgres@127.0.0.1:5432/" + pg.name in text
    assert "not configured" in text  # no models: nothing to compare with
    tables = shop_studio.get("/tables").text  # schemasync's own tables: listed, marked, left out of the diagram
    assert re.search(r'name=schema_versions">schema_versions</a> <span class="badge muted-badge"', tables)
    diagram = html.unescape(shop_studio.get("/relationships").text)
    assert 'data-table="public.schema_versions"' not in diagram and 'data-table="public.orders"' in diagram
    assert re.search(r"schemasync's own [^)]*public\.schema_versions[^)]* left out", diagram)
    assert 'data-table="public.schema_versions"' in shop_studio.get("/relationships", table="schema_versions").text


def test_tables_list_links_every_table_and_filters(shop_studio: Studio) -> None:
    page = shop_studio.get("/tables").text
    hrefs = links(page, "table-link")
    assert "/table?schema=public&name=customers" in hrefs
    assert table_href("public", HOSTILE_TABLE) in hrefs
    assert table_href(HOSTILE_SCHEMA, "x/y?z&w") in hrefs
    assert "People who buy things" in page
    filtered = shop_studio.get("/tables", q="ORDER").text
    visible = re.findall(r'<tr data-name="([^"]+)">', filtered)  # rows not matching are rendered hidden
    assert sorted(visible) == ["public.order_items", "public.orders"]
    assert 'value="ORDER"' in filtered


def test_table_page_shows_columns_keys_constraints_and_indexes(shop_studio: Studio) -> None:
    page = shop_studio.get("/table", schema="public", name="products").text
    assert "numeric(10,2)" in page and "not null" in page
    assert "(price &gt;= (0)::numeric)" in page  # the CHECK as PostgreSQL renders it, escaped
    assert "products_pkey" in page
    orders = shop_studio.get("/table", name="orders").text
    assert "orders_by_customer" in orders and "customer_id, placed DESC" in orders
    assert "now()" in orders and "on delete cascade" in orders
    customers = shop_studio.get("/table", name="customers").text
    assert "Login, unique" in customers and "customers_email_key" in customers
    referencing = links(customers, "ref-link")
    assert "/table?schema=public&name=orders" in referencing
    assert table_href(HOSTILE_SCHEMA, "x/y?z&w") in referencing


def test_foreign_key_links_lead_to_the_referenced_tables(shop_studio: Studio) -> None:
    page = shop_studio.get("/table", name="order_items").text
    targets = set(links(page, "fk-link"))
    assert targets == {"/table?schema=public&name=orders", "/table?schema=public&name=products"}
    for href in targets:
        followed = shop_studio.client.get(href)
        assert followed.status_code == 200
        assert f'<h1 class="table-title">{parse_qs(urlsplit(href).query)["name"][0]}</h1>' in followed.text
    tree = shop_studio.get("/table", name="categories").text  # a self-reference links to itself
    assert "/table?schema=public&name=categories" in links(tree, "fk-link")


def test_hostile_names_and_values_are_escaped_everywhere(shop_studio: Studio) -> None:
    raw = "<script>alert(1)</script>"
    for path in ("/tables", "/relationships"):
        page = shop_studio.get(path).text
        assert raw not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = shop_studio.get("/table", schema="public", name=HOSTILE_TABLE)
    assert page.status_code == 200
    text = page.text
    assert raw not in text and "<b>col" not in text and '<script>alert("x")' not in text
    assert str(escape(HOSTILE_COLUMN)) in text
    assert str(escape(HOSTILE_VALUE)) in text  # the value itself, quotes and unicode intact
    assert '<td class="null">NULL</td>' in text
    assert "/table?schema=public&name=customers" in links(text, "fk-link")
    other = shop_studio.get("/table", schema=HOSTILE_SCHEMA, name="x/y?z&w")
    assert other.status_code == 200 and "x/y?z&amp;w" in other.text


def test_data_is_paginated_sortable_and_bounded(pg: TestDB, project: Path) -> None:
    pg.execute("CREATE TABLE items (id int PRIMARY KEY, label text, blob text)")
    pg.execute("INSERT INTO items SELECT g, 'item ' || g, repeat('x', 2000) FROM generate_series(1, 120) g")
    studio = make_studio(pg.url, project)

    def ids(page: str) -> list[int]:
        return [int(x) for x in re.findall(r"<tr><td>(\d+)</td>", page)]

    first = studio.get("/table", name="items", per=50).text
    assert ids(first) == list(range(1, 51))
    assert "Rows 1–50 of 120" in first and 'rel="next"' in first and 'rel="prev"' not in first
    last = studio.get("/table", name="items", per=50, page=3).text
    assert ids(last) == list(range(101, 121))
    assert "Rows 101–120 of 120" in last and 'rel="next"' not in last and 'rel="prev"' in last
    assert "x" * 500 in last and "x" * 501 not in last  # long values are cut (and never fetched whole)
    descending = studio.get("/table", name="items", per=25, sort="label", desc=1).text
    assert ids(descending)[:3] == [99, 98, 97]  # text order: 'item 99' > 'item 98' > ... > 'item 100'
    fallback = studio.get("/table", name="items", page="nonsense", per=7, sort="no such column").text
    assert ids(fallback) == list(range(1, 51))  # bad parameters fall back to the defaults


def test_sorting_by_a_column_without_ordering_falls_back_to_the_key(pg: TestDB, project: Path) -> None:
    pg.execute("CREATE TABLE shapes (id int PRIMARY KEY, doc json, at point)")
    pg.execute("""INSERT INTO shapes VALUES (1, '{"a": 1}', '(1,2)'), (2, '[]', '(0,0)')""")
    studio = make_studio(pg.url, project)
    for column in ("doc", "at"):  # PostgreSQL cannot ORDER BY json or point
        page = studio.get("/table", name="shapes", sort=column, desc=1)
        assert page.status_code == 200, column
        assert f"cannot sort by {column}: its type has no ordering" in page.text
        assert re.findall(r"<tr><td>(\d+)</td>", page.text) == ["1", "2"]  # in primary key order
    by_key = studio.get("/table", name="shapes", sort="id", desc=1).text
    assert re.findall(r"<tr><td>(\d+)</td>", by_key) == ["2", "1"] and "cannot sort" not in by_key


def test_relationships_diagram_links_tables_and_focuses(shop_studio: Studio) -> None:
    page = shop_studio.get("/relationships").text
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count('class="erd-edge"') == 7  # every foreign key, the self-reference included
    hrefs = {html.unescape(h) for h in re.findall(r'<a href="([^"]+)" class="erd-table', svg)}
    assert "/table?schema=public&name=orders" in hrefs and table_href("public", HOSTILE_TABLE) in hrefs
    assert "style=" not in svg and "<script" not in svg
    focused = shop_studio.get("/relationships", schema="public", table="products", depth=1).text
    shown = set(re.findall(r'data-table="([^"]+)"', focused))
    assert shown == {"public.products", "public.categories", "public.order_items"}
    missing = shop_studio.get("/relationships", table="nope")
    assert missing.status_code == 404 and "There is no table public.nope" in missing.text


def test_history_lists_schema_versions_rows(pg: TestDB, project: Path) -> None:
    studio = make_studio(pg.url, project)
    assert "run <code>schemasync setup</code>" in studio.get("/history").text
    with pg.connect() as conn, conn.transaction():
        versions.ensure_table(conn, announce=False)
        for version, status, digest in (("1.0.0", "initial", "a" * 64), ("1.1.0", "applied", "b" * 64)):
            versions.record(
                conn,
                versions.Record(
                    schema_version=version,
                    status=versions.Status(status),
                    environment="production",
                    description="Added <script>x</script> column",
                    schema_hash=digest,
                    approved_by="ops lead",
                    backup_uri="s3://bucket/key.dump",
                    changes=3,
                ),
            )
    page = studio.get("/history").text
    assert page.index("1.1.0") < page.index("1.0.0")  # newest first
    assert "approved by ops lead" in page and "s3://bucket/key.dump" in page
    assert "Added &lt;script&gt;x&lt;/script&gt; column" in page
    assert "schema changed" in page and "3 changes" in page


def test_unknown_pages_and_tables_are_clear_404s(shop_studio: Studio) -> None:
    for path, params, text in (
        ("/nowhere", {}, "There is no page at /nowhere"),
        ("/table", {"name": "ghost"}, "There is no table public.ghost"),
        ("/table", {}, "No table was named"),
    ):
        page = shop_studio.get(path, **params)
        assert page.status_code == 404
        assert text in page.text and "Traceback" not in page.text
        assert '<span class="badge env env-development">development</span>' in page.text  # the header as on pages


def test_history_shows_what_changed_between_recorded_snapshots(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    first = write_models(cli.project, 'Table("users", metadata, Column("id", Integer, primary_key=True))\n')
    second = write_models(
        cli.project,
        'Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", Text))\n'
        'Table("teams", metadata, Column("id", Integer, primary_key=True))\n',
    )
    for version, models in (("1.0.0", first), ("1.1.0", second)):
        synced = cli("sync", "--yes", "--database-url", pg.url, "--models", models, "--app-version", version)
        assert synced.code == 0, synced.stderr
    page = make_studio(pg.url, cli.project).get("/history").text
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d+)</td>(.*?)</tr>", page, re.DOTALL)
    changes = {int(i): [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", body)] for i, body in rows}
    newest, oldest = max(changes), min(changes)
    assert changes[newest] == ["Found 1 new table: teams", "Found 1 new column: users.email"]
    assert changes[oldest] == []  # the first row has no snapshot before it to compare with
    assert page.count("1 new column: users.email") == 1  # sync's description says the same: shown once


def test_tables_list_shows_views_and_materialized_views(pg: TestDB, project: Path) -> None:
    pg.execute(
        """
        CREATE TABLE t (id int PRIMARY KEY, note text);
        CREATE VIEW "<b>view</b>" AS SELECT id, note FROM t;
        CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM t;
        CREATE INDEX ix_counts ON counts (n);
        """
    )
    page = make_studio(pg.url, project).get("/tables").text
    assert "<h2>Views</h2>" in page
    assert str(escape("public.<b>view</b>")) in page and "<b>view</b>" not in page
    assert "materialized view" in page and "ix_counts" in page

    rows = re.findall(r'<tr class="view-row" data-name="([^"]+)"[^>]*>(.*?)</tr>', page, re.DOTALL)
    kinds = {html.unescape(name): re.findall(r'data-kind="([^"]+)"', body) for name, body in rows}
    assert kinds == {"public.<b>view</b>": ["view"], "public.counts": ["materialized view"]}
    assert "/relationships?schema=public&table=counts" in links(page, "view-link")
    assert "reads</span> t" in page


def test_diagram_shows_views_with_edges_to_what_they_read(pg: TestDB, project: Path) -> None:
    pg.execute(
        """
        CREATE TABLE t (id int PRIMARY KEY, note text);
        CREATE TABLE u (id int PRIMARY KEY, t_id int REFERENCES t);
        CREATE TABLE lonely (id int PRIMARY KEY);
        CREATE VIEW "<b>v</b>" AS SELECT t.id, u.id AS u_id FROM t JOIN u ON u.t_id = t.id;
        CREATE MATERIALIZED VIEW counts AS SELECT count(*) AS n FROM "<b>v</b>";
        """
    )
    studio = make_studio(pg.url, project)
    page = studio.get("/relationships").text
    svg = page[page.index("<svg") : page.index("</svg>")]
    kinds = {table: kind for kind, table in re.findall(r'data-kind="([^"]+)" data-table="([^"]+)"', svg)}
    assert {html.unescape(k): v for k, v in kinds.items()} == {
        "public.t": "table",
        "public.u": "table",
        "public.lonely": "table",
        "public.<b>v</b>": "view",
        "public.counts": "materialized view",
    }
    assert "<b>" not in svg and "style=" not in svg
    assert svg.count('class="erd-edge"') == 1  # the one foreign key
    uses = sorted(html.unescape(t) for t in re.findall(r'class="erd-edge erd-uses"[^>]*><title>([^<]+)</title>', svg))
    assert uses == ["materialized view counts reads <b>v</b>", "view <b>v</b> reads t", "view <b>v</b> reads u"]
    focused = studio.get("/relationships", schema="public", table="counts", depth=1)
    assert focused.status_code == 200
    shown = {html.unescape(n) for n in re.findall(r'data-table="([^"]+)"', focused.text)}
    assert shown == {"public.counts", "public.<b>v</b>"}


def test_tables_list_shows_functions_triggers_and_policies(shop_studio: Studio, pg: TestDB) -> None:
    pg.execute(
        """
        CREATE FUNCTION "<b>touch</b>"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION "<b>touch</b>"();
        CREATE POLICY own_orders ON orders FOR SELECT USING (true);
        COMMENT ON FUNCTION "<b>touch</b>"() IS 'stamps <rows>';
        """
    )
    page = shop_studio.get("/tables").text
    assert f'<div class="muted small comment">{escape("stamps <rows>")}</div>' in page
    assert "Functions, triggers and policies" in page
    assert f"<code>public.{escape('<b>touch</b>')}()</code>" in page  # escaped, with its signature
    assert "<code>orders_touch</code></td><td>public.orders</td>" in page
    assert "policy (SELECT)</td><td><code>own_orders</code>" in page


def test_table_page_shows_its_triggers_policies_and_row_level_security(shop_studio: Studio, pg: TestDB) -> None:
    pg.execute(
        """
        CREATE FUNCTION nop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER "<i>orders_nop</i>" BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION nop();
        ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
        CREATE POLICY big_only ON orders FOR SELECT USING (id > 10);
        COMMENT ON POLICY big_only ON orders IS '<script>only the big ones</script>';
        """
    )
    page = shop_studio.get("/table", name="orders").text
    assert escape("<script>only the big ones</script>") in page and "<script>only" not in page  # its comment, escaped
    assert "Triggers and row-level security" in page and "enabled" in page
    assert f"<code>{escape('<i>orders_nop</i>')}</code>" in page and "<i>orders_nop</i>" not in page
    assert "<code>big_only</code>" in page and "(id &gt; 10)" in page
    assert "Triggers and row-level security" not in shop_studio.get("/table", name="customers").text
