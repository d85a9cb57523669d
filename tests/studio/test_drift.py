"""The drift page and the overview's sync state: the plan `diff` shows, with hazards, against real models."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.conftest import TestDB
from tests.studio.helpers import make_studio, write_models


def test_drift_shows_the_plan_with_counted_hazards(pg: TestDB, project: Path) -> None:
    pg.execute("CREATE TABLE accounts (id integer PRIMARY KEY, name text, legacy text)")
    pg.execute("INSERT INTO accounts VALUES (1, NULL, 'x'), (2, 'a name longer than twenty characters', 'y')")
    models = write_models(
        project,
        'Table("accounts", metadata, Column("id", Integer, primary_key=True), Column("name", String(20), nullable=False))\n'
        'Table("notes", metadata, Column("id", Integer, primary_key=True), Column("account_id", ForeignKey("accounts.id")))\n',
    )
    studio = make_studio(pg.url, project, models=models)
    page = studio.get("/drift")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "out of sync" in text
    assert "Found 1 new table: notes" in text
    assert 'CREATE TABLE "public"."notes"' in text
    assert 'ALTER COLUMN "name" TYPE character varying(20)' in text
    assert "DATA_DEPENDENT" in text and "1 row" in text and "(will fail as the data stands)" in text
    assert "Left alone (in the database, not in the models; --prune drops them): column public.accounts.legacy" in text
    assert "BEGIN;" in text and "COMMIT;" in text  # the whole script, as `diff --sql` prints it
    overview = studio.get("/").text
    assert "out of sync" in overview and "data_dependent" in overview.lower()


def test_drift_in_sync_and_without_models(pg: TestDB, project: Path) -> None:
    pg.execute("CREATE TABLE t (id serial PRIMARY KEY)")  # what SQLAlchemy makes of an Integer primary key
    models = write_models(project, 'Table("t", metadata, Column("id", Integer, primary_key=True))\n')
    in_sync = make_studio(pg.url, project, models=models)
    page = in_sync.get("/drift").text
    assert "The database matches the models." in page and "<h2>Plan</h2>" not in page
    assert "in sync" in in_sync.get("/").text
    unconfigured = make_studio(pg.url, project).get("/drift")
    assert unconfigured.status_code == 200 and "no models configured" in unconfigured.text


def test_the_script_is_what_diff_sql_prints(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg.execute("CREATE TABLE accounts (id integer PRIMARY KEY, name text, legacy text)")
    pg.execute("INSERT INTO accounts VALUES (1, 'a name longer than twenty characters', 'x')")
    models = write_models(
        cli.project,
        'Table("accounts", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))\n'
        'Table("notes", metadata, Column("id", Integer, primary_key=True), Column("body", Text, nullable=False))\n',
    )
    printed = cli("diff", "--sql", "--database-url", pg.url, "--models", models)
    assert printed.code in (0, 2), printed.stderr
    page = make_studio(pg.url, cli.project, models=models).get("/drift").text
    shown = re.search(r'<pre class="sql script" id="plan-sql">(.*?)</pre>', page, re.DOTALL)
    assert shown is not None
    assert html.unescape(shown.group(1)).strip() == printed.stdout.strip()
    assert "-- DATA_DEPENDENT: accounts has 1 row" in printed.stdout  # the measured hazard is in both


def test_edited_models_are_read_again_on_the_next_page(pg: TestDB, project: Path) -> None:
    models = write_models(project, 'Table("a", metadata, Column("id", Integer, primary_key=True))\n')
    module = project / (models.split(":")[0] + ".py")
    studio = make_studio(pg.url, project, models=models)
    assert "Found 1 new table: a" in studio.get("/drift").text
    assert "Found 1 new table: a" in studio.get("/drift").text  # unchanged: the same import
    source = module.read_text()
    module.write_text(source + 'Table("b", metadata, Column("id", Integer, primary_key=True))\n')
    assert "Found 2 new tables: a, b" in studio.get("/drift").text
    module.write_text(source + "Table(\n")  # a mistake while editing: the page says so
    broken = studio.get("/drift")
    assert broken.status_code == 500 and "syntax error" in broken.text
    module.write_text(source)  # fixed: back to the first plan, no restart
    assert "Found 1 new table: a" in studio.get("/drift").text
    assert "out of sync" in studio.get("/").text


def test_model_errors_and_unmanaged_declared_are_listed_never_in_sync(pg: TestDB, project: Path) -> None:
    """A database matching every object the models could compare, but the models also declare an index
    PostgreSQL refuses (GIN on text has no default operator class) and a tablespace schemasync does
    not manage: the drift page lists both and neither page says "in sync"."""
    pg.execute("CREATE TABLE docs (id serial PRIMARY KEY, body text)")
    models = write_models(
        project,
        'docs = Table("docs", metadata, Column("id", Integer, primary_key=True), Column("body", Text), '
        'postgresql_tablespace="pg_default")\n'
        'Index("ix_docs_body_words", docs.c.body, postgresql_using="gin")\n',
    )
    studio = make_studio(pg.url, project, models=models)
    text = html.unescape(studio.get("/drift").text)
    assert "The database matches the models." not in text and "not in sync" in text
    assert "<h2>Model errors</h2>" in text and "index ix_docs_body_words on table public.docs" in text
    assert 'no default operator class for access method "gin"' in text
    assert "<h2>Declared but not managed</h2>" in text and "tablespace on public.docs" in text
    overview = html.unescape(studio.get("/").text)
    assert "out of sync" in overview and "2 declared objects not compared" in overview
