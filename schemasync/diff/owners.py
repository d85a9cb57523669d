"""Owners, opt in: with the `owner` setting, every object the models declare is owned by that role.

The desired owner is the setting, never the owner read off the models' materialised copy: that copy is made by
whichever role materialises it (the executing role in scratch schemas of the target, the dev database's user
elsewhere), which says nothing about who should own the real objects, and making it right there would need the
role to exist in the dev cluster and the executing role to be a member of it. So only the live side's owners are
read (`Schema.owners`) and each is compared with the setting. Without the setting nothing here runs: owners are
never compared, and plans are exactly what they were.

Governed: the schemas the models use (but `public`, which the database comes with), tables and their partitions,
views, materialized views, standalone sequences (a sequence owned by a column follows its table, and PostgreSQL
refuses to change it apart), enum and composite types, domains, functions and procedures. Indexes follow their
table. An object the plan creates, or drops and creates again, belongs to the executing role afterwards, so it is
given to the owner in the same plan. Objects the models do not declare are never touched.

Per-object `ALTER ... OWNER TO` DDL events in the models stay custom DDL (declared, unmanaged): ownership is a
property of a deployment, which one setting states for every object; a second way of saying it per object would
need the roles in every dev cluster and give two answers to one question.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from schemasync.diff import changes as c
from schemasync.diff.scope import CompareOptions
from schemasync.schema.inspect import ALWAYS_PRESENT_SCHEMAS
from schemasync.schema.model import Schema

Key = tuple[str, str, str, str]  # (kind, schema, name, arguments), as `Owner.key`


def governed(desired: Schema) -> Iterator[Key]:
    """The objects of the models whose owner the setting decides, in the order their changes are planned."""
    yield from (("schema", s, "", "") for s in desired.schemas if s not in ALWAYS_PRESENT_SCHEMAS)
    for table in desired.tables:
        yield ("table", table.schema, table.name, "")
        for qualified in table.partitions:
            schema, _, name = qualified.partition(".")
            yield ("table", schema, name, "")
    yield from ((v.kind, v.schema, v.name, "") for v in desired.views)
    yield from (("sequence", s.schema, s.name, "") for s in desired.sequences if s.owned_by is None)
    yield from (("type", e.schema, e.name, "") for e in desired.enums)
    yield from (("type", t.schema, t.name, "") for t in desired.composites)
    yield from (("domain", d.schema, d.name, "") for d in desired.domains)
    yield from ((r.kind, r.schema, r.name, r.arguments) for r in desired.routines)


def compare_owners(
    current: Schema, desired: Schema, found: Iterable[c.Change], options: CompareOptions
) -> list[c.Change]:
    """`found`: every other change, to know which objects the plan (re-)creates."""
    role = options.owner
    if role is None:
        return []
    have = {o.key: o.role for o in current.owners}
    created = _created(found)
    out: list[c.Change] = []
    for key in dict.fromkeys(governed(desired)):
        old = None if key in created else have.get(key)
        if old != role:
            kind, schema, name, arguments = key
            out.append(c.AlterOwner(kind, schema, name, arguments, role, old))  # type: ignore[arg-type]
    return out


def _created(found: Iterable[c.Change]) -> set[Key]:
    """Objects that exist today and that the plan drops and creates again (a new one has no live owner anyway)."""
    out: set[Key] = set()
    for change in found:
        match change:
            case c.CreateView(view=v):
                out.add((v.kind, v.schema, v.name, ""))
            case c.RecreateRoutine(routine=r):
                out.add((r.kind, r.schema, r.name, r.arguments))
            case c.RecreateDomain(domain=d):
                out.add(("domain", d.schema, d.name, ""))
            case c.RecreateComposite(type=t):
                out.add(("type", t.schema, t.name, ""))
            case c.RecreateEnum(enum=e):
                out.add(("type", e.schema, e.name, ""))
    return out
