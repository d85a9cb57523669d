"""One handler per page: read through the `Source`, shape what the template needs, render.

Handlers are plain functions (Starlette runs them in its thread pool), because the engine and psycopg
are synchronous. Query parameters are checked here: a bad page number or an unknown sort column
falls back to the default instead of failing, and unknown tables are a 404 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from schemasync.bookkeeping import OWN_TABLES
from schemasync.schema.model import ForeignKey, Schema, Table, View
from schemasync.studio import erd
from schemasync.studio.history import HistoryEntry, entries
from schemasync.studio.source import NotFound, NotPermitted, Rows, Source

PER_PAGE = (25, 50, 100, 200)
HISTORY_LIMITS = (50, 100, 500, 1000)
MAX_DEPTH = 3


def _source(request: Request) -> Source:
    return request.app.state.source  # type: ignore[no-any-return]


def _render(request: Request, template: str, active: str, **context: Any) -> Response:
    request.scope["studio_active"] = active
    source = _source(request)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        template,
        {"active": active, "database": source.target.display, "environment": source.settings.env, **context},
    )


def _int(request: Request, name: str, default: int, *, low: int = 1, high: int | None = None) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    value = max(value, low)
    return min(value, high) if high is not None else value


# -- overview --------------------------------------------------------------------------------------


def overview(request: Request) -> Response:
    request.scope["studio_active"] = "overview"
    data = _source(request).overview()
    return _render(request, "overview.html", "overview", o=data, inv=data.inventory)


# -- tables ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableRow:
    table: Table
    referenced_by: int
    matches: bool  # by the search text: the others are listed hidden, so the live filter can show them
    own: bool  # schemasync's bookkeeping (schema_versions, schema_snapshots): listed, not counted by `status`


@dataclass(frozen=True, slots=True)
class ViewRow:
    """A view or materialized view in the table list, marked with its kind; it links to its place in the
    diagram (with the relations it reads), since it has no rows page of its own."""

    view: View
    reads: tuple[tuple[str, str], ...]
    matches: bool

    @property
    def qualified(self) -> str:
        return f"{self.view.schema}.{self.view.name}"


def _incoming(schema: Schema, table: Table) -> list[tuple[Table, ForeignKey]]:
    return [
        (t, fk)
        for t in schema.tables
        for fk in t.foreign_keys
        if (fk.ref_schema, fk.ref_table) == (table.schema, table.name)
    ]


def tables(request: Request) -> Response:
    request.scope["studio_active"] = "tables"
    schema = _source(request).schema()
    q = request.query_params.get("q", "").strip()
    incoming: dict[tuple[str, str], int] = {}
    for t in schema.tables:
        for fk in t.foreign_keys:
            key = (fk.ref_schema, fk.ref_table)
            incoming[key] = incoming.get(key, 0) + 1
    rows = [
        TableRow(t, incoming.get(t.key, 0), not q or q.lower() in t.qualified.lower(), t.key in OWN_TABLES)
        for t in schema.tables
    ]
    reads = erd.reads(schema)
    view_rows = [
        ViewRow(v, tuple(reads.get(v.key, ())), not q or q.lower() in f"{v.schema}.{v.name}".lower())
        for v in schema.views
    ]
    schemas = sorted({t.schema for t in schema.tables} | {v.schema for v in schema.views})
    return _render(
        request,
        "tables.html",
        "tables",
        rows=rows,
        view_rows=view_rows,
        q=q,
        matching=sum(r.matches for r in rows) + sum(r.matches for r in view_rows),
        total=len(schema.tables),
        schemas=schemas,
        enums=schema.enums,
        sequences=schema.sequences,
        views=schema.views,
        reported=schema.reported,
        routines=schema.routines,
        triggers=schema.triggers,
        policies=schema.policies,
    )


def _table_key(request: Request) -> tuple[str, str]:
    name = request.query_params.get("name")
    if not name:
        raise NotFound("No table was named in the address.", "Pick one from the table list.")
    return (request.query_params.get("schema") or "public", name)


def table(request: Request) -> Response:
    request.scope["studio_active"] = "tables"
    source = _source(request)
    key = _table_key(request)
    schema = source.schema()
    t = source.table(schema, key)
    per_page = _int(request, "per", 50)
    per_page = per_page if per_page in PER_PAGE else 50
    page = _int(request, "page", 1, high=10_000_000)
    sort = request.query_params.get("sort") or None
    descending = request.query_params.get("desc") == "1"
    rows: Rows | None = None
    denied: NotPermitted | None = None
    try:
        rows = source.rows(t, page=page, per_page=per_page, sort=sort, descending=descending)
    except NotPermitted as exc:  # the structure comes from the catalogs, which every user may read
        denied = exc
    pk = set(t.primary_key.columns) if t.primary_key else set()
    fk_of: dict[str, ForeignKey] = {}
    for fk in t.foreign_keys:
        for c in fk.columns:
            fk_of.setdefault(c, fk)
    unique_cols = {c for u in t.uniques if len(u.columns) == 1 for c in u.columns}
    return _render(
        request,
        "table.html",
        "tables",
        t=t,
        pk=pk,
        fk_of=fk_of,
        unique_cols=unique_cols,
        incoming=_incoming(schema, t),
        triggers=[x for x in schema.triggers if (x.schema, x.table) == t.key],
        policies=[x for x in schema.policies if (x.schema, x.table) == t.key],
        row_security=next((r for r in schema.row_security if r.key == t.key), None),
        rows=rows,
        denied=denied,
        per_page_choices=PER_PAGE,
        known=lambda s, n: schema.table(s, n) is not None,
    )


# -- relationships ---------------------------------------------------------------------------------


def relationships(request: Request) -> Response:
    request.scope["studio_active"] = "relationships"
    source = _source(request)
    schema = source.schema()
    only = request.query_params.get("schema") or None
    focus_name = request.query_params.get("table") or None
    depth = _int(request, "depth", 1, high=MAX_DEPTH)
    focus = None
    if focus_name:
        focus = (only or "public", focus_name)
        if schema.view(*focus) is None:  # a view is focused like a table (it has no page of its own)
            source.table(schema, focus)
        keys = erd.neighbourhood(schema, focus, depth)
    else:  # schemasync's own tables link to nothing and would only crowd the picture (as in `status`)
        keys = {t.key for t in schema.tables if (only is None or t.schema == only) and t.key not in OWN_TABLES}
        keys |= {v.key for v in schema.views if only is None or v.schema == only}
    own = sorted(
        ".".join(k)
        for k in OWN_TABLES
        if focus is None and only in (None, k[0]) and schema.table(*k) is not None and k not in keys
    )
    drawing = erd.diagram(schema, keys, focus=focus)
    return _render(
        request,
        "relationships.html",
        "relationships",
        diagram=drawing,
        schemas=sorted({t.schema for t in schema.tables}),
        only=only,
        focus=focus,
        focus_view=schema.view(*focus) if focus is not None else None,
        depth=depth,
        max_depth=MAX_DEPTH,
        total=len(schema.tables),
        own=own,
    )


# -- drift -----------------------------------------------------------------------------------------


def drift(request: Request) -> Response:
    request.scope["studio_active"] = "drift"
    source = _source(request)
    if not source.settings.models:
        return _render(request, "drift.html", "drift", prepared=None, parts=None)
    prepared = source.drift()
    plan = prepared.plan
    parts = plan.parts()
    return _render(
        request,
        "drift.html",
        "drift",
        prepared=prepared,
        plan=plan,
        parts=[
            ("Before the transaction", parts[0]),
            ("In one transaction", parts[1]),
            ("After the transaction commits", parts[2]),
        ],
        script=plan.sql() if not plan.empty else "-- The database matches the models.",
    )


# -- history ---------------------------------------------------------------------------------------


def history(request: Request) -> Response:
    request.scope["studio_active"] = "history"
    limit = _int(request, "limit", 100)
    limit = limit if limit in HISTORY_LIMITS else 100
    source = _source(request)
    exists, rows = source.history(limit + 1)
    listed: list[HistoryEntry] = entries(rows, snapshot=source.snapshot_lookup(rows))[:limit]
    return _render(
        request,
        "history.html",
        "history",
        exists=exists,
        entries=listed,
        more=len(rows) > limit,
        limit=limit,
        limits=HISTORY_LIMITS,
    )


# -- backups ---------------------------------------------------------------------------------------


def backups(request: Request) -> Response:
    request.scope["studio_active"] = "backups"
    view = _source(request).backups()
    return _render(request, "backups.html", "backups", view=view, verification=None)


def verify_backup(request: Request) -> Response:
    request.scope["studio_active"] = "backups"
    source = _source(request)
    store = request.query_params.get("store", "")
    location = request.query_params.get("location", "")
    item, ok, detail = source.verify_backup(store, location)
    view = source.backups()
    return _render(request, "backups.html", "backups", view=view, verification=(item, ok, detail))
