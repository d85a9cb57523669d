"""App version strings: parsed once, with the error that names where a bad one came from.

Part of the core (it imports no layer) because the safety policy (`plan/policy.py`, the downgrade rule) and
the history (`history/versions.py`, what a row records) both need the same parsing and the same limit.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from schemasync.errors import ConfigError

MAX_VERSION_LENGTH = 20


def parse_version(text: str | None, origin: str) -> Version:
    """A comparable version, or a ConfigError that names the value and where it came from."""
    if text is None or not str(text).strip():
        raise ConfigError(
            f"No app version is set ({origin}).",
            "Set [project].version in pyproject.toml, pass --app-version, or set SCHEMASYNC_APP_VERSION.",
        )
    value = str(text).strip()
    if len(value) > MAX_VERSION_LENGTH:
        raise ConfigError(
            f"The version {value!r} from {origin} is longer than {MAX_VERSION_LENGTH} characters, the width of schema_versions columns.",
            "Use a shorter version string such as 1.6.0.",
        )
    try:
        return Version(value)
    except InvalidVersion:
        raise ConfigError(
            f"The version {value!r} from {origin} is not a version number.",
            "Use a PEP 440 or semver version such as 1.6.0, 2.0.0rc1 or 1.0.0-beta.2.",
        ) from None
