"""The relationship diagram: tables and foreign keys, views and the relations they read, laid out in layers
and drawn as SVG by the server.

A small Sugiyama-style layout of our own rather than Graphviz: no binary to install, the same picture
on every machine, and full control of the markup (every name escaped, every box a link, styling by
CSS classes only, so the page's Content-Security-Policy needs no inline styles).

1. Ranks: a table sits one layer to the right of the right-most table it references (longest path
   over foreign keys, cycles broken at DFS back edges), so referenced tables are on the left and the
   reading direction follows the keys. Tables without any relationship go in a grid underneath.
2. Order within a layer: a few barycenter sweeps (left to right, then right to left) to cut crossings.
3. Positions: each box is placed level with the rows it connects to in earlier layers when there is
   room, else stacked below the previous one.
4. Edges: cubic curves from the foreign-key column's row to the referenced column's row, with a
   tooltip naming the constraint.

Views and materialized views are boxes too (dashed, marked with their kind), ranked like a table with a
foreign key to every relation they read (`Schema.dependencies`, from pg_depend), so they sit to the right
of what they use; those edges are dashed and run between the boxes' headers.

Big schemas get compact boxes (names only); the page also offers a neighbourhood view around one
table (`focus`), which is what stays readable with hundreds of tables.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from schemasync.schema.model import Column, Schema, Table, View

CHAR_W = 7.2  # width of one character of the 12px monospace font the diagram uses
LINE_H = 18
HEADER_H = 26
PAD_X = 10
MARK_W = 24  # room for the PK / FK marker
LAYER_GAP = 110
NODE_GAP = 26
MARGIN = 20
MAX_LINES = 14  # columns shown per box; key columns are always among them
MAX_CHARS = 44
COMPACT_OVER = 60  # more tables than this: boxes show the table name only
SWEEPS = 4

_SHORT_TYPES = {
    "character varying": "varchar",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "double precision": "float8",
    "character": "char",
    "boolean": "bool",
}


@dataclass(slots=True)
class _Line:
    column: str
    text: str
    type: str
    mark: str  # "PK", "FK", "PK FK" or ""


@dataclass(slots=True)
class _Node:
    table: Table  # a view's columns as a table's, for the layout
    lines: list[_Line]
    hidden: int  # columns not shown
    kind: str = "table"  # or "view", "materialized view"
    width: float = 0.0
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0
    layer: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return self.table.key

    def row_y(self, column: str | None) -> float:
        """Vertical middle of a column's row, or of the header when the column is not shown."""
        for i, line in enumerate(self.lines):
            if line.column == column:
                return self.y + HEADER_H + i * LINE_H + LINE_H / 2
        return self.y + HEADER_H / 2


@dataclass(frozen=True, slots=True)
class _Edge:
    child: tuple[str, str]
    parent: tuple[str, str]
    child_column: str
    parent_column: str
    title: str
    uses: bool = False  # a view reading a relation, not a foreign key


@dataclass(frozen=True, slots=True)
class Diagram:
    svg: str
    tables: int
    edges: int
    width: float
    height: float
    compact: bool
    names: tuple[tuple[str, str], ...] = field(default=())
    views: int = 0
    uses: int = 0  # edges from a view to a relation it reads


_KIND_TAG = {"view": "view", "materialized view": "mat. view"}


def table_href(schema: str, name: str) -> str:
    return "/table?" + urlencode({"schema": schema, "name": name})


def view_href(schema: str, name: str) -> str:
    """A view has no page of its own: its place in the diagram, with what it reads."""
    return "/relationships?" + urlencode({"schema": schema, "table": name})


def reads(schema: Schema) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each view's and materialized view's relations (tables and views) it reads, once each, in order."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for d in schema.dependencies:
        if (
            d.kind in _KIND_TAG
            and d.ref_kind == "relation"
            and (d.ref_schema, d.ref_name) not in found[(d.schema, d.name)]
        ):
            found[(d.schema, d.name)].append((d.ref_schema, d.ref_name))
    return found


def short_type(type_: str) -> str:
    for long, short in _SHORT_TYPES.items():
        if type_ == long or type_.startswith(long + "(") or type_.startswith(long + "["):
            return short + type_[len(long) :]
    return type_


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def neighbourhood(schema: Schema, focus: tuple[str, str], depth: int) -> set[tuple[str, str]]:
    """The focus table (or view) and every one within `depth` foreign keys or view reads of it, in either
    direction."""
    links: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for t in schema.tables:
        for fk in t.foreign_keys:
            links[t.key].add((fk.ref_schema, fk.ref_table))
            links[(fk.ref_schema, fk.ref_table)].add(t.key)
    for view, relations in reads(schema).items():
        for relation in relations:
            links[view].add(relation)
            links[relation].add(view)
    seen = {focus}
    frontier = {focus}
    for _ in range(depth):
        frontier = {n for f in frontier for n in links[f]} - seen
        seen |= frontier
    return seen


def diagram(
    schema: Schema, keys: set[tuple[str, str]] | None = None, *, focus: tuple[str, str] | None = None
) -> Diagram:
    """Lay out and draw the tables and views in `keys` (all when None), the foreign keys between them and
    the relations each view reads."""
    tables = [t for t in schema.tables if keys is None or t.key in keys]
    views = [v for v in schema.views if keys is None or v.key in keys]
    compact = len(tables) + len(views) > COMPACT_OVER
    nodes = {t.key: _node(t, compact) for t in tables}
    nodes.update({v.key: _node(_as_table(v), compact, v.kind) for v in views})
    edges = [
        _Edge(
            t.key,
            (fk.ref_schema, fk.ref_table),
            fk.columns[0],
            fk.ref_columns[0] if fk.ref_columns else "",
            f"{fk.name}: {t.name}({', '.join(fk.columns)}) → {fk.ref_table}({', '.join(fk.ref_columns)})",
        )
        for t in tables
        for fk in t.foreign_keys
        if (fk.ref_schema, fk.ref_table) in nodes
    ]
    used = reads(schema)
    uses = [
        _Edge(v.key, relation, "", "", f"{v.kind} {v.name} reads {relation[1]}", uses=True)
        for v in views
        for relation in used.get(v.key, [])
        if relation in nodes and relation != v.key
    ]
    edges += uses
    connected = {e.child for e in edges} | {e.parent for e in edges}
    layered = [nodes[k] for k in sorted(nodes) if k in connected]
    loose = [nodes[k] for k in sorted(nodes) if k not in connected]
    layers = _order(_rank(layered, edges), edges)
    width, height = _place(layers, edges, nodes)
    width, height = _grid(loose, width, height)
    svg = _draw(nodes, edges, width, height, focus)
    return Diagram(
        svg, len(tables), len(edges) - len(uses), width, height, compact, tuple(sorted(nodes)), len(views), len(uses)
    )


def _as_table(v: View) -> Table:
    return Table(v.schema, v.name, tuple(Column(name, type_) for name, type_ in v.columns))


def _node(t: Table, compact: bool, kind: str = "table") -> _Node:
    label = t.name if t.schema == "public" else f"{t.schema}.{t.name}"
    pk = set(t.primary_key.columns) if t.primary_key else set()
    fk = {c for f in t.foreign_keys for c in f.columns}
    lines: list[_Line] = []
    hidden = 0
    if not compact:
        keyed = [c for c in t.columns if c.name in pk or c.name in fk]
        room = max(MAX_LINES - len(keyed), 0)
        others = [c for c in t.columns if c.name not in pk and c.name not in fk][:room]
        shown = {c.name for c in keyed} | {c.name for c in others}
        hidden = len(t.columns) - len(shown)
        for c in t.columns:
            if c.name in shown:
                mark = " ".join(m for m, on in (("PK", c.name in pk), ("FK", c.name in fk)) if on)
                lines.append(_Line(c.name, _cut(c.name, 28), _cut(short_type(c.type), 18), mark))
    tag = len(_KIND_TAG[kind]) + 2 if kind in _KIND_TAG else 0
    chars = max([len(_cut(label, MAX_CHARS)) + tag] + [len(x.text) + 2 + len(x.type) for x in lines])
    width = PAD_X * 2 + chars * CHAR_W + (MARK_W if lines else 0)
    height = HEADER_H + len(lines) * LINE_H + (LINE_H if hidden else 0) + (4 if lines else 0)
    return _Node(t, lines, hidden, kind, width=round(width, 1), height=height)


def _rank(nodes: list[_Node], edges: list[_Edge]) -> list[list[_Node]]:
    """Longest-path layering, parents left of children; edges closing a cycle are ignored for it."""
    parents: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for e in edges:
        if e.child != e.parent:
            parents[e.child].append(e.parent)
    by_key = {n.key: n for n in nodes}
    rank: dict[tuple[str, str], int] = {}
    state: dict[tuple[str, str], int] = {}  # 1: on the DFS stack, 2: done

    for start in by_key:
        if start in state:
            continue
        stack: list[tuple[tuple[str, str], int]] = [(start, 0)]
        state[start] = 1
        while stack:
            key, i = stack[-1]
            ps = parents[key]
            if i < len(ps):
                stack[-1] = (key, i + 1)
                p = ps[i]
                if p in by_key and p not in state:
                    state[p] = 1
                    stack.append((p, 0))
                continue
            stack.pop()
            state[key] = 2
            done = [rank[p] for p in ps if state.get(p) == 2 and p in rank]
            rank[key] = 1 + max(done) if done else 0
    layers: list[list[_Node]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for key, n in by_key.items():
        n.layer = rank[key]
        layers[n.layer].append(n)
    return layers


def _order(layers: list[list[_Node]], edges: list[_Edge]) -> list[list[_Node]]:
    """Barycenter sweeps: each node moves toward the average position of its neighbours."""
    links: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for e in edges:
        if e.child != e.parent:
            links[e.child].add(e.parent)
            links[e.parent].add(e.child)
    position: dict[tuple[str, str], float] = {}

    def number(layer: list[_Node]) -> None:
        for i, n in enumerate(layer):
            position[n.key] = (i + 0.5) / len(layer)

    for layer in layers:
        number(layer)
    layer_of = {n.key: n.layer for layer in layers for n in layer}
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        indices = range(1, len(layers)) if forward else range(len(layers) - 2, -1, -1)
        for li in indices:

            def centre(n: _Node, li: int = li, forward: bool = forward) -> float:
                near = [position[k] for k in links[n.key] if (layer_of[k] < li if forward else layer_of[k] > li)]
                return sum(near) / len(near) if near else position[n.key]

            layers[li].sort(key=lambda n: (centre(n), position[n.key]))
            number(layers[li])
    return layers


def _place(layers: list[list[_Node]], edges: list[_Edge], nodes: dict[tuple[str, str], _Node]) -> tuple[float, float]:
    """x by layer; y level with connected rows in earlier layers when there is room, else stacked."""
    anchors: dict[tuple[str, str], list[tuple[tuple[str, str], str, str]]] = defaultdict(list)
    for e in edges:
        if e.child != e.parent:
            anchors[e.child].append((e.parent, e.parent_column, e.child_column))
            anchors[e.parent].append((e.child, e.child_column, e.parent_column))
    x: float = MARGIN
    height: float = MARGIN
    for layer in layers:
        column_width = max((n.width for n in layer), default=0)
        bottom: float = MARGIN
        for n in layer:
            n.x = x
            targets = [
                nodes[k].row_y(their) - (n.row_y(mine) - n.y)
                for k, their, mine in anchors[n.key]
                if nodes[k].layer < n.layer
            ]
            wanted = sum(targets) / len(targets) if targets else bottom
            n.y = max(wanted, bottom)
            bottom = n.y + n.height + NODE_GAP
        height = max(height, bottom)
        x += column_width + LAYER_GAP
    width = x - LAYER_GAP + MARGIN if layers else MARGIN
    return width, height


def _grid(loose: list[_Node], width: float, height: float) -> tuple[float, float]:
    """Tables without relationships, in rows under the layered part."""
    if not loose:
        return max(width, MARGIN * 2), height
    limit = max(width, 900.0)
    x: float = MARGIN
    y = height + (NODE_GAP if height > MARGIN else 0)
    row_height = 0.0
    for n in loose:
        if x > MARGIN and x + n.width > limit:
            x, y = MARGIN, y + row_height + NODE_GAP
            row_height = 0.0
        n.x, n.y = x, y
        x += n.width + NODE_GAP
        row_height = max(row_height, n.height)
        width = max(width, x - NODE_GAP + MARGIN)
    return width, y + row_height + MARGIN


def _path(e: _Edge, nodes: dict[tuple[str, str], _Node]) -> str:
    child, parent = nodes[e.child], nodes[e.parent]
    y1, y2 = child.row_y(e.child_column), parent.row_y(e.parent_column)
    if e.child == e.parent:  # a self-reference: a loop on the right-hand side
        x = child.x + child.width
        reach = 28 + abs(y1 - y2) / 4
        return f"M{x:.1f},{y1:.1f} C{x + reach:.1f},{y1:.1f} {x + reach:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
    if parent.x + parent.width <= child.x:  # the usual case: the referenced table is to the left
        x1, x2 = child.x, parent.x + parent.width
        bend = max(40.0, (x1 - x2) / 2)
        return f"M{x1:.1f},{y1:.1f} C{x1 - bend:.1f},{y1:.1f} {x2 + bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    if parent.x >= child.x + child.width:  # a key closing a cycle points right
        x1, x2 = child.x + child.width, parent.x
        bend = max(40.0, (x2 - x1) / 2)
        return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    x1, x2 = child.x + child.width, parent.x + parent.width  # same layer: around the right-hand side
    reach = 40 + abs(y1 - y2) / 6
    right = max(x1, x2) + reach
    return f"M{x1:.1f},{y1:.1f} C{right:.1f},{y1:.1f} {right:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _draw(
    nodes: dict[tuple[str, str], _Node], edges: list[_Edge], width: float, height: float, focus: tuple[str, str] | None
) -> str:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="erd" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="Tables and foreign keys">',
        "<defs>"
        '<marker id="erd-one" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path class="erd-arrow" d="M0,0 L10,5 L0,10 z"/></marker>'
        '<marker id="erd-many" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" markerHeight="6">'
        '<circle class="erd-dot" cx="5" cy="5" r="4"/></marker>'
        "</defs>",
    ]
    out.append('<g class="erd-edges">')
    for e in edges:
        if e.uses:
            out.append(
                f'<path class="erd-edge erd-uses" d="{_path(e, nodes)}" marker-end="url(#erd-one)">'
                f"<title>{_e(e.title)}</title></path>"
            )
            continue
        out.append(
            f'<path class="erd-edge" d="{_path(e, nodes)}" marker-start="url(#erd-many)" marker-end="url(#erd-one)">'
            f"<title>{_e(e.title)}</title></path>"
        )
    out.append("</g>")
    for key in sorted(nodes):
        out.append(_box(nodes[key], focused=key == focus))
    out.append("</svg>")
    return "".join(out)


def _box(n: _Node, *, focused: bool) -> str:
    t = n.table
    label = _cut(t.name if t.schema == "public" else f"{t.schema}.{t.name}", MAX_CHARS)
    cls = "erd-table" + (" erd-view" if n.kind != "table" else "") + (" erd-focus" if focused else "")
    href = table_href(t.schema, t.name) if n.kind == "table" else view_href(t.schema, t.name)
    what = f"{n.kind}, " if n.kind != "table" else ""
    parts = [
        f'<a href="{_e(href)}" class="{cls}" data-kind="{n.kind}" data-table="{_e(t.qualified)}">',
        f"<title>{_e(t.qualified)}: {what}{len(t.columns)} columns</title>",
        f'<rect class="erd-box" x="{n.x:.1f}" y="{n.y:.1f}" width="{n.width:.1f}" height="{n.height:.1f}" rx="5"/>',
        f'<rect class="erd-head" x="{n.x:.1f}" y="{n.y:.1f}" width="{n.width:.1f}" height="{HEADER_H}" rx="5"/>',
        f'<text class="erd-name" x="{n.x + PAD_X:.1f}" y="{n.y + 17:.1f}">{_e(label)}</text>',
    ]
    if n.kind in _KIND_TAG:
        parts.append(
            f'<text class="erd-kind" x="{n.x + n.width - PAD_X:.1f}" y="{n.y + 17:.1f}" text-anchor="end">'
            f"{_KIND_TAG[n.kind]}</text>"
        )
    for i, line in enumerate(n.lines):
        y = n.y + HEADER_H + i * LINE_H + 13
        if line.mark:
            parts.append(f'<text class="erd-mark" x="{n.x + PAD_X:.1f}" y="{y:.1f}">{_e(line.mark.split()[0])}</text>')
        parts.append(
            f'<text class="erd-col" x="{n.x + PAD_X + MARK_W:.1f}" y="{y:.1f}">{_e(line.text)}</text>'
            f'<text class="erd-type" x="{n.x + n.width - PAD_X:.1f}" y="{y:.1f}" text-anchor="end">{_e(line.type)}</text>'
        )
    if n.hidden:
        y = n.y + HEADER_H + len(n.lines) * LINE_H + 13
        more = f"… {n.hidden} more column" + ("s" if n.hidden != 1 else "")
        parts.append(f'<text class="erd-more" x="{n.x + PAD_X + MARK_W:.1f}" y="{y:.1f}">{more}</text>')
    parts.append("</a>")
    return "".join(parts)
