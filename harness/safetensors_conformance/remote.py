"""Files and sharded checkpoints behind ``http://`` and ``https://`` URLs, checked by reading only
their headers with HTTP range requests.

A file is checked by the reference reader (:func:`.format.reader.check`) through
:class:`RemoteFile`, a seekable binary file whose reads are range requests. Opening it asks for
``bytes=0-7``: the answer holds the header length, and its ``Content-Range`` gives the file's size.
The reader then asks for the header (one more request) and for nothing else, so a 100 GB shard
costs two small requests, and the findings are exactly those of the same bytes checked locally
(the reader refuses a header length above the format's limit, or past the end of the file, before
asking for it).

What the server does wrong is a :class:`RemoteError` (an ``OSError``, like a file that cannot be
read), never a finding: an error status, a server that ignores ``Range`` (its 200 answer's body
is not read, however big), a range other than the one asked for, a size that changes between
answers, a body shorter than its range, a file that changes between requests (``If-Range``), too
many redirects or a redirect from ``https`` to ``http``, a timeout, a refused connection.

A checkpoint's shard references are resolved as plain names next to the index
(:func:`check_checkpoint_url`); a reference that is not a plain file name (spec
``CKPT-SHARD-NAME``) is reported by the checkpoint validator and never requested.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, Final, NamedTuple, TypeVar, cast
from urllib.parse import quote, unquote, urljoin, urlsplit

from . import __version__
from .format.limits import LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH
from .format.reader import Report, check

if TYPE_CHECKING:
    from .checkpoint.fs import EntryProblem
    from .checkpoint.validate import CheckpointReport

#: Seconds one request may take in all (connecting, redirects, reading the answer): a slow server
#: is an error, not a hang.
DEFAULT_TIMEOUT: Final = 30.0

#: Redirects followed per request, as many as common HTTP clients follow by default.
MAX_REDIRECTS: Final = 10

#: The largest single read of a remote file: the length prefix and the largest header the format
#: allows. The reader never asks for more; a larger read would be tensor data, which validation
#: never downloads.
MAX_READ: Final = LENGTH_PREFIX_SIZE + MAX_HEADER_LENGTH

#: Bodies are read in pieces of this size, so that a server that stops sending is seen early and a
#: lying one does not make the client allocate what it has not sent.
_CHUNK: Final = 1 << 20

_SCHEMES: Final = ("http", "https")
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
#: Statuses by which a server says a file is not there (a missing shard, not an I/O failure).
NOT_FOUND: Final = frozenset({404, 410})
_CONTENT_RANGE: Final = re.compile(r"bytes[ \t]+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE: Final = re.compile(r"bytes[ \t]+\*/(\d+)", re.IGNORECASE)
_HEADERS: Final = {"User-Agent": f"safetensors-conformance/{__version__}", "Accept-Encoding": "identity"}

_T = TypeVar("_T")


class Failure(StrEnum):
    """Why a URL could not be read as a file (:attr:`RemoteError.kind`)."""

    URL = "url"  # not an http(s) URL with a host and a valid port
    NETWORK = "network"  # no connection (refused, unresolved, TLS), or an answer that is not HTTP
    TIMEOUT = "timeout"  # no complete answer within the timeout
    STATUS = "status"  # an error status (or a status that is not an answer to a range request)
    REDIRECT = "redirect"  # too many redirects, one without Location, to a non-http(s) URL or down to http
    NO_RANGES = "no-ranges"  # the server ignores Range: it answered 200 with the whole file
    BAD_RANGE = "bad-range"  # a 206 that is not the one range asked for (Content-Range, length, parts)
    NO_SIZE = "no-size"  # the server does not give the file's complete length
    SIZE_CHANGED = "size-changed"  # the size the server gives changes, or it refuses a range inside it
    SHORT_BODY = "short-body"  # the server sent less than the range it announced
    CHANGED = "changed"  # the file changed between two requests (If-Range failed)
    ENCODED = "encoded"  # the answer is content-encoded (compressed), not the file's bytes
    TOO_LARGE = "too-large"  # a file read whole (an index) is larger than its limit


class RemoteError(OSError):
    """A URL that could not be read as a file: what went wrong, and where.

    ``kind`` says what went wrong, ``problem`` says it in words; ``url`` is where the problem was
    seen (after any redirects), ``requested`` the URL asked for, ``status`` the HTTP status of the
    answer that is to blame, when there is one.
    """

    def __init__(
        self, kind: Failure, problem: str, url: str, *, requested: str | None = None, status: int | None = None
    ) -> None:
        where = url if requested in (None, url) else f"{url}, redirected from {requested}"
        super().__init__(f"{problem} ({where})")
        self.kind = kind
        self.problem = problem
        self.url = url
        self.requested = url if requested is None else requested
        self.status = status


def is_url(text: str) -> bool:
    """True for an ``http://`` or ``https://`` URL, which ``validate`` reads by range requests."""
    return urlsplit(text).scheme.lower() in _SCHEMES and "://" in text


def url_name(url: str) -> str:
    """The file name a URL ends with (its last path segment, percent-decoded)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def check_url(url: str, *, timeout: float = DEFAULT_TIMEOUT, keep_tensors: bool = True) -> Report:
    """Check the file at ``url`` as :func:`.format.reader.check` checks a local one, reading only
    its header: two range requests for any file (one when the length prefix already decides).

    Raises :class:`RemoteError` when the URL cannot be read as a file; never raises on bad content.
    """
    with open_url(url, timeout=timeout) as remote:
        return check(cast(BinaryIO, remote), keep_tensors=keep_tensors)


def open_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> RemoteFile:
    """Open the file at ``url`` for reading by range requests; asks for its first 8 bytes and its
    size (one request, plus any redirects)."""
    client = _Client(timeout)
    try:
        return RemoteFile(client.probe(url), client, owns_client=True)
    except BaseException:
        client.close()
        raise


# --- A file read by range requests ----------------------------------------------------------------


class _Probe(NamedTuple):
    """The answer to the first range request: where the file is, its size and first bytes, and the
    validator (ETag or Last-Modified) that later requests send in ``If-Range``."""

    requested: str
    url: str
    size: int
    prefix: bytes
    validator: str | None


class RemoteFile(io.RawIOBase):
    """A file behind a URL, read by range requests; seekable, read-only, of a known size.

    ``url`` is where the file was found (after redirects), ``requested`` the URL it was opened
    with, ``size`` its size as the server gives it, ``requests`` how many requests its client has
    sent. Reads inside the first 8 bytes are answered from the opening request.
    """

    def __init__(self, probe: _Probe, client: _Client, *, owns_client: bool = False) -> None:
        super().__init__()
        self._probe = probe
        self._client = client
        self._owns_client = owns_client
        self._position = 0

    @property
    def url(self) -> str:
        return self._probe.url

    @property
    def requested(self) -> str:
        return self._probe.requested

    @property
    def size(self) -> int:
        return self._probe.size

    @property
    def requests(self) -> int:
        return self._client.requests

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._position = base + offset
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        """At most ``size`` bytes from the current position (to the end of the file for -1), by one
        range request; a read of more than :data:`MAX_READ` bytes is refused with ``ValueError``."""
        if self.closed:
            raise ValueError("read of a closed file")
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        count = max(end - self._position, 0)
        if count > MAX_READ:
            raise ValueError(f"a read of {count:,} bytes from a URL; at most {MAX_READ:,} are read at once")
        data = self._read_at(self._position, count)
        self._position += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and self._owns_client:
            self._client.close()
        super().close()

    def _read_at(self, offset: int, count: int) -> bytes:
        prefix = self._probe.prefix
        if count == 0 or offset + count <= len(prefix):
            return prefix[offset : offset + count]
        return self._client.read_range(self._probe, offset, count)


# --- HTTP -----------------------------------------------------------------------------------------


class _Client:
    """Requests to one or more servers, one kept-alive connection per server, each request under a
    deadline of ``timeout`` seconds; counts the requests it sends."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.requests = 0
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self._tls: ssl.SSLContext | None = None

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def probe(self, url: str) -> _Probe:
        """Ask for bytes 0-7: the length prefix (or the whole of a shorter file) and the size."""

        def answer(final: str, response: http.client.HTTPResponse) -> _Probe:
            if response.status == 416:
                # Nothing at all in the range: only an empty file may answer so, and it says so.
                total = _unsatisfied_size(response)
                if total != 0:
                    size = "no size" if total is None else f"a size of {total:,} bytes"
                    raise _Refusal(
                        Failure.SIZE_CHANGED, f"the server refused bytes 0-7 and gave {size}", response.status
                    )
                return _Probe(url, final, 0, b"", _validator(response))
            whole = _small_whole_file(response)
            if whole is not None:
                # A file no longer than the range asked for, sent whole (nginx answers so for an
                # empty file): the same bytes a range answer would have had.
                _check_encoding(response)
                return _Probe(url, final, whole, _read_body(response, whole), _validator(response))
            self._expect_range(response, final)
            total = _check_range(response, 0, LENGTH_PREFIX_SIZE - 1, None)
            prefix = _read_body(response, min(LENGTH_PREFIX_SIZE, total))
            return _Probe(url, final, total, prefix, _validator(response))

        return self._request(url, {"Range": f"bytes=0-{LENGTH_PREFIX_SIZE - 1}"}, answer)

    def read_range(self, probe: _Probe, offset: int, count: int) -> bytes:
        """Bytes ``offset`` to ``offset + count - 1`` of a probed file, checked against the probe."""
        last = offset + count - 1
        headers = {"Range": f"bytes={offset}-{last}"}
        if probe.validator is not None:
            headers["If-Range"] = probe.validator

        def answer(final: str, response: http.client.HTTPResponse) -> bytes:
            if response.status == 200 and probe.validator is not None:
                raise _Refusal(
                    Failure.CHANGED, "the file changed between two requests (the server sent all of it)", 200
                )
            if response.status == 416:
                raise _Refusal(
                    Failure.SIZE_CHANGED,
                    f"the server refused bytes {offset}-{last} of a file it said has {probe.size:,} bytes",
                    response.status,
                )
            self._expect_range(response, final)
            _check_range(response, offset, last, probe.size)
            return _read_body(response, count)

        return self._request(probe.url, headers, answer)

    def fetch(self, url: str, limit: int) -> tuple[str, bytes]:
        """The whole content of a small file (an index): where it was found, and its bytes; more than
        ``limit`` bytes is an error, seen from Content-Length before anything is read when it is given."""

        def answer(final: str, response: http.client.HTTPResponse) -> tuple[str, bytes]:
            if response.status != 200:
                raise _Refusal(Failure.STATUS, _status_problem(response), response.status)
            _check_encoding(response)
            length = response.getheader("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > limit:
                raise _Refusal(
                    Failure.TOO_LARGE, f"the file has {int(length):,} bytes, more than the {limit:,} read of it"
                )
            data = _read_up_to(response, limit + 1)
            if len(data) > limit:
                raise _Refusal(Failure.TOO_LARGE, f"the file has more than {limit:,} bytes, the most read of it")
            return final, data

        return self._request(url, {}, answer)

    def _expect_range(self, response: http.client.HTTPResponse, url: str) -> None:
        """A 206 answer with one range of the file's own bytes; anything else is an error."""
        if response.status == 200:
            length = response.getheader("Content-Length")
            size = f" of {int(length):,} bytes" if length is not None and length.strip().isdigit() else ""
            raise _Refusal(
                Failure.NO_RANGES,
                f"the server does not support range requests: it answered 200 with the whole file{size} "
                "(not downloaded)",
                200,
            )
        if response.status != 206:
            raise _Refusal(Failure.STATUS, _status_problem(response), response.status)
        if (response.getheader("Content-Type") or "").lower().startswith("multipart/"):
            raise _Refusal(Failure.BAD_RANGE, "the server answered one range with several (multipart/byteranges)", 206)
        _check_encoding(response)

    def _request(
        self, url: str, headers: Mapping[str, str], answer: Callable[[str, http.client.HTTPResponse], _T]
    ) -> _T:
        """GET ``url`` with ``headers``, following redirects, and give the final answer (and where it
        came from) to ``answer``, all within one deadline."""
        current = url
        deadline = _Deadline(self.timeout)
        try:
            with deadline:
                for _ in range(MAX_REDIRECTS + 1):
                    connection, response = self._send(current, headers, deadline)
                    if response.status in _REDIRECTS:
                        location = response.getheader("Location")
                        self._release(current, connection, response)
                        if location is None:
                            raise _Refusal(
                                Failure.REDIRECT,
                                f"the server answered {response.status} without a Location",
                                response.status,
                            )
                        current = _redirect(current, location)
                        continue
                    try:
                        result = answer(current, response)
                    finally:
                        if response.will_close or not response.isclosed():
                            self._release(current, connection, response)
                    return result
                raise _Refusal(Failure.REDIRECT, f"more than {MAX_REDIRECTS} redirects")
        except _Refusal as refusal:
            raise RemoteError(refusal.kind, refusal.problem, current, requested=url, status=refusal.status) from None
        except http.client.InvalidURL as error:
            raise RemoteError(Failure.URL, f"the URL cannot be requested ({error})", current, requested=url) from None
        except (OSError, http.client.HTTPException) as error:
            self._drop_all_to(current)
            if deadline.expired or isinstance(error, TimeoutError):
                problem = f"no complete answer within {self.timeout:g} s"
                raise RemoteError(Failure.TIMEOUT, problem, current, requested=url) from error
            raise RemoteError(Failure.NETWORK, _network_problem(error), current, requested=url) from error

    def _send(
        self, url: str, headers: Mapping[str, str], deadline: _Deadline
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme.lower(), parts.netloc)
        # A kept-alive connection the server has since closed fails before any answer: one retry on
        # a new connection (a GET may be repeated).
        for attempt in (0, 1):
            reused = key in self._connections
            connection = self._connections.get(key) or self._connect(url)
            self._connections[key] = connection
            deadline.watch(connection)
            try:
                self.requests += 1
                connection.request("GET", target, headers={**_HEADERS, **headers})
                return connection, connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop(url, connection)
                if not reused or attempt or deadline.expired:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self, url: str) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme.lower() not in _SCHEMES or not host:
            raise _Refusal(Failure.URL, "not an http:// or https:// URL with a host")
        try:
            port = parts.port
        except ValueError:
            raise _Refusal(Failure.URL, "the URL's port is not a number from 0 to 65535") from None
        if parts.scheme.lower() == "http":
            return http.client.HTTPConnection(host, port, timeout=self.timeout)
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._tls)

    def _release(self, url: str, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        """Close an answer not read to its end, and its connection: a connection that says it will
        close hands its socket to the answer, so both are closed."""
        response.close()
        self._drop(url, connection)

    def _drop(self, url: str, connection: http.client.HTTPConnection) -> None:
        parts = urlsplit(url)
        key = (parts.scheme.lower(), parts.netloc)
        if self._connections.get(key) is connection:
            del self._connections[key]
        connection.close()

    def _drop_all_to(self, url: str) -> None:
        parts = urlsplit(url)
        connection = self._connections.pop((parts.scheme.lower(), parts.netloc), None)
        if connection is not None:
            connection.close()


class _Refusal(Exception):
    """Inside :class:`_Client`: the answer is not usable; becomes a :class:`RemoteError` with the URL."""

    def __init__(self, kind: Failure, problem: str, status: int | None = None) -> None:
        super().__init__(problem)
        self.kind = kind
        self.problem = problem
        self.status = status


class _Deadline:
    """A request's time limit: when it passes, the connection in use is shut down, so that a server
    that answers a byte at a time cannot hold the request (each socket operation also has the
    timeout, which catches a server that says nothing)."""

    def __init__(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self.expired = False

    def watch(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            if self.expired:
                self._shut()

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        sock = None if self._connection is None else self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to stop
                sock.shutdown(socket.SHUT_RDWR)


def _redirect(current: str, location: str) -> str:
    """Where a redirect leads: http(s) only, and never from https down to http."""
    target = urljoin(current, location.strip())
    scheme = urlsplit(target).scheme.lower()
    if scheme not in _SCHEMES:
        raise _Refusal(Failure.REDIRECT, f"the server redirected to {target!r}, which is not an http(s) URL")
    if urlsplit(current).scheme.lower() == "https" and scheme == "http":
        raise _Refusal(Failure.REDIRECT, f"refused a redirect from https down to http ({target})")
    return target


def _check_range(response: http.client.HTTPResponse, first: int, last: int, size: int | None) -> int:
    """The file size a 206 answer gives, after checking that it serves bytes ``first`` to ``last``
    (or to the end of a shorter file), and the size known before (``size``) when there is one."""
    header = response.getheader("Content-Range")
    if header is None:
        raise _Refusal(Failure.BAD_RANGE, "the server answered 206 without a Content-Range", 206)
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise _Refusal(
            Failure.BAD_RANGE, f"the server's Content-Range {header!r} is not one range of a file of known size", 206
        )
    start, end, total = int(match[1]), int(match[2]), match[3]
    if total == "*":
        raise _Refusal(Failure.NO_SIZE, f"the server does not give the file's size (Content-Range {header!r})", 206)
    complete = int(total)
    if size is not None and complete != size:
        raise _Refusal(
            Failure.SIZE_CHANGED, f"the server gave the file's size as {size:,} bytes, then as {complete:,}", 206
        )
    if (start, end) != (first, min(last, complete - 1)) or start > end:
        raise _Refusal(
            Failure.BAD_RANGE,
            f"the server sent bytes {start}-{end} of {complete:,} when asked for bytes {first}-{last}",
            206,
        )
    length = response.getheader("Content-Length")
    if length is not None and length.strip() != str(end - start + 1):
        raise _Refusal(
            Failure.BAD_RANGE,
            f"the server's Content-Length {length.strip()} disagrees with its range {start}-{end}",
            206,
        )
    return complete


def _read_body(response: http.client.HTTPResponse, count: int) -> bytes:
    """Exactly ``count`` bytes of an answer's body, and nothing after them."""
    data = _read_up_to(response, count)
    if len(data) < count:
        raise _Refusal(
            Failure.SHORT_BODY, f"the server sent {len(data):,} of the {count:,} bytes of the range and stopped", 206
        )
    if response.length is None and response.read(1):  # no Content-Length: the end must come now
        raise _Refusal(Failure.BAD_RANGE, f"the server sent more than the {count:,} bytes of the range", 206)
    return data


def _read_up_to(response: http.client.HTTPResponse, count: int) -> bytes:
    parts: list[bytes] = []
    remaining = count
    while remaining > 0:
        try:
            part = response.read(min(remaining, _CHUNK))
        except http.client.IncompleteRead as error:
            part = error.partial
            parts.append(part)
            break
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _check_encoding(response: http.client.HTTPResponse) -> None:
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise _Refusal(
            Failure.ENCODED, f"the server sent the file encoded ({encoding}), not its own bytes", response.status
        )


def _small_whole_file(response: http.client.HTTPResponse) -> int | None:
    """The size of a file sent whole (200) that is no longer than a length prefix, else ``None``."""
    length = response.getheader("Content-Length")
    if response.status != 200 or length is None or not length.strip().isdigit():
        return None
    size = int(length)
    return size if size <= LENGTH_PREFIX_SIZE else None


def _unsatisfied_size(response: http.client.HTTPResponse) -> int | None:
    match = _UNSATISFIED_RANGE.fullmatch((response.getheader("Content-Range") or "").strip())
    return None if match is None else int(match[1])


def _validator(response: http.client.HTTPResponse) -> str | None:
    """What ``If-Range`` may carry: a strong ETag, else Last-Modified (a weak ETag may not be used)."""
    etag = response.getheader("ETag")
    if etag is not None and not etag.strip().startswith("W/"):
        return etag.strip()
    return response.getheader("Last-Modified")


def _status_problem(response: http.client.HTTPResponse) -> str:
    reason = f" {response.reason}" if response.reason else ""
    return f"the server answered {response.status}{reason}"


def _network_problem(error: BaseException) -> str:
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host name ({error.strerror})"
    if isinstance(error, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({error.verify_message})"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed ({error.reason or error})"
    if isinstance(error, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(error, http.client.HTTPException):
        return f"the server's answer is not valid HTTP ({type(error).__name__}: {error})"
    if isinstance(error, OSError):
        return f"the connection failed ({error.strerror or error})"
    return str(error)  # pragma: no cover


# --- A sharded checkpoint behind a URL ------------------------------------------------------------


def check_checkpoint_url(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> CheckpointReport:
    """Check the sharded checkpoint whose index file is at ``url`` (``*.safetensors.index.json``).

    The index is fetched (at most the validator's limit for it) and checked as the local checkpoint
    validator checks it. Each shard reference that is a plain file name is requested next to the
    index (the URL with its last segment replaced, query dropped), headers only; a server's 404 or 410
    for one is a missing shard (CKPT-SHARD-EXISTS). A reference that is not a plain name is reported
    (CKPT-SHARD-NAME) and never requested. What a URL cannot show is not checked: entries no index
    names (stray files, case-only near names) and links. Raises :class:`RemoteError` when the index
    or a shard cannot be read, ``ValueError`` for a URL that does not name an index file.
    """
    from .checkpoint.index import MAX_INDEX_BYTES, check_index  # noqa: PLC0415 - only checkpoints need them
    from .checkpoint.names import is_index_name, name_problem  # noqa: PLC0415
    from .checkpoint.validate import check_index_file  # noqa: PLC0415

    index = url_name(url)
    if not is_url(url) or not is_index_name(index):
        raise ValueError(f"{url} is not the URL of an index file (*.safetensors.index.json)")
    client = _Client(timeout)
    try:
        _, data = client.fetch(url, MAX_INDEX_BYTES)
        entries = check_index(data, index).entries or ()
        references = dict.fromkeys(entry.reference for entry in entries if name_problem(entry.reference) is None)
        shards: dict[str, _Probe] = {}
        for reference in references:
            try:
                shards[reference] = client.probe(shard_url(url, reference))
            except RemoteError as error:
                if error.status not in NOT_FOUND:
                    raise
        return check_index_file(_RemoteFiles(url, index, data, shards, client), index)
    finally:
        client.close()


def shard_url(index_url: str, name: str) -> str:
    """The URL of the file ``name`` next to the index at ``index_url``: the name is one path
    segment, every reserved character percent-encoded."""
    parts = urlsplit(index_url)
    return urljoin(parts._replace(query="", fragment="").geturl(), quote(name, safe=""))


class _RemoteFiles:
    """A checkpoint's files behind URLs, as the checkpoint validator reads them: the index and the
    shards that were found, by name (a URL cannot be listed, so nothing else is an entry)."""

    def __init__(self, url: str, index: str, data: bytes, shards: Mapping[str, _Probe], client: _Client) -> None:
        self.path = urljoin(shard_url(url, index), ".")
        self._url = url
        self._index = index
        self._data = data
        self._shards = shards
        self._client = client
        self.entries: dict[str, object] = dict.fromkeys(sorted({index, *shards}))

    def problem(self, name: str) -> EntryProblem | None:
        return None  # links and file kinds are the server's own business

    def open(self, name: str) -> BinaryIO:
        return cast(BinaryIO, RemoteFile(self._shards[name], self._client))

    def read(self, name: str, limit: int) -> bytes:
        if name == self._index and len(self._data) <= limit:
            return self._data
        return self._client.fetch(shard_url(self._url, name), limit)[1]
