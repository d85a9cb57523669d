"""schemasync as a least-privilege role (issue 9, security): the owner of the app's schema, not a superuser,
no CREATEDB, no CREATEROLE, with exactly the grants the README's "Least privilege" section lists.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import TestDB
from tests.reliability.helpers import MODELS_V11, write_project

pytestmark = pytest.mark.reliability


@pytest.fixture
def owner(pg: TestDB):  # type: ignore[no-untyped-def]
    """A login role set up as the README says, and its URL; dropped afterwards with what it owns."""
    role = f"ss_owner_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'Owner-Pa55-w0rd'")
    # The README's grants, verbatim:
    pg.execute(f'GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "{pg.name}" TO {role}')
    pg.execute(f"ALTER SCHEMA public OWNER TO {role}")
    try:
        yield role, pg.url.replace("postgres@", f"{role}:Owner-Pa55-w0rd@")
    finally:
        pg.execute(f"REASSIGN OWNED BY {role} TO postgres")
        pg.execute(f"DROP OWNED BY {role}")
        pg.execute(f"DROP ROLE {role}")


def test_the_main_commands_work_as_the_schema_owner(cli, pg: TestDB, owner) -> None:  # type: ignore[no-untyped-def]
    role, url = owner
    assert pg.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s", (role,)) == [
        (False, False, False)
    ]
    write_project(cli.project, "1.1.0", MODELS_V11)
    env = {"DATABASE_URL": url}

    def ok(*args: str, code: int = 0) -> str:
        result = cli(*args, env=env)
        assert result.code == code, (args, result.output)
        assert "Traceback" not in result.output and "ermission denied" not in result.output
        return result.stdout

    assert json.loads(ok("status", "--json"))["database_name"] == pg.name
    ok("check", code=2)
    assert "Found 2 new tables" in ok("diff")
    ok("sync", "--yes")
    ok("check")
    assert pg.scalar("SELECT tableowner FROM pg_tables WHERE tablename = 'notes'") == role
    pg.execute("INSERT INTO people (name) VALUES ('kept')")  # as the app would

    backup = json.loads(ok("backup", "--json"))
    pg.execute("DELETE FROM people")
    ok("restore", backup["id"], "--yes")
    assert pg.execute("SELECT name FROM people") == [("kept",)]
    history = json.loads(ok("history", "--json"))
    assert [r["status"] for r in history] == ["restore", "applied"]
