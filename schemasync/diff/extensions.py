"""Extensions: create the ones the models want, update a pinned version, drop (with prune) the others.

An extension is one per database, so it is matched by name only; the schema it lives in is where it was
created and is never moved. A version is compared only when the models pin one (`VERSION '1.6'`): a
database holding another version of an extension the models merely use is left at it. A prune leaves
an extension alone while objects outside it use it, unless the same prune drops every one of them.
"""

from __future__ import annotations

from schemasync.diff.changes import (
    AlterColumnDefault,
    AlterColumnType,
    Change,
    CreateExtension,
    DropColumn,
    DropComposite,
    DropDomain,
    DropEnum,
    DropExtension,
    DropIndex,
    DropRange,
    DropRoutine,
    DropTable,
    DropView,
    RenameColumn,
    RenameTable,
    UpdateExtension,
)
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Extension, Schema


def compare_extensions(current: Schema, desired: Schema, options: CompareOptions) -> list[Change]:
    out: list[Change] = []
    have = {x.name: x for x in current.extensions}
    for ext in desired.extensions:
        old = have.get(ext.name)
        if old is None:
            out.append(CreateExtension(ext))
        elif ext.version is not None and old.version is not None and old.version != ext.version:
            out.append(UpdateExtension(ext.name, old.version, ext.version))
    if options.prune:
        wanted = {x.name for x in desired.extensions}
        # a candidate only: `only_freed` keeps the drop when the same prune drops every object that uses it
        out.extend(DropExtension(x.name, x.schema) for x in current.extensions if x.name not in wanted and not x.in_use)
    return out


def only_freed(changes: list[Change], current: Schema) -> list[Change]:
    """`changes` without the DropExtension of an extension that objects outliving the plan still use.

    PostgreSQL refuses DROP EXTENSION while anything outside it uses its members, and the refusal would roll
    the whole plan back; so the drop stays only when the plan itself drops every user the catalog lists
    (`Extension.used_by_routines`, `used_by`): the routine; the table or view; the column or index; the
    type. A column retyped, or given another default, counts too: the models do not want the extension, so
    their type and default do not use it. Anything else keeps the extension: a user of a kind not told apart
    (`in_use`), one the comparison does not see (another schema, an excluded table), one otherwise changed,
    a view dropped only to be re-created. A use is followed through the plan's renames. `diff/order.py` drops extensions after everything else.
    """
    dropped: set[tuple[str, ...]] = set()
    for x in changes:
        match x:
            case DropRoutine(routine=r):
                dropped.add(("routine", *r.key))
            case DropTable() | DropView(reason=""):
                dropped.add(("relation", x.schema, x.name))
            case DropColumn():
                dropped |= {("column", x.schema, x.table, x.name), ("default", x.schema, x.table, x.name)}
            case AlterColumnType():  # to a type that is not the extension's: the models do not want it
                dropped.add(("column", x.schema, x.table, x.column))
            case AlterColumnDefault():
                dropped.add(("default", x.schema, x.table, x.column))
            case DropIndex():
                dropped.add(("index", x.schema, x.table, x.name))
            case DropDomain() | DropComposite() | DropEnum() | DropRange():
                dropped.add(("type", x.schema, x.name, ""))
    tables = {(x.schema, x.old): x.new for x in changes if isinstance(x, RenameTable)}
    columns = {(x.schema, x.table, x.old): x.new for x in changes if isinstance(x, RenameColumn)}
    extensions = {x.name: x for x in current.extensions}

    def gone(kind: str, schema: str, name: str, part: str) -> bool:
        """Whether the plan drops the use, known to the catalog by the names from before any rename."""
        new = tables.get((schema, name), name)
        if kind in {"column", "default"}:
            part = columns.get((schema, new, part), columns.get((schema, name, part), part))
        return ("relation", schema, new) in dropped or (kind, schema, new, part) in dropped

    def freed(ext: Extension) -> bool:
        return all(("routine", *r) in dropped for r in ext.used_by_routines) and all(
            gone(*user) for user in ext.used_by
        )

    return [x for x in changes if not isinstance(x, DropExtension) or freed(extensions[x.name])]
