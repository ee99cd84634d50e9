"""HTTP servers on loopback for the tests of remote validation (and its benchmark).

:class:`Nginx` runs Debian's nginx as a plain process with a configuration of its own in a scratch
directory (the real server, honouring ``Range`` as deployed servers do); its access log says which
requests reached it. :class:`HostileServer` is a small server on :mod:`http.server` that answers
range requests wrongly on purpose, in the ways nginx never does (a size that changes, a short
body, a range other than the one asked for, silence, a byte at a time).
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

#: Where Debian puts nginx (package nginx); NGINX overrides it.
NGINX_PATH = "/usr/sbin/nginx"
MISSING_NGINX = (
    "nginx is needed to test remote validation against a real HTTP server "
    "(Debian: apt-get install nginx; or set NGINX to its path)"
)
_MARKER = "/__marker__"


def find_nginx() -> str | None:
    path = os.environ.get("NGINX") or (NGINX_PATH if os.access(NGINX_PATH, os.X_OK) else shutil.which("nginx"))
    return path if path and os.access(path, os.X_OK) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Logged(NamedTuple):
    """One request in nginx's access log."""

    method: str
    uri: str
    status: int
    range: str
    sent: int
    if_range: str


_LOG_FORMAT = r"$request_method\t$request_uri\t$status\t$http_range\t$body_bytes_sent\t$http_if_range"

_CONFIG = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    log_format probe '{log_format}';
    access_log {work}/access.log probe;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = {marker} {{ return 204; }}
{locations}
    }}
{tls_server}
}}
"""

_TLS_SERVER = """\
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        root {root};
{locations}
    }}
"""


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed to test remote validation over https")
    certificate, key = directory / "localhost.pem", directory / "localhost.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


class Nginx:
    """nginx serving ``root`` on a free loopback port, with extra ``locations`` (config text, in
    which ``@PORT@`` and ``@TLS_PORT@`` stand for the ports); with ``tls`` (certificate and key), the
    same again over https on a second port.

    Run as the current user; as root, its worker stays root too (``user root``), since the scratch
    directories pytest makes are readable by their owner only.
    """

    def __init__(self, root: Path, work: Path, locations: str = "", *, tls: tuple[Path, Path] | None = None) -> None:
        binary = find_nginx()
        if binary is None:
            raise RuntimeError(MISSING_NGINX)
        self.binary = binary
        self.root = root
        self.work = work
        self.locations = locations
        self.tls = tls
        self.port = self.tls_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._seen = 0
        self._markers = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def tls_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.tls_port}/{path.lstrip('/')}"

    def __enter__(self) -> Nginx:
        self.work.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):  # the free port may be taken before nginx binds it
            self.port = free_port()
            self.tls_port = free_port() if self.tls is not None else 0
            locations = self.locations.replace("@PORT@", str(self.port)).replace("@TLS_PORT@", str(self.tls_port))
            tls_server = ""
            if self.tls is not None:
                certificate, key = self.tls
                tls_server = _TLS_SERVER.format(
                    port=self.tls_port, certificate=certificate, key=key, root=self.root, locations=locations
                )
            config = self.work / "nginx.conf"
            config.write_text(
                _CONFIG.format(
                    work=self.work,
                    root=self.root,
                    port=self.port,
                    user="user root root;" if os.geteuid() == 0 else "",
                    log_format=_LOG_FORMAT,
                    marker=_MARKER,
                    locations=locations,
                    tls_server=tls_server,
                ),
                encoding="utf-8",
            )
            process = subprocess.Popen(
                [self.binary, "-p", str(self.work), "-c", str(config), "-e", str(self.work / "error.log")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if self._wait_listening(process):
                self._process = process
                return self
            _, errors = process.communicate(timeout=10)
            if attempt == 2:
                raise RuntimeError(f"nginx did not start: {errors.decode(errors='replace').strip()}")
        raise AssertionError("unreachable")

    def _wait_listening(self, process: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
            time.sleep(0.02)
        process.kill()
        return False

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None

    def take(self, *, until: str | None = None, timeout: float = 10.0) -> list[Logged]:
        """The requests logged since the last call. nginx writes a line when it has finished with
        a request; a marker request, logged after every request answered before it, says that the
        log is complete. ``until`` waits, in addition, for a line for that URI (a request whose
        answer the client cut off is logged only when nginx sees the cut)."""
        self._markers += 1
        marker = f"{_MARKER}?{self._markers}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", marker)
            connection.getresponse().read()
        finally:
            connection.close()
        deadline = time.monotonic() + timeout
        while True:
            lines = self._lines()
            fresh = lines[self._seen :]
            uris = [line.uri for line in fresh]
            if marker in uris and (until is None or until in uris):
                self._seen = len(lines)
                return [line for line in fresh if not line.uri.startswith(_MARKER)]
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx's access log did not show {marker} and {until}: {fresh}")
            time.sleep(0.02)

    def _lines(self) -> list[Logged]:
        path = self.work / "access.log"
        if not path.exists():
            return []
        found = []
        # Only whole lines: nginx may be writing the last one while it is read.
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n")[:-1]:
            method, uri, status, asked, sent, if_range = line.split("\t")
            found.append(
                Logged(
                    method,
                    uri,
                    int(status),
                    "" if asked == "-" else asked,
                    int(sent),
                    "" if if_range == "-" else if_range,
                )
            )
        return found


# --- A server that misbehaves on purpose ----------------------------------------------------------

#: How :class:`HostileServer` may misbehave, each the answer to every request after the first
#: (the first, for the 8-byte prefix, is answered correctly) unless said otherwise.
BEHAVIOURS = (
    "honest",  # answers every range correctly (the control)
    "size-changes",  # gives a different file size in Content-Range
    "short-body",  # sends half of the range it announces, then closes the connection
    "wrong-range",  # serves the range one byte later than asked
    "unknown-size",  # the first answer's Content-Range has no complete length (bytes 0-7/*)
    "no-content-range",  # the first answer is a 206 without Content-Range
    "changed",  # answers If-Range with the whole file (200): the file changed
    "silent",  # the first request is never answered
    "dribble",  # the first answer comes a byte at a time, slower than any deadline
    "encoded",  # the first answer carries Content-Encoding: gzip
    "multipart",  # the first answer is multipart/byteranges
    "too-long",  # the second answer has no Content-Length and sends more than the range
    "length-disagrees",  # the second answer's Content-Length is not the length of its range
    "no-location",  # the first answer is a 302 without Location
    "to-ftp",  # the first answer redirects to an ftp:// URL
    "shrunk",  # refuses the second range (416), as if the file were only 8 bytes long
    "close-idle",  # closes each connection after answering, without saying so (keep-alive lost)
)


class HostileServer:
    """A threaded server on a free loopback port that serves ``data`` at every path, misbehaving as
    ``behaviour`` (one of :data:`BEHAVIOURS`) says; ``requests`` lists the Range of each request."""

    def __init__(self, data: bytes, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.data = data
        self.behaviour = behaviour
        self.requests: list[str] = []
        self.stop = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "file.safetensors") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def _handler(server: HostileServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``requests`` instead."""

        def do_GET(self) -> None:
            asked = self.headers.get("Range", "")
            server.requests.append(asked)
            first = len(server.requests) == 1
            behaviour = server.behaviour
            data = server.data
            if first and behaviour == "silent":
                server.stop.wait(30)
                self.close_connection = True
                return
            if first and behaviour == "no-location":
                self._answer(302, b"", {})
                return
            if first and behaviour == "to-ftp":
                self._answer(302, b"", {"Location": "ftp://127.0.0.1/file.safetensors"})
                return
            if not first and behaviour == "changed" and self.headers.get("If-Range"):
                self._answer(200, data, {"ETag": '"second"'})
                return
            if not first and behaviour == "shrunk":
                self._answer(416, b"", {"Content-Range": "bytes */8"})
                return
            match = _RANGE.fullmatch(asked)
            if match is None:
                self._answer(200, data, {})
                return
            start, end = int(match[1]), min(int(match[2]), len(data) - 1)
            if not first and behaviour == "wrong-range":
                start, end = start + 1, end + 1
            body = data[start : end + 1]
            total = str(len(data))
            if behaviour == "size-changes" and not first:
                total = str(len(data) + 1000)
            if behaviour == "unknown-size" and first:
                total = "*"
            headers = {"Content-Range": f"bytes {start}-{end}/{total}", "ETag": '"first"'}
            if behaviour == "no-content-range" and first:
                del headers["Content-Range"]
            if behaviour == "encoded" and first:
                headers["Content-Encoding"] = "gzip"
            if behaviour == "multipart" and first:
                headers["Content-Type"] = "multipart/byteranges; boundary=x"
            if behaviour == "dribble" and first:
                self._dribble(body, headers)
                return
            if behaviour == "short-body" and not first:
                self._answer(206, body, headers, send=len(body) // 2)
                return
            if behaviour == "too-long" and not first:
                self._answer(206, body + b"extra bytes", headers, length=None)
                return
            if behaviour == "length-disagrees" and not first:
                self._answer(206, body, headers, length=len(body) + 1, send=0)
                return
            self._answer(206, body, headers)
            if behaviour == "close-idle":
                self.close_connection = True

        def _answer(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str],
            *,
            length: int | None = -1,
            send: int | None = None,
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if length is not None:
                self.send_header("Content-Length", str(len(body) if length == -1 else length))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body if send is None else body[:send])
            self.wfile.flush()
            if length is None or send is not None:
                self.close_connection = True

        def _dribble(self, body: bytes, headers: dict[str, str]) -> None:
            head = [f"HTTP/1.1 206 Partial Content\r\nContent-Length: {len(body)}\r\n"]
            head += [f"{name}: {value}\r\n" for name, value in headers.items()]
            for byte in ("".join(head) + "\r\n").encode("latin-1") + body:
                if server.stop.wait(0.2):
                    break
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    break
            self.close_connection = True

    return Handler
