"""Reading names back out of the text PostgreSQL renders: types, nextval() defaults, qualified names.

The schema value keeps PostgreSQL's own rendering (`format_type`, `pg_get_expr`), which quotes an
identifier only when it must and schema-qualifies a name only when it is not on the search path.
These helpers undo exactly that, so the diff can tell which columns use an enum and which default
belongs to a serial column.
"""

from __future__ import annotations

import hashlib
import re

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'(?:::regclass)?\)$")


def quote_ident(name: str) -> str:
    """The identifier as PostgreSQL's quote_ident renders it (keywords aside)."""
    return name if _PLAIN.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def split_qualified(text: str) -> tuple[str | None, str]:
    """`schema.name`, `"Odd Schema"."Name"` or `name` -> (schema or None, name), unquoted."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j = i + 1
            buf = []
            while j < n:
                if text[j] == '"' and j + 1 < n and text[j + 1] == '"':
                    buf.append('"')
                    j += 2
                elif text[j] == '"':
                    break
                else:
                    buf.append(text[j])
                    j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = text.find(".", i)
            j = n if j == -1 else j
            parts.append(text[i:j].lower() if _PLAIN.fullmatch(text[i:j].lower()) else text[i:j])
            i = j
        if i < n and text[i] == ".":
            i += 1
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return None, parts[0] if parts else ""


def base_type(type_text: str) -> tuple[str, int]:
    """A column type without its array brackets, and how many dimensions it had."""
    dims = 0
    text = type_text.strip()
    while text.endswith("[]"):
        text = text[:-2].rstrip()
        dims += 1
    return text, dims


def type_names(type_text: str, schema: str, name: str) -> bool:
    """Whether `type_text` (as format_type renders it, arrays included) is the type schema.name."""
    text, _ = base_type(type_text)
    found_schema, found_name = split_qualified(text)
    if found_name != name:
        return False
    return found_schema == schema or (found_schema is None and schema in ("public", "pg_catalog"))


def nextval_sequence(default: str | None) -> tuple[str, str] | None:
    """(schema, sequence) when the default is `nextval('seq'::regclass)`, else None (unqualified: public)."""
    if default is None:
        return None
    match = _NEXTVAL.match(default.strip())
    if not match:
        return None
    seq_schema, seq_name = split_qualified(match[1].replace("''", "'"))
    return (seq_schema or "public", seq_name)


SERIAL_TYPES = {"smallint": "smallserial", "integer": "serial", "bigint": "bigserial"}


_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*|.""", re.DOTALL)


def replace_identifier(expression: str, old: str, new: str) -> str:
    """`expression` with the column `old` renamed to `new`, leaving string literals alone.

    Used to see a check, index key or predicate as PostgreSQL will render it after RENAME COLUMN,
    so a renamed column does not make its constraints look changed.
    """
    quoted_old = quote_ident(old)
    out = []
    for token in _TOKEN.findall(expression):
        if token == quoted_old or (token.startswith('"') and token[1:-1].replace('""', '"') == old):
            out.append(quote_ident(new))
        else:
            out.append(token)
    return "".join(out)


def identifiers(expression: str) -> set[str]:
    """The identifiers an expression mentions (unquoted), outside string literals: a superset of its columns."""
    found = set()
    for token in _TOKEN.findall(expression):
        if token.startswith('"'):
            found.add(token[1:-1].replace('""', '"'))
        elif token[0].isalpha() or token[0] == "_":
            found.add(token.lower())
    return found


# -- names of the objects an online plan makes for a while (plan/online.py) -----------------------

NOT_NULL_HELPER_PREFIX = "schemasync_not_null_"
REBUILD_SUFFIX = "_ssnew"
_MAX_NAME = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer names


def _fitted(text: str, whole: str, budget: int) -> str:
    """`text` cut to `budget` bytes with a hash of `whole` so two long names never meet."""
    if len(text.encode()) <= budget:
        return text
    digest = hashlib.md5(whole.encode(), usedforsecurity=False).hexdigest()[:8]
    cut = text.encode()[: budget - 9].decode(errors="ignore")
    return f"{cut}_{digest}"


def not_null_helper(column: str) -> str:
    """The CHECK (col IS NOT NULL) an online plan adds NOT VALID, validates, then drops once the column is
    NOT NULL. Derived from the column alone, so the next plan finds one a failed run left behind."""
    return NOT_NULL_HELPER_PREFIX + _fitted(column, column, _MAX_NAME - len(NOT_NULL_HELPER_PREFIX))


def rebuild_name(index: str) -> str:
    """The temporary name an online plan builds a changed index under, before swapping it in."""
    return _fitted(index, index, _MAX_NAME - len(REBUILD_SUFFIX)) + REBUILD_SUFFIX
