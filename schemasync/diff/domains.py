"""Domains: create, change in place (default, NOT NULL, checks), recreate for another base type, drop (prune).

A domain the models declare is theirs as a whole: its checks are matched by name, and a check the
database has and the models do not is dropped (SQLAlchemy's `DOMAIN(check=...)` leaves the check
unnamed, so PostgreSQL names it `<domain>_check` and a changed check keeps the name: drop and add).
The base type and collation cannot be altered, so a change to either recreates the domain and recasts
the columns using it. Checks and defaults compare in the same normal form as a table's; a check left
NOT VALID (by a failed online run) is dropped and added again, which validates it.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.expressions import Expression
from schemasync.diff.names import base_type, type_names
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import CheckConstraint, Domain, Schema, Table

_NO_COLUMNS = Table("", "", ())


def compare_domains(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    """`current` is the database after renames."""
    out: list[c.Change] = []
    have = {d.key: d for d in current.domains}
    for domain in desired.domains:
        old = have.get(domain.key)
        if old is None:
            out.append(c.CreateDomain(domain))
        elif (old.type, old.collation) != (domain.type, domain.collation):
            out.append(c.RecreateDomain(domain, old.type, uses(current, desired, domain, options)))
        else:
            out += _alterations(old, domain, uses(current, desired, domain, options))
    if options.prune:
        wanted = {d.key for d in desired.domains}
        out += [c.DropDomain(*d.key) for d in current.domains if d.key not in wanted]
    return out


def _alterations(old: Domain, new: Domain, columns: tuple[c.DomainUse, ...]) -> list[c.Change]:
    s, n = new.key
    out: list[c.Change] = []
    if Expression(old.default, _NO_COLUMNS, "default", new.type) != Expression(
        new.default, _NO_COLUMNS, "default", new.type
    ):
        out.append(c.AlterDomainDefault(s, n, new.default))
    if old.nullable != new.nullable:
        out.append(c.AlterDomainNullability(s, n, new.nullable, () if new.nullable else columns))
    had = {k.name: k for k in old.checks}
    wanted = {k.name: k for k in new.checks}
    for name, check in had.items():
        again = wanted.get(name)
        if again is None or not _same_check(check, again):
            out.append(c.DropDomainCheck(s, n, name))
    for name, check in wanted.items():
        before = had.get(name)
        if before is None or not _same_check(before, check):
            out.append(c.AddDomainCheck(s, n, check, columns))
    return out


def _same_check(old: CheckConstraint, new: CheckConstraint) -> bool:
    """Same expression, and validated alike: one a failed online run left NOT VALID is added again (validated)."""
    return old.validated == new.validated and Expression(old.expression, _NO_COLUMNS) == Expression(
        new.expression, _NO_COLUMNS
    )


def uses(current: Schema, desired: Schema, domain: Domain, options: CompareOptions) -> tuple[c.DomainUse, ...]:
    return columns_of(current, desired, domain.schema, domain.name, options)


def columns_of(
    current: Schema, desired: Schema, schema: str, name: str, options: CompareOptions
) -> tuple[tuple[str, str, str, int], ...]:
    """The database's columns of type schema.name (or arrays of it) that stay: a column pruned, or dropped
    with its table, goes before types change."""
    wanted = {t.key: t for t in desired.tables}
    out = []
    for table in current.tables:
        want = wanted.get(table.key)
        if want is None and options.prune:
            continue
        for col in table.columns:
            if not type_names(col.type, schema, name):
                continue
            if want is not None and want.column(col.name) is None and options.prune:
                continue
            out.append((table.schema, table.name, col.name, base_type(col.type)[1]))
    return tuple(out)
