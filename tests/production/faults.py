"""A tiny HTTP proxy in front of the moto S3 server that answers chosen requests with an S3 error.

It forwards every request unchanged (headers, body, chunked or not) and relays the answer, except
the next `times` requests matching a method and a path suffix, which get a real S3 error response
(`503 SlowDown` by default) after their body was read, as a throttled S3 would answer. Everything
it saw is in `requests`, so a test can assert what was retried.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fixtures.net import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


@dataclass
class Fault:
    method: str
    suffix: str
    times: int
    status: int = 503
    code: str = "SlowDown"


@dataclass
class FaultProxy:
    upstream_port: int
    port: int = field(default_factory=free_port)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status answered)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, method: str, suffix: str, times: int = 1, status: int = 503, code: str = "SlowDown") -> None:
        with self._lock:
            self.faults.append(Fault(method, suffix, times, status, code))

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and path.split("?", maxsplit=1)[0].endswith(fault.suffix):
                    fault.times -= 1
                    return fault
        return None

    def seen(self, method: str, suffix: str) -> list[int]:
        """Statuses answered to the requests matching method and path suffix, in order."""
        return [s for m, p, s in self.requests if m == method and p.split("?")[0].endswith(suffix)]

    def start(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    raw = b""
                    while True:
                        line = self.rfile.readline()
                        raw += line
                        size = int(line.split(b";")[0].strip(), 16)
                        if size == 0:
                            while True:  # trailers, then the empty line
                                trailer = self.rfile.readline()
                                raw += trailer
                                if trailer in (b"\r\n", b"\n", b""):
                                    return raw
                        raw += self.rfile.read(size + 2)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._body()
                fault = proxy._fault_for(self.command, self.path)
                if fault is not None:
                    payload = (
                        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{fault.code}</Code>'
                        f"<Message>Injected by the test proxy</Message><RequestId>test</RequestId></Error>"
                    ).encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    proxy.requests.append((self.command, self.path, fault.status))
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection", "expect"}}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                finally:
                    conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                if self.command == "HEAD":
                    self.send_header("Content-Length", response.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                proxy.requests.append((self.command, self.path, response.status))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
