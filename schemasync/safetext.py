"""Untrusted text made safe for where it goes: Markdown artifacts, terminals and logs, stored names.

Table names, comments, approvers' names, versions and paths come from models, databases, run
creators and operators, and end up in Markdown that Prefect renders (the plan an approver reads),
in log lines shown on terminals, and in `schema_versions`. Each destination has one function here,
used at every place such text is written, so that no call site invents its own rules:

- `escape_markdown`: any value as one line of inert Markdown text (a table named
  `x\\n## Hazards\\nNone` must not add a heading to the approval plan; `<img src=...>` must not
  become HTML); safe in a paragraph, a list item, a heading or a table cell;
- `markdown_code`: any value as an inline code span that cannot be closed early;
- `printable`: control characters and terminal escapes shown as visible `\\x1b` escapes (for logs);
- `person`: a name someone types (`--as`, the approver field) checked, never silently altered;
- `stored_note`: free text (a comment) with known secrets masked and control characters made
  visible, before it is stored or published.
"""

from __future__ import annotations

import re

from schemasync import secrets
from schemasync.errors import ConfigError, ExitCode

# C0 and C1 control characters (ESC starts terminal escape sequences), DEL, and the Unicode
# direction controls that make text display in another order than it is stored ("Trojan source").
_OTHER_CONTROLS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f{_OTHER_CONTROLS}]")
_CONTROL_BUT_LAYOUT = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER_CONTROLS}]")  # keeps tab and newline
# CommonMark renders a backslash-escaped punctuation character as itself. Escaped anywhere: what makes
# inline Markdown (emphasis, code, links, GFM strikethrough and cell breaks) or HTML tags and entities.
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
# Escaped at the start only (a value never contains a line break, so only its start can begin a block):
# headings, list items, setext underlines, ordered-list numbers.
# Each only where it would start a block: followed by a space, the line's end, or (`##`, `---`) itself.
_MARKDOWN_BLOCK_START = re.compile(r"^(?:([#+=-])(?=[\s#=-]|$)|(\d{1,9})([.)])(?=\s|$))")
_WHITESPACE = re.compile(r"\s+")
NAME_PATTERN = f"^[^\\x00-\\x1f{_OTHER_CONTROLS}]*[^\\s\\x00-\\x1f{_OTHER_CONTROLS}][^\\x00-\\x1f{_OTHER_CONTROLS}]*$"
"""A name with a visible character and no control character: a JSON-schema `pattern` (for forms)."""


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character and direction override shown as a visible escape (`\\x1b`).

    For log lines and terminals: an escape sequence in a URL or a name must not move the cursor,
    recolour the screen or forge another log line. `keep_newlines` keeps newline and tab (free text).
    """
    pattern = _CONTROL_BUT_LAYOUT if keep_newlines else _CONTROL
    return pattern.sub(_visible, text)


def escape_markdown(value: object) -> str:
    """`value` as one line of literal Markdown text: no heading, list, link, emphasis, HTML or cell break.

    Line breaks become spaces (so the value cannot start a line of its own), control characters become
    visible escapes, the characters of inline Markdown and HTML are backslash-escaped everywhere, and a
    leading `# `, `- `, `+ `, `---`, `===` or `1. ` is escaped (it would start a block where the value begins a line).
    Secrets are masked first, so an escape can never split a secret that `scrub` would have found.
    """
    text = _MARKDOWN_INLINE.sub(r"\\\1", printable(_WHITESPACE.sub(" ", secrets.scrub(str(value)).strip())))
    return _MARKDOWN_BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)


def markdown_code(value: object) -> str:
    """`value` as an inline code span: fenced with more backticks than any run inside it.

    Pipes are backslash-escaped so the span is also safe in a table cell (GFM removes that backslash
    before it reads the span).
    """
    text = printable(_WHITESPACE.sub(" ", secrets.scrub(str(value)))).replace("|", "\\|")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, lang: str = "") -> str:
    """`text` as a fenced code block that nothing inside it can close: the fence is longer than any run of
    backticks the text holds (plan SQL carries table names and comments from the database)."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def person(value: str, what: str) -> str:
    """A person's name as typed (`--as`, the approver field), refused if it holds control characters.

    A name is recorded in `schema_versions` and shown on terminals: an escape sequence in it could
    rewrite what a later reader sees, so it is refused with a clear error rather than altered.
    """
    name = value.strip()
    if not name:
        raise ConfigError(f"The {what} is empty.", f"Give the {what} as a name or login, e.g. alice.")
    if bad := _CONTROL.search(name):
        raise ConfigError(
            f"The {what} '{printable(name)[:80]}' contains a control character ({_visible(bad)}); "
            "names are recorded and shown on terminals, so terminal escapes and line breaks are not accepted.",
            f"Give the {what} as plain text, e.g. alice.",
            exit_code=ExitCode.USAGE,
        )
    return name


def stored_note(text: str) -> str:
    """Free text someone typed (an approval comment), ready to store and publish.

    Known secrets and URL/conninfo passwords are masked (a pasted connection string must not end up
    in `schema_versions` or Prefect's inputs); control characters other than newline and tab are
    shown as visible escapes.
    """
    return printable(secrets.scrub(text), keep_newlines=True)
