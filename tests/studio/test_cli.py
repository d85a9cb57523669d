"""The `schemasync studio` command as a user runs it: options, host warning, port in use, fast paths."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import TestDB
from tests.studio.server import studio_process


def test_help_lists_the_options(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("studio", "--help")
    assert result.code == 0
    for option in ("--port", "--host", "--open", "--database-url", "--models"):
        assert option in result.stdout


def test_a_port_in_use_is_a_clear_error(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("studio", "--port", str(port), "--database-url", pg.url)
    assert result.code == 1
    assert f"Cannot serve on 127.0.0.1:{port}: the port is already in use." in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.output


def test_a_host_that_cannot_be_served_is_a_clear_error(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    for host, message in (
        ("nosuch.invalid", "Cannot serve on host 'nosuch.invalid': "),
        ("192.0.2.123", "Cannot serve on 192.0.2.123: it is not an address of this machine."),  # TEST-NET-1
    ):
        result = cli("studio", "--host", host, "--port", "0", "--database-url", pg.url)
        assert result.code == 1, host
        assert message in result.stderr and "--host" in result.stderr, result.stderr
        assert "warning" not in result.stderr and "Traceback" not in result.output  # nothing was served


def this_machines_address() -> str | None:
    """An address of this machine other than loopback (the one its default route leaves from), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing: it only picks the outgoing address
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_by_default_only_loopback_is_served(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    with studio_process(cli.project, "--database-url", pg.url) as running:
        port = int(running.url.rsplit(":", 1)[1])
        with urllib.request.urlopen(running.url + "/history", timeout=30) as response:
            assert response.status == 200
        outside = this_machines_address()
        if outside is not None:  # what another machine would connect to: nothing listens there
            with socket.socket() as other, pytest.raises(ConnectionRefusedError):
                other.settimeout(5)
                other.connect((outside, port))
        log = running.stderr()
    assert f"on http://127.0.0.1:{port}/ (read-only; Ctrl-C to stop)" in log
    assert "warning" not in log.lower()


def test_open_points_the_browser_at_the_served_address(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    opened = cli.project / "opened.txt"
    recorder = (
        f'{sys.executable} -c "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])" {opened} %s'
    )
    with studio_process(cli.project, "--open", "--database-url", pg.url, env={"BROWSER": recorder}) as running:
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.exists(), running.stderr()
        address = opened.read_text()
        with urllib.request.urlopen(address, timeout=30) as response:  # the page it opened answers
            assert response.status == 200
    assert address == running.url + "/"


def test_serving_beyond_loopback_warns_and_answers_requests(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    with studio_process(cli.project, "--host", "0.0.0.0", "--database-url", pg.url) as running:
        with urllib.request.urlopen(running.url + "/tables", timeout=30) as response:
            assert response.status == 200
        deadline = time.monotonic() + 10
        while "GET /tables 200" not in running.stderr() and time.monotonic() < deadline:
            time.sleep(0.1)
        running.process.send_signal(signal.SIGINT)  # Ctrl-C: the normal way to stop a server
        assert running.process.wait(timeout=15) == 0
        log = running.stderr()
    assert "schemasync studio stopped" in log and "Traceback" not in log
    assert "warning: serving on 0.0.0.0: anyone who can reach this machine" in log
    assert "GET /tables 200" in log


def test_the_web_stack_is_not_imported_on_the_fast_paths() -> None:
    probe = (
        "import sys\nimport schemasync.cli.commands\n"
        "print('WEB', sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'uvicorn', 'jinja2', 'httpx'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "WEB []" in result.stdout
