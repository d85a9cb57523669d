"""`generate`: the current plan as an Alembic revision, upgrade and downgrade, in the app's versions directory.

Upgrade: the diff from the database to the models (the same changes `diff` and `sync` plan), turned
into `op.*` calls (`migrations/ops.py`). Downgrade: not Alembic's op-by-op `reverse()` (which
cannot know what a dropped table held) but a second diff, from the schema the upgrade leaves
behind back to the database as it is now, rendered the same way. That schema is worked out
without touching the database: the models' schema, plus whatever the upgrade leaves alone
(objects the models do not have, when prune is off). So the downgrade restores every object the
upgrade changed, and the upgrade's DELETES_DATA hazards say plainly, at the top of the downgrade,
what it cannot bring back (rows of a dropped table, values of a dropped column, a lossy cast).

Chaining: `down_revision` is the project's single head. Generating while the database is not at
that head is refused, because the new revision would repeat the pending ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from alembic.autogenerate import render_op_text
from alembic.util import CommandError
from alembic.util import rev_id as new_rev_id

from schemasync import engine
from schemasync.diff import CompareOptions, analyse
from schemasync.diff import changes as c
from schemasync.diff.renames import apply_renames
from schemasync.diff.scope import managed_schemas, restrict
from schemasync.errors import ConfigError, Refused
from schemasync.migrations import project
from schemasync.migrations.ops import Converter, autogen_context, code, execute
from schemasync.plan import HazardKind, PlanContext, render
from schemasync.plan.sql import ident
from schemasync.schema.model import RenameHints, Schema, Table

if TYPE_CHECKING:
    from schemasync.config import Settings
    from schemasync.diff import CompareOptions, Diff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Generated:
    path: Path
    revision: str
    down_revision: str | None
    changes: int
    summary: tuple[str, ...]
    irreversible: tuple[str, ...]  # what the downgrade cannot bring back


def after_upgrade(current: Schema, desired: Schema, diff: Diff) -> Schema:
    """The scoped schema the upgrade leaves: the models', plus what the diff leaves alone (prune off)."""
    renamed = apply_renames(current, diff.renames)
    tables_gone = {(x.schema, x.name) for x in diff.changes if isinstance(x, c.DropTable)}
    columns_gone = {(x.schema, x.table, x.name) for x in diff.changes if isinstance(x, c.DropColumn)}
    named_gone = {
        (x.schema, x.table, x.name)
        for x in diff.changes
        if isinstance(x, c.DropPrimaryKey | c.DropUnique | c.DropForeignKey | c.DropCheck | c.DropIndex)
    }
    named_gone |= {  # renamed away: the new name comes with the models
        (x.schema, x.table, x.old) for x in diff.changes if isinstance(x, c.RenameConstraint | c.RenameIndex)
    }
    enums_gone = {(x.schema, x.name) for x in diff.changes if isinstance(x, c.DropEnum)}
    sequences_gone = {(x.schema, x.name) for x in diff.changes if isinstance(x, c.DropSequence)}
    wanted = {t.key: t for t in desired.tables}
    tables: list[Table] = []
    for t in renamed.tables:
        if t.key in tables_gone:
            continue
        want = wanted.pop(t.key, None)
        if want is None:
            tables.append(t)  # not in the models, left alone
            continue

        def kept(items: tuple[Any, ...], ours: tuple[Any, ...], table: Table = t) -> tuple[Any, ...]:
            names = {x.name for x in ours}
            return ours + tuple(
                x for x in items if x.name not in names and (table.schema, table.name, x.name) not in named_gone
            )

        extra_columns = tuple(
            col
            for col in t.columns
            if want.column(col.name) is None and (t.schema, t.name, col.name) not in columns_gone
        )
        pk = want.primary_key
        if pk is None and t.primary_key is not None and (t.schema, t.name, t.primary_key.name) not in named_gone:
            pk = t.primary_key
        tables.append(
            replace(
                want,
                columns=want.columns + extra_columns,
                primary_key=pk,
                uniques=kept(t.uniques, want.uniques),
                foreign_keys=kept(t.foreign_keys, want.foreign_keys),
                checks=kept(t.checks, want.checks),
                indexes=kept(t.indexes, want.indexes),
            )
        )
    tables += wanted.values()
    enum_keys = {e.key for e in desired.enums}
    sequence_keys = {s.key for s in desired.sequences}
    return replace(
        desired,
        tables=tuple(tables),
        enums=desired.enums + tuple(e for e in renamed.enums if e.key not in enum_keys and e.key not in enums_gone),
        sequences=desired.sequences
        + tuple(s for s in renamed.sequences if s.key not in sequence_keys and s.key not in sequences_gone),
        schemas=tuple(dict.fromkeys(desired.schemas + renamed.schemas)),
    ).sorted()


def reverse_hints(diff: Diff) -> RenameHints:
    r = diff.renames
    return RenameHints(
        tables=tuple((s, old, new) for s, old, new in r.tables),
        columns=tuple((s, r.old_table(s, t), old, new) for s, t, old, new in r.columns),
    )


def downgrade_diff(current: Schema, desired: Schema, diff: Diff, options: CompareOptions) -> tuple[Schema, Diff]:
    """(the schema after the upgrade, the diff from it back to `current`), both in the upgrade's scope."""
    cur = restrict(current, desired, options)
    after = after_upgrade(cur, restrict(desired, desired, options), diff)
    back = CompareOptions(
        prune=True,
        include_schemas=tuple(sorted(managed_schemas(desired, options) | set(cur.schemas))),
        include_tables=options.include_tables,
        exclude_tables=options.exclude_tables,
        hints=reverse_hints(diff),
    )
    return after, analyse(after, cur, back)


def render_body(operations: list[Any], autogen: Any, header: list[str] | None = None) -> str:
    lines = list(header or [])
    for op in operations:
        lines += render_op_text(autogen, op).splitlines()
    return "\n    ".join(lines) if lines else "pass"


def build(prepared: engine.Prepared) -> tuple[list[Any], list[Any], list[str], list[str]]:
    """(upgrade ops, downgrade ops, upgrade comment lines, downgrade comment lines)."""
    diff = prepared.diff
    new_tables = frozenset(x.table.key for x in diff.changes if isinstance(x, c.CreateTable))
    up_ctx = PlanContext(prepared.current, prepared.desired, diff.renames, new_tables)
    up = Converter(up_ctx)
    upgrade: list[Any] = []
    lost: list[str] = []
    warnings: list[str] = []
    for change in diff.changes:
        upgrade += up.operations(change)
        for statement in render([change], up_ctx):
            for hazard in statement.hazards:
                if hazard.kind is HazardKind.DELETES_DATA:
                    lost.append(hazard.fact)
                elif hazard.kind is HazardKind.DATA_DEPENDENT:
                    warnings.append(hazard.fact)
    after, back = downgrade_diff(prepared.current, prepared.desired, diff, prepared.options)
    down_ctx = PlanContext(
        after,
        prepared.current,
        back.renames,
        frozenset(x.table.key for x in back.changes if isinstance(x, c.CreateTable)),
    )
    down = Converter(down_ctx)
    downgrade: list[Any] = []
    for change in back.changes:
        downgrade += down.operations(change)
    created = [x.name for x in diff.changes if isinstance(x, c.CreateSchema)]
    dropped_back = {x.name for x in back.changes if isinstance(x, c.CreateSchema)}
    for name in created:
        if name not in dropped_back:
            downgrade.append(code(execute(f"DROP SCHEMA {ident(name)}")))
    up_notes = [f"# {'DELETES DATA'}: {fact}" for fact in dict.fromkeys(lost)]
    up_notes += [f"# DATA DEPENDENT: {fact}" for fact in dict.fromkeys(warnings)]
    down_notes: list[str] = []
    if lost:
        down_notes = [
            "# NOT FULLY REVERSIBLE: the upgrade deleted data that this downgrade cannot bring back:",
            *(f"#   - {fact}" for fact in dict.fromkeys(lost)),
            "# The structure is restored below (tables come back empty, columns come back NULL or with their",
            "# default); restore the backup taken before the upgrade to get the data back.",
        ]
    return upgrade, downgrade, up_notes, down_notes


def generate(
    conn: psycopg.Connection,
    settings: Settings,
    message: str,
    *,
    models: engine.Models | None = None,
    version_path: str | None = None,
    rev_id: str | None = None,
) -> Generated | None:
    """Write the revision for the current plan; None when the database already matches the models."""
    if not message.strip():
        raise ConfigError("The revision message is empty.", "Say what the revision does: -m 'add tags'.")
    cfg = project.load_config(settings)
    script = project.script_directory(cfg)
    state = project.state(conn, settings, cfg)
    if len(state.heads) > 1:
        raise Refused(
            f"The Alembic project has {len(state.heads)} heads ({', '.join(state.heads)}), so a new revision has no "
            "single revision to follow.",
            "Merge them first: alembic merge heads -m 'merge'.",
        )
    if state.pending:
        raise Refused(
            f"The database is at Alembic revision {', '.join(state.current) or 'base'}, not at the head "
            f"{state.head}: {len(state.pending)} revision(s) are not applied "
            f"({', '.join(r.describe() for r in state.pending[:3])}). A revision generated now would repeat them.",
            "Apply them first (schemasync sync, or alembic upgrade head), then generate.",
        )
    prepared = engine.prepare(conn, settings, models=models, measure=False)
    if prepared.plan.empty:
        return None
    upgrade, downgrade, up_notes, down_notes = build(prepared)
    autogen = autogen_context()
    upgrades = render_body(upgrade, autogen, up_notes)
    downgrades = render_body(downgrade, autogen, down_notes)
    revision = rev_id or new_rev_id()
    try:
        written = script.generate_revision(
            revision,
            message.strip(),
            head="head",
            version_path=version_path,
            upgrades=upgrades,
            downgrades=downgrades,
            imports="\n".join(sorted(autogen.imports)),
        )
    except CommandError as exc:
        raise ConfigError(
            f"Alembic could not write the revision: {exc}.",
            "Check the versions directory (version_locations, --version-path) and the script.py.mako template.",
        ) from None
    if written is None:  # pragma: no cover - only with a post-write hook that removes the file
        raise ConfigError("Alembic wrote no revision file.", "Check the post_write_hooks in the Alembic configuration.")
    lost = tuple(line.removeprefix("#   - ") for line in down_notes if line.startswith("#   - "))
    return Generated(
        Path(written.path),
        written.revision,
        state.head,
        len(prepared.diff.changes),
        prepared.plan.summary,
        lost,
    )
