"""Comments on views, materialized views, domains, composite types, functions, procedures, triggers and policies.

Their comments come from the models' `COMMENT ON ...` DDL events (managed: `schema/ddl.py`) and are read on both
sides by the same inspector; they are compared apart from the objects themselves (the values hold them with
`compare=False`), so a changed comment is one `COMMENT ON`, never a re-created view or function. As for tables,
a comment the database has and the models leave unset is kept unless prune, which sets it to NULL.

An object this plan drops and creates again (a view rebuilt around a column change, a function whose signature
changes, a trigger or policy re-created) loses its comment with it: its comment is then set again after it is
created, the models' one, or the one it had when the models set none. Objects the models do not declare are
never looked at, except a view, trigger or policy the plan re-creates from its own live definition around a
change (`diff/views.py`, `diff/security.py`), which gets its comment back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from schemasync.diff import changes as c
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import CompositeType, Domain, Policy, Routine, Schema, Trigger, View

Commented = View | Domain | CompositeType | Routine | Trigger | Policy
Key = tuple[str, str, str, str, str]  # (kind, schema, table, name, arguments)


def key_of(value: Commented) -> Key:
    if isinstance(value, View):
        return (value.kind, value.schema, "", value.name, "")
    if isinstance(value, Domain):
        return ("domain", value.schema, "", value.name, "")
    if isinstance(value, CompositeType):
        return ("type", value.schema, "", value.name, "")
    if isinstance(value, Routine):
        return (value.kind, value.schema, "", value.name, value.arguments)
    if isinstance(value, Trigger):
        return ("trigger", value.schema, value.table, value.name, "")
    return ("policy", value.schema, value.table, value.name, "")


def commented(schema: Schema) -> Iterator[Commented]:
    """Every object of `schema` whose comment this module compares."""
    yield from schema.views
    yield from schema.domains
    yield from schema.composites
    yield from schema.routines
    yield from schema.triggers
    yield from schema.policies


def compare_comments(
    current: Schema, desired: Schema, found: Iterable[c.Change], options: CompareOptions
) -> list[c.Change]:
    """`found`: every other change, to know which objects the plan (re-)creates."""
    have = {key_of(v): v for v in commented(current)}
    created = _created(found)
    out: list[c.Change] = []
    wanted: set[Key] = set()
    for value in commented(desired):
        key = key_of(value)
        wanted.add(key)
        live = have.get(key)
        old = None if live is None or key in created else live.comment
        target = value.comment
        if target is None and not options.prune:
            target = live.comment if live is not None else None
        if target != old and (key in created or live is not None):
            out.append(_change(key, target))
    for key, value in created.items():  # one the models do not declare, re-created from its live definition
        if key not in wanted and value.comment is not None:
            out.append(_change(key, value.comment))
    return out


def _created(found: Iterable[c.Change]) -> dict[Key, Commented]:
    """The objects the plan creates or drops and creates again, each with the value it is created from (the
    live one for a view, trigger or policy the models do not declare, re-created around a change)."""
    out: dict[Key, Commented] = {}
    for change in found:
        match change:
            case c.CreateView(view=value) | c.CreateRoutine(routine=value) | c.RecreateRoutine(routine=value):
                out[key_of(value)] = value
            case c.CreateDomain(domain=value) | c.RecreateDomain(domain=value):
                out[key_of(value)] = value
            case c.CreateComposite(type=value) | c.RecreateComposite(type=value):
                out[key_of(value)] = value
            case c.CreateTrigger(trigger=value) | c.RecreateTrigger(trigger=value):
                out[key_of(value)] = value
            case c.CreatePolicy(policy=value) | c.RecreatePolicy(policy=value):
                out[key_of(value)] = value
    return out


def _change(key: Key, comment: str | None) -> c.AlterComment:
    kind, schema, table, name, arguments = key
    return c.AlterComment(kind, schema, name, table, arguments, comment)  # type: ignore[arg-type]


def kept_comments(current: Schema, desired: Schema) -> list[tuple[str, str, str, str | None, str]]:
    """(kind, schema, name, table, comment) of each declared object whose live comment the models leave unset:
    kept without prune (`diff/unmanaged.py` lists them), set to NULL with it."""
    have = {key_of(v): v for v in commented(current)}
    out: list[tuple[str, str, str, str | None, str]] = []
    for value in commented(desired):
        kind, schema, table, name, arguments = key_of(value)
        live = have.get((kind, schema, table, name, arguments))
        if value.comment is None and live is not None and live.comment is not None:
            shown = f"{name}({arguments})" if kind in ("function", "procedure") else name
            out.append((kind, schema, shown, table or None, live.comment))
    return out
