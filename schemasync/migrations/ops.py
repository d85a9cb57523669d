"""Typed changes -> Alembic operation objects, rendered by Alembic's own autogenerate renderer.

Each change becomes the `op.*` call a person would write (`op.create_table`, `op.add_column`,
`op.alter_column`, `op.create_index`, `op.create_foreign_key`, ...) with SQLAlchemy types rebuilt
from PostgreSQL's own type names (the dialect's reflection parser, then the generic type when it
compiles to the same DDL: `sa.String(length=200)` rather than `postgresql.VARCHAR(length=200)`).

What the `op` API cannot say exactly is written as `op.execute(...)` with the SQL our planner makes
for that change (`plan.render`), so nothing is approximated: enum recreation, sequence changes,
constraint validation and renames, a serial column added to an existing table, a type PostgreSQL
knows but SQLAlchemy does not (an extension's `citext`), a schema-qualified collation.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc, types
from sqlalchemy.dialects import postgresql

from schemasync.diff import changes as c
from schemasync.diff.names import SERIAL_TYPES, nextval_sequence, quote_ident
from schemasync.plan import render
from schemasync.plan.casts import classify
from schemasync.schema.model import Column, Table

if TYPE_CHECKING:
    from alembic.operations.ops import MigrateOperation

    from schemasync.plan.dispatch import PlanContext


class Unrenderable(Exception):
    """The `op` API cannot express this change exactly: use the planner's SQL."""


_code_class: Any = None


def code(lines: list[str], imports: tuple[str, ...] = ()) -> MigrateOperation:
    """A custom operation rendered verbatim (comments, `ENUM.create`, autocommit blocks)."""
    global _code_class  # noqa: PLW0603
    if _code_class is None:
        from alembic.autogenerate import renderers  # lazy: start-up (Alembic; codegen uses this module)
        from alembic.operations.ops import MigrateOperation  # lazy: start-up (Alembic; codegen uses this module)

        class Code(MigrateOperation):
            def __init__(self, lines: list[str], imports: tuple[str, ...]) -> None:
                self.lines = lines
                self.imports = imports

        @renderers.dispatch_for(Code)
        def _render(autogen_context: Any, op: Code) -> list[str]:
            autogen_context.imports.update(op.imports)
            return op.lines

        _code_class = Code
    return _code_class(lines, imports)  # type: ignore[no-any-return]


def execute(sql: str) -> list[str]:
    """`op.execute(...)` for one statement, multi-line SQL as adjacent string literals."""
    lines = sql.rstrip().rstrip(";").splitlines() or [""]
    if len(lines) == 1:
        return [f"op.execute({lines[0]!r})"]
    body = [f"    {(line + chr(10))!r}" for line in lines[:-1]] + [f"    {lines[-1]!r}"]
    return ["op.execute(", *body, ")"]


PG_IMPORT = "from sqlalchemy.dialects import postgresql"


class Converter:
    """Turns the changes of one direction into operations; `ctx` is the planner's view of that direction."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        enums = {e.key: e for e in (*ctx.current.enums, *ctx.desired.enums)}
        self._enums = {
            key: {"name": e.name, "schema": e.schema, "visible": e.schema == "public", "labels": list(e.labels)}
            for key, e in enums.items()
        }

    # -- entry point ------------------------------------------------------------------------------
    def operations(self, change: c.Change) -> list[MigrateOperation]:
        try:
            return self._ops(change)
        except Unrenderable:
            return self.planned(change)

    def planned(self, change: c.Change) -> list[MigrateOperation]:
        """The planner's SQL for the change, as op.execute calls (outside the transaction where it must be)."""
        out: list[MigrateOperation] = []
        for statement in render([change], self.ctx):
            lines = execute(statement.sql)
            if not statement.transactional:
                lines = ["with op.get_context().autocommit_block():", *(f"    {line}" for line in lines)]
            out.append(code(lines))
        return out

    # -- types and columns ------------------------------------------------------------------------
    def sa_type(self, text: str, collation: str | None = None) -> sa.types.TypeEngine[Any]:
        dialect = postgresql.dialect()
        loader = type("Loader", (), {"enums": self._enums, "domains": {}})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", exc.SAWarning)
            reflected = dialect._reflect_type(text, loader, "column", None)  # type: ignore[attr-defined,arg-type]
        if isinstance(reflected, types.NullType):
            raise Unrenderable(text)
        for inner in (reflected, getattr(reflected, "item_type", None)):
            if isinstance(inner, postgresql.ENUM):
                inner.create_type = False
        result = reflected
        try:
            generic = reflected.as_generic()
            if str(generic.compile(dialect=dialect)) == str(reflected.compile(dialect=dialect)):
                result = generic
        except (NotImplementedError, TypeError, exc.CompileError):
            pass
        if collation is not None:
            name = collation[1:-1].replace('""', '"') if collation.startswith('"') else collation
            if "." in collation.replace(name, "") or not isinstance(result, types.String):
                raise Unrenderable(collation)
            result.collation = name
        return result

    def sa_column(self, col: Column, table: Table | None = None, *, allow_serial: bool = False) -> sa.Column[Any]:
        args: list[Any] = []
        kw: dict[str, Any] = {"nullable": col.nullable}
        if col.comment is not None:
            kw["comment"] = col.comment
        if col.identity is not None:
            o = col.identity_options
            options: dict[str, Any] = (  # Identity's keywords, each of its own type
                {}
                if o is None
                else {
                    "start": o.start,
                    "increment": o.increment,
                    "minvalue": o.min_value,
                    "maxvalue": o.max_value,
                    "cache": o.cache,
                    "cycle": o.cycle,
                }
            )
            args.append(
                sa.Identity(always=col.identity == "always", **{k: v for k, v in options.items() if v is not None})
            )
        if col.generated is not None:
            args.append(sa.Computed(col.generated, persisted=True))
        single_int_pk = (
            table is not None
            and table.primary_key is not None
            and table.primary_key.columns == (col.name,)
            and col.type in SERIAL_TYPES
        )
        seq = nextval_sequence(col.default)
        serial = (
            seq is not None
            and col.identity is None
            and all(s.key != seq for s in self.ctx.desired.sequences)
            and col.type in SERIAL_TYPES
        )
        if serial:
            if not (
                allow_serial
                and single_int_pk
                and table is not None
                and seq == (table.schema, f"{table.name}_{col.name}_seq")
            ):
                raise Unrenderable("serial")
            kw["autoincrement"] = True
        elif col.default is not None:
            kw["server_default"] = sa.text(col.default)
        if single_int_pk and not serial and col.identity is None:
            kw["autoincrement"] = False  # else SQLAlchemy makes it SERIAL
        return sa.Column(col.name, self.sa_type(col.type, col.collation), *args, **kw)

    # -- the changes ------------------------------------------------------------------------------
    def _ops(self, change: c.Change) -> list[MigrateOperation]:
        from alembic.operations import ops  # lazy: start-up (Alembic; codegen uses this module)

        match change:
            case c.CreateTable(table=t):
                return [ops.CreateTableOp.from_table(self.sa_table(t))]
            case c.DropTable(schema=s, name=n):
                return [ops.DropTableOp(n, schema=_schema(s))]
            case c.RenameTable(schema=s, old=o, new=n):  # Alembic has no renderer for RenameTableOp
                return [code([f"op.rename_table({o!r}, {n!r}" + (f", schema={s!r})" if _schema(s) else ")")])]
            case c.AlterTableComment(schema=s, table=t, comment=text):
                if text is None:
                    return [ops.DropTableCommentOp(t, schema=_schema(s))]
                return [ops.CreateTableCommentOp(t, text, schema=_schema(s))]
            case c.AddColumn(schema=s, table=t, column=col):
                return [ops.AddColumnOp(t, self.sa_column(col), schema=_schema(s))]
            case c.DropColumn(schema=s, table=t, name=n):
                return [ops.DropColumnOp(t, n, schema=_schema(s))]
            case c.RenameColumn(schema=s, table=t, old=o, new=n):
                return [ops.AlterColumnOp(t, o, schema=_schema(s), modify_name=n)]
            case c.AlterColumnType(schema=s, table=t, column=col):
                return [self._alter_type(change)]
            case c.AlterColumnNullability(schema=s, table=t, column=col, nullable=nullable):
                return [
                    ops.AlterColumnOp(
                        t,
                        col,
                        schema=_schema(s),
                        modify_nullable=nullable,
                        existing_type=self._existing_type(s, t, col),
                    )
                ]
            case c.AlterColumnDefault(schema=s, table=t, column=col, default=d, old_default=od):
                if change.drop_sequence or change.create_sequence:
                    raise Unrenderable("serial default")
                return [
                    ops.AlterColumnOp(
                        t,
                        col,
                        schema=_schema(s),
                        modify_server_default=sa.DefaultClause(sa.text(d)) if d is not None else None,
                        existing_server_default=sa.DefaultClause(sa.text(od)) if od is not None else None,
                        existing_type=self._existing_type(s, t, col),
                    )
                ]
            case c.AlterColumnComment(schema=s, table=t, column=col, comment=text):
                return [
                    ops.AlterColumnOp(
                        t, col, schema=_schema(s), modify_comment=text, existing_type=self._existing_type(s, t, col)
                    )
                ]
            case c.AddPrimaryKey(schema=s, table=t, key=k):
                args = [repr(k.name), repr(t), repr(list(k.columns))] + ([f"schema={s!r}"] if _schema(s) else [])
                return [code([f"op.create_primary_key({', '.join(args)})"])]
            case c.AddUnique(schema=s, table=t, constraint=u):
                kw: dict[str, Any] = {"schema": _schema(s)}
                if u.deferrable:
                    kw["deferrable"] = True
                    kw["initially"] = "DEFERRED" if u.initially_deferred else None
                if u.nulls_not_distinct:
                    kw["postgresql_nulls_not_distinct"] = True
                return [ops.CreateUniqueConstraintOp(u.name, t, list(u.columns), **kw)]
            case c.AddForeignKey(schema=s, table=t, constraint=f):
                if not f.validated:
                    raise Unrenderable("NOT VALID")
                return [
                    ops.CreateForeignKeyOp(
                        f.name,
                        t,
                        f.ref_table,
                        list(f.columns),
                        list(f.ref_columns),
                        onupdate=None if f.on_update == "NO ACTION" else f.on_update,
                        ondelete=None if f.on_delete == "NO ACTION" else f.on_delete,
                        deferrable=True if f.deferrable else None,
                        initially=("DEFERRED" if f.initially_deferred else None) if f.deferrable else None,
                        match="FULL" if f.match_full else None,
                        source_schema=_schema(s),
                        referent_schema=_schema(f.ref_schema),
                    )
                ]
            case c.AddCheck(schema=s, table=t, constraint=k):
                if not k.validated:
                    raise Unrenderable("NOT VALID")
                return [ops.CreateCheckConstraintOp(k.name, t, strip_parens(k.expression), schema=_schema(s))]
            case c.DropPrimaryKey(schema=s, table=t, name=n):
                return [ops.DropConstraintOp(n, t, type_="primary", schema=_schema(s))]
            case c.DropUnique(schema=s, table=t, name=n):
                return [ops.DropConstraintOp(n, t, type_="unique", schema=_schema(s))]
            case c.DropForeignKey(schema=s, table=t, name=n):
                return [ops.DropConstraintOp(n, t, type_="foreignkey", schema=_schema(s))]
            case c.DropCheck(schema=s, table=t, name=n):
                return [ops.DropConstraintOp(n, t, type_="check", schema=_schema(s))]
            case c.CreateIndex(schema=s, table=t, index=i):
                return [self._create_index(s, t, i)]
            case c.DropIndex(schema=s, table=t, name=n):
                return [ops.DropIndexOp(n, table_name=t, schema=_schema(s))]
            case c.CreateEnum(enum=e):
                labels = ", ".join(map(repr, e.labels))
                where = f", schema={e.schema!r}" if _schema(e.schema) else ""
                out = [code([f"postgresql.ENUM({labels}, name={e.name!r}{where}).create(op.get_bind())"], (PG_IMPORT,))]
                if e.comment is not None:
                    out += self.planned(c.AlterEnumComment(e.schema, e.name, e.comment))
                return out
            case c.DropEnum(schema=s, name=n):
                where = f", schema={s!r}" if _schema(s) else ""
                return [code([f"postgresql.ENUM(name={n!r}{where}).drop(op.get_bind())"], (PG_IMPORT,))]
            case c.AddEnumValue():
                # committed on its own, so later revisions (or this one) can use the label
                lines = ["with op.get_context().autocommit_block():"]
                for statement in self.planned(change):
                    lines += [f"    {line}" for line in statement.lines if not line.startswith("with ")]  # type: ignore[attr-defined]
                return [code(lines)]
            case (
                c.CreateSchema()
                | c.AlterColumnIdentity()
                | c.AlterColumnGenerated()
                | c.ValidateConstraint()
                | c.RenameConstraint()
                | c.RenameIndex()
                | c.RecreateEnum()
                | c.AlterEnumComment()
                | c.CreateSequence()
                | c.AlterSequence()
                | c.RenameSequence()
                | c.DropSequence()
                | c.CreateExtension()
                | c.UpdateExtension()
                | c.DropExtension()
                | c.CreateDomain()
                | c.RecreateDomain()
                | c.AlterDomainDefault()
                | c.AlterDomainNullability()
                | c.AddDomainCheck()
                | c.DropDomainCheck()
                | c.DropDomain()
                | c.CreateComposite()
                | c.AlterComposite()
                | c.RecreateComposite()
                | c.DropComposite()
                | c.AddExclusion()
                | c.DropExclusion()
                | c.AlterTablePersistence()
                | c.AlterTableOptions()
                | c.AlterIndexOptions()
                | c.CreatePartition()
                | c.AttachPartition()
                | c.DetachPartition()
                | c.DropPartition()
                | c.Repartition()
                | c.CreateRoutine()
                | c.ReplaceRoutine()
                | c.RecreateRoutine()
                | c.DropRoutine()
                | c.CreateTrigger()
                | c.RecreateTrigger()
                | c.AlterTriggerEnabled()
                | c.DropTrigger()
                | c.AlterRowSecurity()
                | c.CreatePolicy()
                | c.AlterPolicy()
                | c.RecreatePolicy()
                | c.DropPolicy()
                | c.GrantPrivilege()
                | c.RevokePrivilege()
                | c.AlterComment()
                | c.AlterOwner()
                | c.GrantDefaultPrivilege()
                | c.RevokeDefaultPrivilege()
                | c.CreateRange()
                | c.RecreateRange()
                | c.DropRange()
            ):
                raise Unrenderable(type(change).__name__)
        raise Unrenderable(type(change).__name__)  # pragma: no cover - the match is exhaustive

    def sa_table(self, t: Table) -> sa.Table:
        if t.exclusions or t.unlogged or t.options or t.partition_by:
            raise Unrenderable("table properties")  # the planner's CREATE TABLE carries them
        items: list[Any] = [self.sa_column(col, t, allow_serial=True) for col in t.columns]
        if t.primary_key is not None:
            items.append(sa.PrimaryKeyConstraint(*t.primary_key.columns, name=t.primary_key.name))
        for u in t.uniques:
            kw: dict[str, Any] = {"name": u.name}
            if u.deferrable:
                kw["deferrable"] = True
                if u.initially_deferred:
                    kw["initially"] = "DEFERRED"
            if u.nulls_not_distinct:
                kw["postgresql_nulls_not_distinct"] = True
            items.append(sa.UniqueConstraint(*u.columns, **kw))
        for k in t.checks:
            if not k.validated:
                raise Unrenderable("NOT VALID")
            items.append(sa.CheckConstraint(strip_parens(k.expression), name=k.name))
        return sa.Table(t.name, sa.MetaData(), *items, schema=_schema(t.schema), comment=t.comment)

    def _existing_type(self, schema: str, table: str, column: str) -> sa.types.TypeEngine[Any] | None:
        """The column's type before the change (Alembic wants it for some ALTERs), if known."""
        found = self.ctx.current.table(schema, self.ctx.renames.old_table(schema, table))
        col = found.column(self.ctx.old_column(schema, table, column)) if found else None
        try:
            return self.sa_type(col.type) if col is not None else None
        except Unrenderable:
            return None

    def _alter_type(self, change: c.AlterColumnType) -> MigrateOperation:
        from alembic.autogenerate import render_op_text  # lazy: start-up (Alembic; codegen uses this module)
        from alembic.operations import ops  # lazy: start-up (Alembic; codegen uses this module)

        cast = classify(
            quote_ident(change.column),
            change.old_type,
            change.new_type,
            self.ctx.desired,
            self.ctx.current.server_version,
        )
        op = ops.AlterColumnOp(
            change.table,
            change.column,
            schema=_schema(change.schema),
            modify_type=self.sa_type(change.new_type, change.collation),
            existing_type=self.sa_type(change.old_type, change.old_collation),
        )
        if cast.using is None:
            return op
        text = render_op_text(autogen_context(), op)  # Alembic does not render postgresql_using: add it
        return code([text[: text.rindex(")")] + f",\n               postgresql_using={cast.using!r})"], (PG_IMPORT,))

    def _create_index(self, schema: str, table: str, index: Any) -> MigrateOperation:
        from alembic.operations import ops  # lazy: start-up (Alembic; codegen uses this module)

        if not index.valid or index.options:
            raise Unrenderable("invalid index or storage parameters")
        columns: list[Any] = []
        for key in index.keys:
            name = _plain_column(key)
            columns.append(name if name is not None else sa.literal_column(key))
        kw: dict[str, Any] = {}
        if index.method != "btree":
            kw["postgresql_using"] = index.method
        if index.where:
            kw["postgresql_where"] = sa.text(strip_parens(index.where))
        if index.include:
            kw["postgresql_include"] = list(index.include)
        if index.nulls_not_distinct:
            kw["postgresql_nulls_not_distinct"] = True
        return ops.CreateIndexOp(index.name, table, columns, schema=_schema(schema), unique=index.unique, **kw)


def _schema(schema: str) -> str | None:
    return None if schema == "public" else schema


def _plain_column(key: str) -> str | None:
    """The column name when an index key is just a column (as pg_get_indexdef quotes it), else None."""
    if key.startswith('"') and key.endswith('"') and '"' not in key[1:-1].replace('""', ""):
        return key[1:-1].replace('""', '"')
    return key if key and quote_ident(key) == key else None


def strip_parens(expression: str) -> str:
    """`((a > 0))` -> `(a > 0)`: one redundant outer pair off (SQLAlchemy adds its own)."""
    text = expression.strip()
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
            continue
        if ch in ("'", '"'):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return text  # "(a) AND (b)": the outer parentheses are not one pair
    return text[1:-1].strip()


def autogen_context() -> Any:
    """An Alembic AutogenContext for PostgreSQL with the usual `sa.` / `op.` prefixes."""
    from alembic.autogenerate.api import AutogenContext  # lazy: start-up (Alembic; codegen uses this module)
    from alembic.runtime.migration import MigrationContext  # lazy: start-up (Alembic; codegen uses this module)

    context = MigrationContext.configure(dialect=postgresql.dialect())
    opts = {
        "sqlalchemy_module_prefix": "sa.",
        "alembic_module_prefix": "op.",
        "user_module_prefix": None,
        "render_as_batch": False,
        "render_item": None,
    }
    autogen = AutogenContext(context, opts=opts)
    autogen.imports = set()
    return autogen
