"""The extensions the models want: those their DDL creates, and those whose objects they use.

An extension is database-wide, so the materialised models cannot be read off their scratch schemas
the way tables are: `CREATE EXTENSION IF NOT EXISTS citext` finds citext already installed in the
target (scratch schemas in the target) or in a dev database that keeps it (`dev-url`), and creates
nothing. So the models' side is decided by name, after their DDL ran, in the same transaction:

- every extension a `CREATE EXTENSION` statement of the models names (a DDL event, an alembic_utils
  `PGExtension`), with the version it pins (`VERSION '1.6'`) or None when it pins none;
- every extension one of whose types, functions or operator classes the models' DDL names (the rule
  `schema/devdb.py` uses to create the target's extensions in a dev database), version None: models
  that use citext without declaring it never have it pruned from under their columns;
- the extensions those require (`CASCADE`), version None.

Their schema is the one they are installed in there, which is the scratch schema (mapped back to the
real one) when the models' DDL created it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import psycopg
from psycopg.rows import tuple_row

from schemasync.schema.ddl import code_start
from schemasync.schema.model import Extension

# Every extension in the database, each with the extensions it requires and the names of its types,
# functions and operator classes (what models can name).
_INSTALLED = """
SELECT x.extname, n.nspname, x.extversion,
       ARRAY(SELECT r.extname::text FROM pg_catalog.pg_depend d
             JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
             WHERE d.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.objid = x.oid
               AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass),
       ARRAY(SELECT m.name FROM pg_catalog.pg_depend d
             JOIN LATERAL (
               SELECT t.typname::text FROM pg_catalog.pg_type t
               WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = d.objid
               UNION ALL SELECT p.proname::text FROM pg_catalog.pg_proc p
               WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.objid
               UNION ALL SELECT o.opcname::text FROM pg_catalog.pg_opclass o
               WHERE d.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND o.oid = d.objid
             ) AS m(name) ON true
             WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = x.oid
               AND d.deptype = 'e')
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
"""

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
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
    words = {w.lower() for text in texts for w in _WORD.findall(text)}
    rows = conn.cursor(row_factory=tuple_row).execute(_INSTALLED).fetchall()
    requires = {name: tuple(required) for name, _, _, required, _ in rows}
    wanted = {
        name
        for name, _, _, _, members in rows
        if name in pinned or ((usable is None or name in usable) and any(m.lower() in words for m in members))
    }
    todo = list(wanted)
    while todo:  # what they require, transitively
        for required in requires.get(todo.pop(), ()):
            if required not in wanted:
                wanted.add(required)
                todo.append(required)
    return tuple(Extension(name, schema, pinned.get(name)) for name, schema, _, _, _ in rows if name in wanted)
