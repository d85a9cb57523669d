"""The extensions the models want: those their DDL creates, and those whose objects they use.

An extension is database-wide, so the materialised models cannot be read off their scratch schemas
the way tables are: `CREATE EXTENSION IF NOT EXISTS citext` finds citext already installed in the
target (scratch schemas in the target) or in a dev database that keeps it (`dev-url`), and creates
nothing. So the models' side is decided by name, after their DDL ran, in the same transaction:

- every extension a `CREATE EXTENSION` statement of the models names (a DDL event, an alembic_utils
  `PGExtension`), with the version it pins (`VERSION '1.6'`) or None when it pins none;
- every extension one of whose types, functions or operator classes the models' DDL uses (`References`,
  the rule `schema/devdb.py` uses to create the target's extensions in a dev database), version None:
  models that use citext without declaring it never have it pruned from under their columns;
- the extensions those require (`CASCADE`), version None.

Their schema is the one they are installed in there, which is the scratch schema (mapped back to the
real one) when the models' DDL created it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from schemasync.schema.ddl import PLACEHOLDER, code_start
from schemasync.schema.model import Extension

# One object an extension owns (`d`, a pg_depend row) that models can name, as (kind, name): a type, an
# operator class, or a function whose name no built-in function has (citext's `replace`, `max` or `strpos`
# overload pg_catalog's: a call to one of those names uses citext only through a citext argument, whose type
# the models then name).
MEMBER = """
SELECT 'type', t.typname::text FROM pg_catalog.pg_type t
WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = d.objid
UNION ALL SELECT 'function', p.proname::text FROM pg_catalog.pg_proc p
WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_proc b WHERE b.proname = p.proname
                  AND b.pronamespace = 'pg_catalog'::pg_catalog.regnamespace)
UNION ALL SELECT 'opclass', o.opcname::text FROM pg_catalog.pg_opclass o
WHERE d.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND o.oid = d.objid
"""

# Every extension in the database, each with the extensions it requires and its members (`MEMBER`).
_INSTALLED = """
SELECT x.extname, n.nspname, x.extversion,
       ARRAY(SELECT r.extname::text FROM pg_catalog.pg_depend d
             JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
             WHERE d.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.objid = x.oid
               AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass),
       ARRAY(SELECT ARRAY[m.kind, m.name] FROM pg_catalog.pg_depend d
             JOIN LATERAL ({MEMBER}) AS m(kind, name) ON true
             WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = x.oid
               AND d.deptype = 'e')
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
""".replace("{MEMBER}", MEMBER)

_TOKEN = re.compile(r"""\s*("(?:[^"]|"")*"|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_$]*|[^\sA-Za-z_])""")


def declared(texts: Iterable[str]) -> dict[str, str | None]:
    """Extension name -> pinned version (None: none) for every `CREATE EXTENSION` among `texts`."""
    out: dict[str, str | None] = {}
    for text in texts:
        found = parse_create(text)
        if found is not None:
            out[found[0]] = found[1]
    return out


def parse_create(text: str) -> tuple[str, str | None] | None:
    """(name, version or None) of a `CREATE EXTENSION [IF NOT EXISTS] name [WITH] [SCHEMA s] [VERSION v]
    [CASCADE]` statement; None for any other statement. Names and versions as the catalog stores them."""
    tokens = _tokens(text[code_start(text) :])
    words = [t.upper() for t in tokens]
    if words[:2] != ["CREATE", "EXTENSION"]:
        return None
    i = 2
    if words[i : i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    if i >= len(tokens):
        return None
    name = _identifier(tokens[i])
    version = None
    for j in range(i + 1, len(tokens) - 1):
        if words[j] == "VERSION":
            version = _identifier(tokens[j + 1])
    return name, version


def _tokens(text: str) -> list[str]:
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match.group(1)
        if word == ";":
            break
        tokens.append(word)
    return tokens


def _identifier(token: str) -> str:
    """A name or version as stored: quoted ones verbatim (either quote), bare ones folded to lower case."""
    if token[:1] in ('"', "'"):
        return token[1:-1].replace(token[0] * 2, token[0])
    return token.lower()


def of_models(
    conn: psycopg.Connection, texts: list[str], usable: frozenset[str] | None = None
) -> tuple[Extension, ...]:
    """The extensions the models want (see the module docstring), read in the materialising transaction.

    `usable`: in a dev database, the target's extensions it was given (`devdb._ensure_extensions`); an
    extension the dev database holds for other reasons is not the target's, so naming one of its objects
    does not make the models want it (None: the materialising database is the target, all are usable).
    """
    pinned = declared(texts)
    used = References.of(texts)
    rows = conn.cursor(row_factory=tuple_row).execute(_INSTALLED).fetchall()
    requires = {name: tuple(required) for name, _, _, required, _ in rows}
    wanted = {
        name
        for name, _, _, _, members in rows
        if name in pinned or ((usable is None or name in usable) and any(used.uses(k, m) for k, m in members))
    }
    todo = list(wanted)
    while todo:  # what they require, transitively
        for required in requires.get(todo.pop(), ()):
            if required not in wanted:
                wanted.add(required)
                todo.append(required)
    return tuple(Extension(name, schema, pinned.get(name)) for name, schema, _, _, _ in rows if name in wanted)


# In text the parser cannot read (a PL/pgSQL body): a call is a name before `(`, a type any other whole identifier.
_CALL = re.compile(r'(?:(?<![\w$"])([A-Za-z_][\w$]*)|"((?:[^"]|"")+)")\s*\(')
_IDENTIFIER = re.compile(r'(?:(?<![\w$"])([A-Za-z_][\w$]*)(?![\w$"])|"((?:[^"]|"")+)")(?!\s*\()')


@dataclass(slots=True)
class References:
    """The functions the models' DDL calls, the types it names and the operator classes it picks, as the
    catalog stores their names (schema aside).

    Read off PostgreSQL's own parse tree (pglast), so only real uses count: `CREATE OR REPLACE FUNCTION`
    does not use citext's `replace`, a column named `similarity` does not use pg_trgm. A function body is
    parsed too when it is SQL; one the parser cannot read (PL/pgSQL) is scanned: a name before `(` is a
    call, any other whole identifier may be a type (a declared variable's).
    """

    functions: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    opclasses: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, texts: Iterable[str]) -> References:
        found = cls()
        for text in texts:
            found._add(PLACEHOLDER.sub(lambda m: '"' + m.group(1).replace('"', '""') + '"', text))
        return found

    def uses(self, kind: str, name: str) -> bool:
        """Whether a member of an extension (`MEMBER`'s kind and name) is among the references."""
        return name in {"type": self.types, "function": self.functions, "opclass": self.opclasses}.get(kind, ())

    def _add(self, text: str) -> None:
        from pglast import ast, parse_sql  # lazy: start-up (pglast; only when extensions are looked for)
        from pglast.parser import ParseError  # lazy: start-up (pglast; only when extensions are looked for)

        try:
            tree = parse_sql(text)
        except ParseError:
            self._scan(text)
            return
        for node in _nodes(tree, ast.Node):
            if isinstance(node, ast.FuncCall):
                self.functions.add(_last(node.funcname))
            elif isinstance(node, ast.TypeName):
                self.types.add(_last(node.names))
            elif isinstance(node, ast.IndexElem) and node.opclass:
                self.opclasses.add(_last(node.opclass))
            elif isinstance(node, ast.CreateTrigStmt):
                self.functions.add(_last(node.funcname))
            elif isinstance(node, ast.DefElem) and node.defname == "as" and isinstance(node.arg, tuple | list):
                for body in node.arg:  # a function's body (and a C function's link symbol): text to read
                    if isinstance(body, ast.String):
                        self._add(body.sval)

    def _scan(self, text: str) -> None:
        self.functions.update(a.lower() if a else b.replace('""', '"') for a, b in _CALL.findall(text))
        self.types.update(a.lower() if a else b.replace('""', '"') for a, b in _IDENTIFIER.findall(text))


def _last(names: Any) -> str:
    """The object's own name from a parse tree's qualified name (a list of String nodes)."""
    return str(getattr(names[-1], "sval", "")) if names else ""


def _nodes(tree: Any, node_type: type) -> Iterator[Any]:
    """Every parse-tree node under `tree`, depth first."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, node_type):
            yield item
            stack.extend(getattr(item, slot) for slot in item)
