"""Remote validation (:mod:`safetensors_conformance.remote`) against real HTTP servers on loopback.

nginx (a real server that honours ``Range``) serves the corpus, a 10 GiB sparse file and example
checkpoints; its access log says which requests reached it. A small hostile server
(``tests/range_servers.py``) answers wrongly in the ways nginx never does. Findings are compared
with the local reader's and validator's on the same bytes, field by field.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import unquote

import pytest

from safetensors_conformance import Report, Req, Tensor, check, serialize
from safetensors_conformance._resources import data_path
from safetensors_conformance.checkpoint import CheckpointReport, CkptReq, check_directory
from safetensors_conformance.checkpoint.fixtures import CASES, INDEX, Case
from safetensors_conformance.checkpoint.index import MAX_INDEX_BYTES
from safetensors_conformance.cli import main
from safetensors_conformance.format.limits import LENGTH_PREFIX_SIZE, MAX_HEADER_LENGTH
from safetensors_conformance.remote import (
    MAX_READ,
    MAX_REDIRECTS,
    Failure,
    RemoteError,
    check_checkpoint_url,
    check_url,
    open_url,
    shard_url,
)

from .conftest import entry, make_file
from .range_servers import MISSING_NGINX, HostileServer, Nginx, find_nginx, free_port, make_certificate

GIB = 1 << 30
GOOD = serialize({"a": Tensor("U8", (4,), b"\x01\x02\x03\x04"), "b": Tensor("F32", (1,), b"\x00\x00\x80\x3f")})
VECTORS = data_path("vectors", "files")
VECTOR_FILES = sorted(path.relative_to(VECTORS).as_posix() for path in VECTORS.rglob("*.safetensors"))

#: Locations of the test server: ranges switched off, redirects, statuses nginx gives on request.
LOCATIONS = f"""
        location /vectors/ {{ alias {VECTORS}/; }}
        location /noranges/ {{ alias @ROOT@/; max_ranges 0; }}
        location = /moved.safetensors {{ return 301 /good.safetensors; }}
        location = /relative.safetensors {{ absolute_redirect off; return 302 /good.safetensors; }}
        location = /twice.safetensors {{ return 307 /moved.safetensors; }}
        location = /loop.safetensors {{ return 302 /loop.safetensors; }}
        location = /to-ftp.safetensors {{ return 302 ftp://127.0.0.1/good.safetensors; }}
        location = /to-https.safetensors {{ return 302 https://127.0.0.1:@TLS_PORT@/good.safetensors; }}
        location = /to-http.safetensors {{ return 302 http://127.0.0.1:@PORT@/good.safetensors; }}
        location = /forbidden.safetensors {{ return 403; }}
        location = /unavailable.safetensors {{ return 503; }}
        location /forbidden-shards/ {{ location ~ \\.safetensors$ {{ return 403; }} }}
"""


def sparse_file(path: Path, size: int) -> int:
    """A conforming file of ``size`` bytes in all: one U8 tensor over a buffer that is a hole.
    Returns the header length."""
    length = 128
    text = json.dumps({"big": {"dtype": "U8", "shape": [size - 8 - length], "data_offsets": [0, size - 8 - length]}})
    header = text.encode().ljust(length)
    with path.open("wb") as out:
        out.write(length.to_bytes(8, "little") + header)
        out.truncate(size)
    return length


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("served")
    (folder / "good.safetensors").write_bytes(GOOD)
    sparse_file(folder / "big.safetensors", 10 * GIB)
    return folder


@pytest.fixture(scope="module")
def nginx(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    if find_nginx() is None:
        pytest.fail(MISSING_NGINX)
    work = tmp_path_factory.mktemp("nginx")
    certificate = make_certificate(work)
    with Nginx(root, work / "server", LOCATIONS.replace("@ROOT@", str(root)), tls=certificate) as server:
        yield server


@pytest.fixture
def served(nginx: Nginx) -> Nginx:
    """The module's nginx, its log read up to now: ``take()`` gives this test's requests."""
    nginx.take()
    return nginx


@pytest.fixture
def trust(nginx: Nginx, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust the test server's self-signed certificate (OpenSSL reads SSL_CERT_FILE)."""
    assert nginx.tls is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(nginx.tls[0]))


def same_findings(remote: Report, local: Report) -> None:
    assert [v.to_json() for v in remote.violations] == [v.to_json() for v in local.violations]
    assert [w.to_json() for w in remote.warnings] == [w.to_json() for w in local.warnings]
    assert (remote.unreported_violations, remote.unreported_warnings) == (
        local.unreported_violations,
        local.unreported_warnings,
    )
    assert remote.file_size == local.file_size
    assert (remote.header is None) is (local.header is None)
    if remote.header is not None and local.header is not None:
        assert (remote.header.length, remote.header.buffer_length, remote.header.metadata) == (
            local.header.length,
            local.header.buffer_length,
            local.header.metadata,
        )
        assert remote.header.tensors == local.header.tensors


def expected_requests(data: bytes) -> int:
    """Requests the reader needs: the prefix, then the header unless the prefix decides."""
    if len(data) < LENGTH_PREFIX_SIZE:
        return 1
    length = int.from_bytes(data[:8], "little")
    return 2 if 0 < length <= MAX_HEADER_LENGTH and LENGTH_PREFIX_SIZE + length <= len(data) else 1


# --- Files ----------------------------------------------------------------------------------------


def test_a_conforming_file_takes_two_range_requests(served: Nginx) -> None:
    report = check_url(served.url("good.safetensors"))
    assert report.conforms
    same_findings(report, check(GOOD))
    length = int.from_bytes(GOOD[:8], "little")
    log = served.take()
    assert [(r.uri, r.status, r.range, r.sent) for r in log] == [
        ("/good.safetensors", 206, "bytes=0-7", 8),
        ("/good.safetensors", 206, f"bytes=8-{7 + length}", length),
    ]
    assert log[1].if_range  # the header is asked for only from the same file version


@pytest.mark.parametrize("name", VECTOR_FILES)
def test_every_vector_gives_the_local_findings(served: Nginx, name: str) -> None:
    data = (VECTORS / name).read_bytes()
    report = check_url(served.url(f"vectors/{name}"))
    same_findings(report, check(data))
    log = served.take()
    assert len(log) == expected_requests(data)
    assert {r.status for r in log} == ({206} if data else {200})  # nginx sends an empty file whole


@pytest.mark.parametrize(
    ("data", "requirement"),
    [
        pytest.param(b"", Req.LAYOUT_LENGTH_PREFIX, id="empty"),
        pytest.param(b"\x10\x00\x00", Req.LAYOUT_LENGTH_PREFIX, id="three-bytes"),
        pytest.param((MAX_HEADER_LENGTH + 8).to_bytes(8, "little") + b"{}", Req.LAYOUT_HEADER_LIMIT, id="over-limit"),
        pytest.param((1 << 63).to_bytes(8, "little"), Req.LAYOUT_HEADER_LIMIT, id="huge-length"),
        pytest.param((4096).to_bytes(8, "little") + b"{}      ", Req.LAYOUT_HEADER_BOUNDS, id="past-the-end"),
    ],
)
def test_a_length_prefix_that_decides_takes_one_request(
    served: Nginx, root: Path, data: bytes, requirement: Req
) -> None:
    (root / "prefix.safetensors").write_bytes(data)
    report = check_url(served.url("prefix.safetensors"))
    assert report.primary is requirement
    same_findings(report, check(data))
    assert len(served.take()) == 1


def test_a_non_conforming_file_gives_the_local_violations(served: Nginx, root: Path) -> None:
    data = make_file('{"a":' + entry(offsets="[0,3]") + ',"a":' + entry() + "}", b"\x00\x01", padding=3)
    (root / "bad.safetensors").write_bytes(data)
    report = check_url(served.url("bad.safetensors"))
    local = check(data)
    assert not report.conforms
    assert report.violations  # the comparison below is of real findings
    same_findings(report, local)
    assert len(served.take()) == 2


def test_ten_gib_sparse_file_in_two_requests(served: Nginx) -> None:
    report = check_url(served.url("big.safetensors"), keep_tensors=False)
    assert report.conforms
    assert report.file_size == 10 * GIB
    log = served.take()
    assert [r.range for r in log] == ["bytes=0-7", "bytes=8-135"]
    assert sum(r.sent for r in log) == 136


def test_a_read_of_tensor_data_is_refused_without_a_request(served: Nginx) -> None:
    with open_url(served.url("big.safetensors")) as remote:
        assert remote.size == 10 * GIB
        with pytest.raises(ValueError, match=f"at most {MAX_READ:,}"):
            remote.read()
        remote.seek(8)
        assert len(remote.read(128)) == 128
    assert [r.range for r in served.take()] == ["bytes=0-7", "bytes=8-135"]


def test_a_server_without_ranges_is_an_error_and_its_body_is_not_read(served: Nginx) -> None:
    url = served.url("noranges/big.safetensors")
    with pytest.raises(RemoteError) as raised:
        check_url(url)
    assert (raised.value.kind, raised.value.status, raised.value.url) == (Failure.NO_RANGES, 200, url)
    log = served.take(until="/noranges/big.safetensors")
    assert [(r.uri, r.status) for r in log] == [("/noranges/big.safetensors", 200)]
    assert log[0].sent < GIB  # nginx was cut off long before the end of the 10 GiB


@pytest.mark.parametrize(
    ("path", "hops"),
    [("moved.safetensors", 1), ("relative.safetensors", 1), ("twice.safetensors", 2)],
)
def test_redirects_are_followed_and_the_header_is_read_where_they_end(served: Nginx, path: str, hops: int) -> None:
    with open_url(served.url(path)) as remote:
        report = check(cast(BinaryIO, remote))
        assert (remote.requested, remote.url) == (served.url(path), served.url("good.safetensors"))
    assert report.conforms
    log = served.take()
    assert len(log) == hops + 2
    assert all(r.status in {301, 302, 307} for r in log[:hops])
    assert [(r.uri, r.status) for r in log[hops:]] == [("/good.safetensors", 206)] * 2


def test_a_redirect_loop_stops_after_the_limit(served: Nginx) -> None:
    with pytest.raises(RemoteError) as raised:
        check_url(served.url("loop.safetensors"))
    assert raised.value.kind is Failure.REDIRECT
    assert len(served.take()) == MAX_REDIRECTS + 1


def test_a_redirect_to_another_scheme_is_refused(served: Nginx) -> None:
    with pytest.raises(RemoteError) as raised:
        check_url(served.url("to-ftp.safetensors"))
    assert (raised.value.kind, raised.value.url) == (Failure.REDIRECT, served.url("to-ftp.safetensors"))
    assert len(served.take()) == 1


@pytest.mark.usefixtures("trust")
def test_https_is_read_and_a_redirect_up_to_it_is_followed(served: Nginx) -> None:
    assert check_url(served.tls_url("good.safetensors")).conforms
    assert len(served.take()) == 2
    with open_url(served.url("to-https.safetensors")) as remote:
        assert remote.url == served.tls_url("good.safetensors")
    assert [(r.uri, r.status) for r in served.take()] == [("/to-https.safetensors", 302), ("/good.safetensors", 206)]


@pytest.mark.usefixtures("trust")
def test_a_redirect_from_https_down_to_http_is_refused(served: Nginx) -> None:
    with pytest.raises(RemoteError) as raised:
        check_url(served.tls_url("to-http.safetensors"))
    assert (raised.value.kind, raised.value.url) == (Failure.REDIRECT, served.tls_url("to-http.safetensors"))
    assert [r.uri for r in served.take()] == ["/to-http.safetensors"]


def test_an_untrusted_certificate_is_an_error(served: Nginx) -> None:
    with pytest.raises(RemoteError) as raised:
        check_url(served.tls_url("good.safetensors"))
    assert raised.value.kind is Failure.NETWORK


@pytest.mark.parametrize(
    ("path", "status"),
    [("missing.safetensors", 404), ("forbidden.safetensors", 403), ("unavailable.safetensors", 503)],
)
def test_error_statuses(served: Nginx, path: str, status: int) -> None:
    with pytest.raises(RemoteError) as raised:
        check_url(served.url(path))
    assert (raised.value.kind, raised.value.status, raised.value.url) == (Failure.STATUS, status, served.url(path))
    assert isinstance(raised.value, OSError)


def test_a_refused_connection() -> None:
    url = f"http://127.0.0.1:{free_port()}/good.safetensors"
    with pytest.raises(RemoteError) as raised:
        check_url(url)
    assert (raised.value.kind, raised.value.status, raised.value.url) == (Failure.NETWORK, None, url)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x.safetensors", "http:///x.safetensors", "http://h:99999/x", "http://127.0.0.1/a b"]
)
def test_urls_that_cannot_be_requested(url: str) -> None:
    with pytest.raises(RemoteError) as raised:
        check_url(url)
    assert raised.value.kind is Failure.URL


# --- Servers that answer wrongly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        ("size-changes", Failure.SIZE_CHANGED),
        ("shrunk", Failure.SIZE_CHANGED),
        ("short-body", Failure.SHORT_BODY),
        ("wrong-range", Failure.BAD_RANGE),
        ("unknown-size", Failure.NO_SIZE),
        ("no-content-range", Failure.BAD_RANGE),
        ("changed", Failure.CHANGED),
        ("encoded", Failure.ENCODED),
        ("multipart", Failure.BAD_RANGE),
        ("too-long", Failure.BAD_RANGE),
        ("length-disagrees", Failure.BAD_RANGE),
        ("no-location", Failure.REDIRECT),
        ("to-ftp", Failure.REDIRECT),
    ],
)
def test_a_wrong_answer_is_an_error_not_a_verdict(behaviour: str, kind: Failure) -> None:
    with HostileServer(GOOD, behaviour) as server, pytest.raises(RemoteError) as raised:
        check_url(server.url(), timeout=10)
    assert raised.value.kind is kind
    assert raised.value.url == server.url()


@pytest.mark.parametrize(("behaviour", "sent"), [("honest", 2), ("close-idle", 3)])
def test_the_control_server_and_a_lost_keep_alive_connection(behaviour: str, sent: int) -> None:
    """A kept-alive connection the server closed without saying so is retried once, on a new one."""
    length = int.from_bytes(GOOD[:8], "little")
    with HostileServer(GOOD, behaviour) as server, open_url(server.url(), timeout=10) as remote:
        report = check(cast(BinaryIO, remote))
        assert server.requests == ["bytes=0-7", f"bytes=8-{7 + length}"]
        assert remote.requests == sent
    assert report.conforms
    same_findings(report, check(GOOD))


@pytest.mark.parametrize("behaviour", ["silent", "dribble"])
def test_a_slow_server_times_out(behaviour: str) -> None:
    with HostileServer(GOOD, behaviour) as server, pytest.raises(RemoteError) as raised:
        check_url(server.url(), timeout=1)
    assert raised.value.kind is Failure.TIMEOUT


# --- Checkpoints ----------------------------------------------------------------------------------

#: What a URL cannot show: links and kinds of file (the server's business), and entries that no
#: index names (a URL cannot be listed).
URL_BLIND = frozenset({CkptReq.FILE_LINK, CkptReq.FILE_REGULAR, CkptReq.NO_STRAY})
INDEXED = [c for c in CASES if not c.id.startswith("set/")]


def blind_to(report: CheckpointReport) -> set[str]:
    """The requirements of a local report that a URL cannot show. (The checkpoints whose entries
    differ only in case also hold a stray file: that entry is one no index names.)"""
    return {f.requirement.value for f in (*report.violations, *report.warnings) if f.requirement in URL_BLIND}


def findings(report: CheckpointReport) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    return [f.to_json() for f in report.violations], [f.to_json() for f in report.warnings]


@pytest.fixture(scope="module")
def checkpoints(root: Path) -> dict[str, Path]:
    """Every example checkpoint with an index, built under the served root (canary beside them)."""
    canary = root / "outside" / "canary.safetensors"
    canary.parent.mkdir()
    canary.write_bytes(serialize({"canary": Tensor("U8", (1,), b"\xcc")}))
    built = {}
    for number, case in enumerate(INDEXED):
        directory = root / "checkpoints" / f"case-{number}"
        directory.mkdir(parents=True)
        case.build(directory, canary)
        built[case.id] = directory
    return built


@pytest.mark.parametrize("case", INDEXED, ids=[c.id for c in INDEXED])
def test_every_example_checkpoint_gives_the_local_findings(
    served: Nginx, root: Path, checkpoints: dict[str, Path], case: Case
) -> None:
    directory = checkpoints[case.id]
    (local,) = check_directory(directory).checkpoints
    folder = directory.relative_to(root).as_posix()
    url = served.url(f"{folder}/{INDEX}")
    remote = None
    if case.id == "files/directory":
        # A shard that is a directory: nginx redirects to the directory and refuses to list it.
        with pytest.raises(RemoteError) as raised:
            check_checkpoint_url(url)
        assert (raised.value.kind, raised.value.status) == (Failure.STATUS, 403)
    else:
        remote = check_checkpoint_url(url)
    log = served.take()
    # Only the index and plain names next to it were asked for: never the canary, never a path.
    assert log[0].uri == f"/{folder}/{INDEX}"
    assert all(unquote(r.uri).startswith(f"/{folder}/") for r in log)
    assert all("/" not in unquote(r.uri)[len(folder) + 2 :].rstrip("/") for r in log)
    if remote is None:
        return
    seen = {f.requirement for f in (*remote.violations, *remote.warnings)}
    assert not seen & URL_BLIND
    if not blind_to(local):
        assert findings(remote) == findings(local)
        assert (remote.index_file, remote.shards, remote.conforms) == (local.index_file, local.shards, local.conforms)
        assert remote.tensors == local.tensors


def test_a_conforming_checkpoint_takes_the_index_and_two_requests_a_shard(
    served: Nginx, root: Path, checkpoints: dict[str, Path]
) -> None:
    folder = checkpoints["valid/two-shards"].relative_to(root).as_posix()
    report = check_checkpoint_url(served.url(f"{folder}/{INDEX}"))
    assert report.conforms
    assert report.directory == served.url(f"{folder}/")
    assert report.tensors is not None
    assert sorted(report.tensors) == ["a", "b", "c"]
    log = served.take()
    assert [(r.uri.rsplit("/", 1)[1], r.range) for r in log][:1] == [(INDEX, "")]
    assert len(log) == 1 + 2 * len(report.shards)
    assert all(r.status == 206 for r in log[1:])


def test_a_missing_shard_is_a_finding_a_forbidden_one_an_error(served: Nginx, root: Path) -> None:
    for folder in ("missing-shard", "forbidden-shards"):
        (root / folder).mkdir()
        (root / folder / "model-00001-of-00001.safetensors").write_bytes(GOOD)
        (root / folder / INDEX).write_text(
            json.dumps({"weight_map": {"a": "model-00001-of-00001.safetensors", "b": "gone.safetensors"}})
        )
    report = check_checkpoint_url(served.url(f"missing-shard/{INDEX}"))
    assert [(f.requirement, f.file, f.pointer) for f in report.violations] == [
        (CkptReq.SHARD_EXISTS, INDEX, "/weight_map/b")
    ]
    with pytest.raises(RemoteError) as raised:
        check_checkpoint_url(served.url(f"forbidden-shards/{INDEX}"))
    assert (raised.value.kind, raised.value.status) == (Failure.STATUS, 403)


def test_an_index_over_the_limit_is_refused_before_it_is_read(served: Nginx, root: Path) -> None:
    (root / "huge").mkdir()
    with (root / "huge" / INDEX).open("wb") as out:
        out.truncate(MAX_INDEX_BYTES + 1)
    with pytest.raises(RemoteError) as raised:
        check_checkpoint_url(served.url(f"huge/{INDEX}"))
    assert raised.value.kind is Failure.TOO_LARGE
    assert served.take(until=f"/huge/{INDEX}")[0].sent < MAX_INDEX_BYTES


def test_a_url_that_names_no_index_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="index file"):
        check_checkpoint_url("http://127.0.0.1/model.safetensors")


@pytest.mark.parametrize(
    ("index", "name", "url"),
    [
        ("http://h/a/m.safetensors.index.json", "s.safetensors", "http://h/a/s.safetensors"),
        ("http://h/a/m.safetensors.index.json?x=1#f", "s.safetensors", "http://h/a/s.safetensors"),
        ("http://h/m.safetensors.index.json", "..%2Fx.safetensors", "http://h/..%252Fx.safetensors"),
        ("http://h/m.safetensors.index.json", "a b#?.safetensors", "http://h/a%20b%23%3F.safetensors"),
    ],
)
def test_shard_names_are_one_path_segment_next_to_the_index(index: str, name: str, url: str) -> None:
    assert shard_url(index, name) == url


# --- The command line -----------------------------------------------------------------------------


def _validate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(["validate", *argv], out, err), out.getvalue(), err.getvalue()


def test_validate_reads_urls_as_it_reads_files(served: Nginx, root: Path, tmp_path: Path) -> None:
    bad = serialize({"a": Tensor("U8", (2,), b"\x01\x02")})[:-1]  # one data byte short
    (root / "cli-bad.safetensors").write_bytes(bad)
    (tmp_path / "cli-bad.safetensors").write_bytes(bad)
    url = served.url("cli-bad.safetensors")
    status, out, _ = _validate("--json", url, served.url("good.safetensors"))
    assert status == 1
    remote = json.loads(out)
    assert [(e["path"], e["valid"]) for e in remote] == [(url, False), (served.url("good.safetensors"), True)]
    _, local_out, _ = _validate("--json", str(tmp_path / "cli-bad.safetensors"))
    local = json.loads(local_out)[0]
    assert remote[0]["violations"] == local["violations"]
    assert remote[0]["primary"] == local["primary"] == Req.BUFFER_BOUNDS.value
    status, text, _ = _validate(url)
    assert status == 1
    assert text.startswith(f"FAIL  {url} (primary: {Req.BUFFER_BOUNDS.value})")


def test_validate_names_a_server_error_and_exits_2(served: Nginx) -> None:
    url = served.url("no-such.safetensors")
    status, out, err = _validate(url, served.url("good.safetensors"))
    assert status == 2
    assert err.startswith(f"ERROR {url}: ")
    assert "404" in err
    assert f"PASS  {served.url('good.safetensors')}" in out


def test_validate_checks_a_checkpoint_behind_a_url(served: Nginx, root: Path, checkpoints: dict[str, Path]) -> None:
    good = served.url(f"{checkpoints['valid/two-shards'].relative_to(root).as_posix()}/{INDEX}")
    bad = served.url(f"{checkpoints['index/duplicate-key'].relative_to(root).as_posix()}/{INDEX}")
    status, out, _ = _validate("--json", good, bad)
    assert status == 1
    entries = json.loads(out)
    assert [(e["path"], e["valid"], e["primary"]) for e in entries] == [
        (good, True, None),
        (bad, False, CkptReq.INDEX_UNIQUE_KEYS.value),
    ]
    assert entries[1]["violations"][0]["pointer"] == "/weight_map/b"


def test_validate_jobs_gives_the_same_output_for_urls(served: Nginx) -> None:
    urls = [served.url("good.safetensors"), served.url("no-such.safetensors"), served.url("big.safetensors")]
    assert _validate("--jobs", "2", *urls) == _validate(*urls)
