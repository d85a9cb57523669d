"""Expressions compared in a normal form: the same expression is equal however PostgreSQL printed it.

Why. Every expression in a `Schema` (a check, an index key or predicate, a default, a generation
expression) is PostgreSQL's own rendering (`pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`),
and that rendering is not a fixed point. `status IN ('a','b')` on a varchar column is stored as
`((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))`; fed back
to PostgreSQL (which is what adding the check does), that text parses into
`((status)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))`, and an
`ALTER COLUMN ... TYPE` re-parses it the same way (on a text column the outer `(status)::text` goes
too). Compared as text, such a check was reported as changed for ever: the plan re-added it, the
verification before COMMIT saw the re-parsed text, and `sync` rolled back every time. Defaults have
the same problem in a second form: the models say `now()`, a migration tool wrote
`CURRENT_TIMESTAMP`, which PostgreSQL keeps as written.

How. Both texts are parsed with PostgreSQL's own parser (libpg_query, through `pglast`) and the parse
trees are brought to a normal form in which only rewrites that cannot change the value are made:
  - parentheses, source positions, `pg_catalog.` qualification and the call syntax of a function
    (`now() AT TIME ZONE 'utc'` is `timezone('utc', now())`) are not part of the form;
  - a string literal cast to `text` or `character varying` (without a length), in any chain, is the
    same string; `ARRAY[e1, e2]::T[]` is `ARRAY[e1::T, e2::T]` (how PostgreSQL itself parses it);
  - a text or varchar column cast to `text` is the column (a binary coercion, which PostgreSQL
    prints for a varchar column and drops after `ALTER COLUMN ... TYPE text`);
  - the constants of `x = ANY (ARRAY[...])` and `x <> ALL (ARRAY[...])` form a set (order and
    repetition do not matter to membership);
  - a numeric literal and the same digits as a string cast to a numeric type are the same number
    (`'-1'::integer` is how PostgreSQL prints -1);
  - the transaction's clock, in all its spellings: `now()`, `transaction_timestamp()`,
    `CURRENT_TIMESTAMP` and `('now'::text)::timestamp with time zone` are one value; `CURRENT_DATE`,
    `('now'::text)::date` and `now()::date` another; likewise `LOCALTIMESTAMP`, `LOCALTIME`,
    `CURRENT_TIME`. `statement_timestamp()`, `clock_timestamp()` and `CURRENT_TIMESTAMP(3)` are
    different values and stay different;
  - for a default only: casts that restate the column's own type (`'0'::numeric` on a numeric(10,2)
    column, `'new'::public.status` on that enum's column) are dropped, so a literal default is its
    literal text (a default is always converted to the column's type on insert), and the clock is
    read as that type (`now()` as the default of a `timestamp` column is `LOCALTIMESTAMP`).
Anything else is compared as parsed: casts to `character varying(n)` (they truncate) and to
`character(n)` (it pads and strips spaces) stay. A text the parser does not take as one expression
(a check's trailing `NO INHERIT`) is compared as written. So a genuine change (a value added to an IN list, `>`
for `>=`, `now()` for `'2020-01-01'`, 0 for 1) is still a change.

Why not ask the server. Evaluating both defaults and comparing the values (suggested in issue 14)
confuses `now()` with `statement_timestamp()` (equal in a transaction's first statement) and
`CURRENT_DATE` with today's date literal; re-parsing on the server until a fixed point costs a round
trip per diff, works only with a connection (snapshots are compared without one), and still depends
on the column's type. The normal form is exact, needs no server, and is computed only when two texts
differ (equal texts are equal, the common case at any size), so the diff's hot path is unchanged.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from schemasync.schema.model import Column, Index, Table

Kind = Literal["expression", "default", "index key"]
StringColumns = frozenset[tuple[str, int]]  # (column name, array dimensions) of text / varchar columns
Form = Any  # nested tuples of str, int, bool and None

_STRING_TYPE = re.compile(r"^(?:text|character varying(?:\(\d+\))?)((?:\[\])*)$")
_NUMBER = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_INTEGRAL = re.compile(r"^-?\d+$")
_PLAIN_STRING = frozenset({("text",), ("varchar",)})
_NUMERIC = frozenset({("int2",), ("int4",), ("int8",), ("numeric",)})
# the transaction's clock read as each of these types; a cast of `now` to it is the same reading
_CLOCK_AS = {
    ("timestamptz",): "now",
    ("date",): "current_date",
    ("timestamp",): "localtimestamp",
    ("time",): "localtime",
    ("timetz",): "current_time",
}
_NOW_FUNCTIONS = frozenset({("now",), ("transaction_timestamp",)})
_CLOCK_KEYWORDS = {  # SQLValueFunction ops without a precision
    "SVFOP_CURRENT_TIMESTAMP": "now",
    "SVFOP_CURRENT_DATE": "current_date",
    "SVFOP_LOCALTIMESTAMP": "localtimestamp",
    "SVFOP_LOCALTIME": "localtime",
    "SVFOP_CURRENT_TIME": "current_time",
}
_IGNORED_FIELDS = frozenset({"funcformat"})  # `f(x)` and `x AT TIME ZONE ...` / `EXTRACT(...)` call alike


class Expression:
    """One side's rendering of an expression and the table it belongs to; `==` compares normal forms.

    The table gives the column types the normal form depends on (which columns are text or
    varchar), `own_type` the column's type for a default. Equal texts are equal without parsing,
    and the table is only looked at when the texts differ. Not hashable: only ever compared. A
    plain slotted class, not a frozen dataclass: one is made per check on every diff, and a frozen
    dataclass's constructor costs four times as much.
    """

    __slots__ = ("kind", "own_type", "table", "text")

    def __init__(self, text: str | None, table: Table, kind: Kind = "expression", own_type: str | None = None) -> None:
        self.text, self.table, self.kind, self.own_type = text, table, kind, own_type

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        if self.text == other.text:
            return True
        if self.text is None or other.text is None:
            return False
        return self.normal_form() == other.normal_form()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def normal_form(self) -> Form:
        return normal_form(self.text or "", self.kind, string_columns(self.table), self.own_type)


def string_columns(table: Table) -> StringColumns:
    """The (name, array dimensions) of the table's text and varchar columns."""
    out: set[tuple[str, int]] = set()
    for col in table.columns:
        found = _STRING_TYPE.match(col.type)
        if found:
            out.add((col.name, len(found.group(1)) // 2))
    return frozenset(out)


def same_expression(old: str | None, old_table: Table, new: str | None, new_table: Table) -> bool:
    """A check or generation expression of `old_table` against one of `new_table`."""
    return old == new or Expression(old, old_table) == Expression(new, new_table)


def same_default(old: Column, old_table: Table, new: Column, new_table: Table) -> bool:
    """Two columns' defaults, each read as a value of its own column's type."""
    if old.default == new.default:
        return True
    return Expression(old.default, old_table, "default", old.type) == Expression(
        new.default, new_table, "default", new.type
    )


def same_index(old: Index, old_table: Table, new: Index, new_table: Table) -> bool:
    """`Index.shape()` equality, keys and predicate compared in normal form: the same index, whatever its name."""
    return old.shape() == new.shape() or index_shape(old, old_table) == index_shape(new, new_table)


def index_shape(index: Index, table: Table) -> tuple[object, ...]:
    """`Index.shape()` with keys and predicate as normal-form `Expression`s read against `table`."""
    return (
        index.unique,
        index.method,
        tuple(Expression(k, table, "index key") for k in index.keys),
        index.include,
        Expression(index.where, table),
        index.nulls_not_distinct,
    )


@functools.lru_cache(maxsize=1024)
def constraint_form(definition: str, columns: StringColumns) -> Form:
    """The normal form of a table constraint as `pg_get_constraintdef` renders it (an EXCLUDE constraint):
    its elements, operators and predicate parsed, so a re-parsed rendering compares equal."""
    from pglast import ast, parse_sql  # lazy: start-up (pglast; only expressions that need parsing)
    from pglast.parser import ParseError  # lazy: start-up (pglast; only expressions that need parsing)

    try:
        statements = parse_sql(f"ALTER TABLE t ADD {definition}")
    except ParseError:
        return ("raw", definition)
    stmt = statements[0].stmt if len(statements) == 1 else None
    commands = stmt.cmds if isinstance(stmt, ast.AlterTableStmt) else None
    if not commands or len(commands) != 1 or not isinstance(commands[0].def_, ast.Constraint):
        return ("raw", definition)
    return _canon(commands[0].def_, columns)


@functools.lru_cache(maxsize=4096)
def normal_form(text: str, kind: Kind, columns: StringColumns, own_type: str | None = None) -> Form:
    """The normal form of `text` (see the module docstring); ('raw', text) when it does not parse."""
    node = _parse(text, kind)
    if node is None:
        return ("raw", text)
    form = _canon(node, columns)
    if kind == "default" and own_type is not None:
        form = _default_form(form, own_type)
    return form


def _parse(text: str, kind: Kind) -> Any:
    """The one expression (or index element) in `text`, or None when it is not exactly that."""
    from pglast import ast, parse_sql  # lazy: start-up (pglast; only expressions that need parsing)
    from pglast.parser import ParseError  # lazy: start-up (pglast; only expressions that need parsing)

    try:
        if kind == "index key":
            statements = parse_sql(f"CREATE INDEX ON t ({text})")
            stmt = statements[0].stmt if len(statements) == 1 else None
            params = stmt.indexParams if isinstance(stmt, ast.IndexStmt) else None
            return params[0] if params and len(params) == 1 else None
        statements = parse_sql(f"SELECT {text}")
    except ParseError:
        return None
    stmt = statements[0].stmt if len(statements) == 1 else None
    if not isinstance(stmt, ast.SelectStmt) or stmt.fromClause or not stmt.targetList or len(stmt.targetList) != 1:
        return None
    target = stmt.targetList[0]
    return None if target.name else target.val


# -- the normal form -----------------------------------------------------------------------------


def _canon(node: Any, columns: StringColumns) -> Form:
    from pglast import ast  # lazy: start-up (pglast; only expressions that need parsing)

    if isinstance(node, list | tuple):
        return tuple(_canon(n, columns) for n in node)
    if isinstance(node, enum.Enum):
        return node.name
    if not isinstance(node, ast.Node):
        return node
    match node:
        case ast.A_Const():
            return _constant(node)
        case ast.TypeCast():
            return _cast(_canon(node.arg, columns), _type(node.typeName), columns)
        case ast.ColumnRef(fields=(ast.String(sval=column),)):
            return ("column", column)
        case ast.A_ArrayExpr():
            return ("array", _canon(node.elements or (), columns))
        case ast.SQLValueFunction() if _enum_name(node.op) in _CLOCK_KEYWORDS:
            return ("clock", _CLOCK_KEYWORDS[_enum_name(node.op)])
        case ast.FuncCall():
            function = _unqualified(_names(node.funcname))
            if function in _NOW_FUNCTIONS and not node.args and not node.over and not node.agg_filter:
                return ("clock", "now")
            return _generic(node, columns, funcname=function)
        case ast.A_Expr() if _enum_name(node.kind) in ("AEXPR_OP_ANY", "AEXPR_OP_ALL"):
            return _any_all(node, columns)
        case ast.A_Expr():
            return _generic(node, columns, name=_unqualified(_names(node.name)))
    return _generic(node, columns)


def _generic(node: Any, columns: StringColumns, **override: Form) -> Form:
    parts: list[Form] = [type(node).__name__]
    for field, info in type(node).__slots__.items():
        if info.c_type == "ParseLoc" or field in _IGNORED_FIELDS:
            continue
        value = override[field] if field in override else _canon(getattr(node, field), columns)
        parts.append((field, value))
    return tuple(parts)


def _names(items: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(getattr(i, "sval", str(i)) for i in items or ())


def _enum_name(value: object) -> str:
    return value.name if isinstance(value, enum.Enum) else str(value)


def _unqualified(names: tuple[str, ...]) -> tuple[str, ...]:
    """pg_catalog's objects are printed unqualified under an empty search path; the parser adds it back."""
    return names[1:] if len(names) == 2 and names[0] == "pg_catalog" else names


def _constant(node: Any) -> Form:
    from pglast import ast  # lazy: start-up (pglast; only expressions that need parsing)

    if node.isnull:
        return ("null",)
    value = node.val
    match value:
        case ast.String():
            return ("unknown", value.sval)
        case ast.Integer():
            return ("number", "int4", str(value.ival))
        case ast.Float():
            digits = value.fval or "0"
            kind = "int8" if _INTEGRAL.match(digits) and -(2**63) <= int(digits) < 2**63 else "numeric"
            return ("number", kind, digits)
        case ast.Boolean():
            return ("bool", bool(value.boolval))
    return _generic(value, frozenset())


def _type(node: Any) -> Form:
    """('type', names, typmods, array dimensions), with pg_catalog's own types unqualified."""
    return (
        "type",
        _unqualified(_names(node.names)),
        _canon(node.typmods or (), frozenset()),
        len(node.arrayBounds or ()),
        bool(node.setof),
        bool(node.pct_type),
    )


def _cast(arg: Form, type_: Form, columns: StringColumns) -> Form:
    """`arg::type_`, with the casts that cannot change the value folded away (module docstring)."""
    _, names, typmods, dims, _, _ = type_
    plain_string = names in _PLAIN_STRING and not typmods
    if plain_string and dims == 0 and arg[0] in ("unknown", "string"):
        return ("string", arg[1])
    if names == ("text",) and not typmods and arg[0] == "column" and (arg[1], dims) in columns:
        return arg
    if not typmods and dims == 0 and names in _CLOCK_AS:
        if arg in (("string", "now"), ("clock", "now")):
            return ("clock", _CLOCK_AS[names])
        if arg == ("clock", _CLOCK_AS[names]):  # a reading cast to its own type
            return arg
    if dims >= 1 and arg[0] == "array" and arg[1]:
        element = (type_[0], names, typmods, dims - 1, *type_[4:])
        return ("array", tuple(_cast(e, element, columns) for e in arg[1]))
    if names in _NUMERIC and not typmods and dims == 0:
        if arg[0] == "unknown" and _NUMBER.match(arg[1]):
            return ("number", names[0], arg[1])
        if arg[0] == "number" and (names == ("numeric",) or _INTEGRAL.match(arg[2])):
            return ("number", names[0], arg[2])
    return ("cast", arg, type_)


def _any_all(node: Any, columns: StringColumns) -> Form:
    """`x = ANY (ARRAY[constants])` and `x <> ALL (...)`: membership in a set, whatever the order."""
    op = _unqualified(_names(node.name))
    left, right = _canon(node.lexpr, columns), _canon(node.rexpr, columns)
    is_set = (_enum_name(node.kind), op) in (("AEXPR_OP_ANY", ("=",)), ("AEXPR_OP_ALL", ("<>",)))
    if is_set and right[0] == "array" and all(_is_constant(e) for e in right[1]):
        right = ("set", tuple(sorted(set(right[1]), key=repr)))
    return ("A_Expr", _enum_name(node.kind), op, left, right)


def _is_constant(form: Form) -> bool:
    if form[0] in ("unknown", "string", "number", "bool", "null"):
        return True
    return form[0] == "cast" and _is_constant(form[1])


# -- defaults -----------------------------------------------------------------------------------


def _default_form(form: Form, own_type: str) -> Form:
    """A default is converted to its column's type on insert: casts restating that type say nothing."""
    column_type = _column_type(own_type)
    if column_type is None:
        return form
    _, names, typmods, dims, _, _ = column_type
    while form[0] == "cast":
        _, cast_names, cast_typmods, cast_dims, *_ = form[2]
        if cast_names != names or cast_dims != dims or (cast_typmods and cast_typmods != typmods):
            break
        form = form[1]
    string_column = names in _PLAIN_STRING and dims == 0
    if form[0] == "unknown" or (form[0] == "string" and string_column):
        return ("literal", form[1])
    if form[0] == "number":
        return ("literal", form[2])
    if form[0] == "bool":
        return ("literal", "true" if form[1] else "false")
    if form[0] == "clock":  # `now()` on a timestamp column is LOCALTIMESTAMP
        return _cast(form, column_type, frozenset())
    return form


@functools.lru_cache(maxsize=512)
def _column_type(type_text: str) -> Form | None:
    """A `format_type` text as the normal form of a type (None when it does not parse)."""
    from pglast import ast, parse_sql  # lazy: start-up (pglast; only expressions that need parsing)
    from pglast.parser import ParseError  # lazy: start-up (pglast; only expressions that need parsing)

    try:
        statements = parse_sql(f"SELECT NULL::{type_text}")
    except ParseError:
        return None
    stmt = statements[0].stmt if len(statements) == 1 else None
    if not isinstance(stmt, ast.SelectStmt) or not stmt.targetList or len(stmt.targetList) != 1:
        return None
    value = stmt.targetList[0].val
    return _type(value.typeName) if isinstance(value, ast.TypeCast) else None
