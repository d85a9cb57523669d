"""Plain-text output and terminal questions shared by the commands that change things (`sync`, versioned
`sync`): one place, so that the two never drift apart and neither command module imports the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from schemasync.cli.app import out
from schemasync.errors import ExitCode

if TYPE_CHECKING:
    from schemasync.diff.held import HeldError


def say(text: str, style: str | None = None) -> None:
    """User data (names, SQL, labels) is never Rich markup."""
    out.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def ask(question: str) -> bool:
    try:
        answer = out.input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def confirm_model_errors(
    model_errors: Sequence[HeldError], *, interactive: bool, allowed: bool, show: Callable[[], None]
) -> None:
    """Shown (`show`), then asked on a terminal; elsewhere the policy refuses (SS102) unless allowed."""
    from schemasync.ops import sync as ops  # lazy: start-up (the planner, only for commands that change things)

    if model_errors and not allowed:
        show()
    if not ops.model_errors_need_asking(model_errors, allowed=allowed, can_ask=interactive):
        return
    count = len(model_errors)
    objects = f"{count} declared object{'s' if count != 1 else ''}"
    if not ask(f"The models have {objects} that cannot be created (above). Go on with the rest? (y/N) "):
        say("Not applied: nothing was changed.")
        raise SystemExit(int(ExitCode.REFUSED))
