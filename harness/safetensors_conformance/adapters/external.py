"""Talking to another process: the external-program protocol (``docs/external-protocol.md``).

* One-shot: ``PROGRAM ARGS PATH`` prints one JSON result and exits 0 (``accepted`` or
  ``unsupported``) or 1 (``rejected``); anything else is a crash. A result must be printed: a
  silent exit is not a verdict.
* Persistent: the program reads JSON lines ``{"seq", "op": "start" | "load" | "stop", ...}`` on
  stdin and answers each with one JSON line carrying the same ``seq``.

Each process runs in its own session with an address-space limit and a deadline per request; a
crash, a hang or a memory blow-up becomes an :class:`~.outcome.Outcome`, and a persistent
program is simply started again for the next file. The runner's Python workers speak the same
persistent protocol.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import IO, Any

from .outcome import Outcome, ProtocolError, parse_reply
from .protocol import Description, Loaded, LoadedTensor, Rejected, Unsupported

PROTOCOL_VERSION = 1
#: A reply line longer than this is not a reply: the program is printing something else.
MAX_REPLY_BYTES = 64 * 1024 * 1024
#: Bytes read from a program's stdout at a time.
READ_CHUNK = 1 << 20
#: How much of a dead program's stderr goes into the crash detail.
STDERR_TAIL = 2000
#: What runtimes print when an allocation fails (compared in lower case): Python, Rust, C++,
#: V8 ("JavaScript heap out of memory", "WebAssembly.instantiate(): Out of memory"), glibc.
_OUT_OF_MEMORY = (
    "memory allocation of",
    "memoryerror",
    "std::bad_alloc",
    "out of memory",
    "cannot allocate memory",
    "allocation failed",
)
#: How often the memory watch reads a program's resident memory.
WATCH_INTERVAL = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: The resident-memory watch needs Linux's /proc; elsewhere the address-space limit stands in.
WATCHABLE = os.path.exists(f"/proc/{os.getpid()}/statm")  # noqa: PTH110 - imported by every worker start


def _limits(address_space: int | None) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return apply


def resident_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (0 once they are gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm", "rb") as statm:  # noqa: PTH123 - a hot loop; no pathlib
                total += int(statm.read().split()[1]) * _PAGE
            for task in os.listdir(f"/proc/{current}/task"):  # noqa: PTH208 - a hot loop
                with open(f"/proc/{current}/task/{task}/children", "rb") as children:  # noqa: PTH123
                    pending.extend(map(int, children.read().split()))
        except (OSError, ValueError, IndexError):
            continue
    return total


class MemoryWatch:
    """Stops a program whose resident memory (with its children's) passes the limit.

    A limit on resident memory, not on address space: runtimes such as V8 reserve far more address
    space than they use (WebAssembly reserves gigabytes per instance), so an address-space limit
    makes them fail where they would fit. ``exceeded`` holds what was seen when it stopped one.
    """

    def __init__(self, process: subprocess.Popen[bytes], limit: int) -> None:
        self.process = process
        self.limit = limit
        self.exceeded: int | None = None
        self._thread = threading.Thread(target=self._watch, name=f"memory watch {process.pid}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while self.process.poll() is None:
            used = resident_bytes(self.process.pid)
            if used > self.limit:
                self.exceeded = used
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                return
            time.sleep(WATCH_INTERVAL)

    def outcome(self) -> Outcome | None:
        """The memory-limit outcome, when the watch stopped the program."""
        if self.exceeded is None:
            return None
        mib = 1 << 20
        return Outcome(
            "memory-limit",
            detail=f"resident memory reached {self.exceeded / mib:.1f} MiB, over the {self.limit / mib:g} MiB limit",
        )


def spawn(
    argv: Sequence[str], *, memory_limit: int | None, env: dict[str, str] | None, stdout: IO[bytes] | int
) -> tuple[subprocess.Popen[bytes], IO[bytes], MemoryWatch | None]:
    """Start a program in its own session, with limits; its stderr goes to a temporary file.

    ``memory_limit`` bounds resident memory through a :class:`MemoryWatch`; where that cannot
    work, it is applied as an address-space limit instead.
    """
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=_limits(None if WATCHABLE else memory_limit),  # noqa: PLW1509 - only sets resource limits
            start_new_session=True,
            env=env,
        )
    except OSError:
        stderr.close()
        raise
    watch = MemoryWatch(process, memory_limit) if memory_limit and WATCHABLE else None
    return process, stderr, watch


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(stream: IO[bytes], since: int = 0) -> str:
    """The end of what a program wrote to stderr after byte ``since`` (earlier files' output is not
    evidence about this one)."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(since, size - STDERR_TAIL))
    return stream.read().decode("utf-8", "replace").strip()


def classify_exit(returncode: int, stderr: str) -> Outcome:
    """A program that died without answering: out of memory, or a crash."""
    if returncode < 0:
        try:
            how = f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"killed by signal {-returncode}"
    else:
        how = f"exited with status {returncode}"
    detail = f"{how}; stderr: {stderr[-500:]}" if stderr else how
    lowered = stderr.lower()
    if any(marker in lowered for marker in _OUT_OF_MEMORY):
        return Outcome("memory-limit", detail=detail)
    return Outcome("crash", detail=detail)


class ProgramSession:
    """One persistent program: start it, send it files, notice when it dies, start it again."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        memory_limit: int | None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.argv = list(argv)
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.env = env
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        self.watch: MemoryWatch | None = None
        self.description: Description | None = None
        self._seq = 0
        self._buffer = bytearray()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Description:
        """Start the program and do the handshake; an unusable program gives an unavailable description."""
        self.close()
        try:
            self.process, self.stderr, self.watch = spawn(
                self.argv, memory_limit=self.memory_limit, env=self.env, stdout=subprocess.PIPE
            )
        except OSError as error:
            self.description = Description(self.argv[0], "unknown", available=False, reason=f"cannot run: {error}")
            return self.description
        self._buffer = bytearray()
        reply = self._exchange({"op": "start", "protocol": PROTOCOL_VERSION}, self.startup_timeout)
        if isinstance(reply, Outcome):
            reason = reply.detail or reply.kind
            self.description = Description(self.argv[0], "unknown", available=False, reason=f"did not start: {reason}")
            return self.description
        started = reply.get("started")
        if not isinstance(started, dict):
            self.close()
            self.description = Description(
                self.argv[0], "unknown", available=False, reason="the start reply has no 'started' object"
            )
            return self.description
        self.description = Description.from_json(started)
        return self.description

    def load(self, path: str, timeout: float | None = None) -> Outcome:
        """Send one file; a program that died or hung is stopped, and the next call starts it again."""
        if not self.alive:
            description = self.start()
            if not description.available:
                return Outcome("crash", detail=description.reason)
        reply = self._exchange({"op": "load", "path": path}, timeout or self.timeout)
        if isinstance(reply, Outcome):
            return reply
        try:
            return parse_reply(reply)
        except ProtocolError as error:
            self.close(graceful=False)
            return Outcome("crash", detail=f"protocol error: {error}")

    def close(self, *, graceful: bool = True) -> None:
        """Ask the program to stop (unless it hung or misbehaved), make sure it has, and release its pipes."""
        process = self.process
        if process is not None:
            if graceful and process.poll() is None and process.stdin is not None:
                with suppress(OSError, subprocess.TimeoutExpired):
                    self._send({"op": "stop"})
                    process.stdin.close()
                    process.wait(timeout=2)
            _kill(process)
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with suppress(OSError):
                        pipe.close()
            self.process = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def _send(self, message: dict[str, Any]) -> int:
        assert self.process is not None
        assert self.process.stdin is not None
        self._seq += 1
        line = json.dumps({"seq": self._seq, **message}, ensure_ascii=True) + "\n"
        self.process.stdin.write(line.encode())
        self.process.stdin.flush()
        return self._seq

    def _exchange(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | Outcome:
        """Send a request and wait for the reply with the same seq, or say what went wrong."""
        assert self.process is not None
        assert self.stderr is not None
        stderr_mark = self.stderr.seek(0, os.SEEK_END)
        deadline = time.monotonic() + timeout
        try:
            seq = self._send(message)
        except OSError:
            return self._died(stderr_mark, deadline)
        while True:
            try:
                line = self._readline(deadline)
            except EOFError:
                return self._died(stderr_mark, deadline)
            except ProtocolError as error:
                self.close(graceful=False)
                return Outcome("crash", detail=f"protocol error: {error}")
            if line is None:
                self.close(graceful=False)
                return Outcome("timeout", detail=f"no reply within {timeout:.1f} s")
            try:
                reply = json.loads(line)
            except ValueError:
                self.close(graceful=False)
                return Outcome("crash", detail=f"protocol error: not a JSON line: {line[:200]!r}")
            if not isinstance(reply, dict) or reply.get("seq") != seq:
                self.close(graceful=False)
                return Outcome(
                    "crash", detail=f"protocol error: expected a reply with seq {seq}, got {str(reply)[:200]}"
                )
            return reply

    def _readline(self, deadline: float) -> bytes | None:
        assert self.process is not None
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        buffer = self._buffer
        searched = 0  # a long reply arrives in many chunks: look for the line feed in new bytes only
        while (end := buffer.find(b"\n", searched)) < 0:
            searched = len(buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                raise EOFError
            buffer += chunk
            if len(buffer) > MAX_REPLY_BYTES:
                raise ProtocolError(f"a reply line longer than {MAX_REPLY_BYTES} bytes")
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        return line

    def _died(self, stderr_mark: int, deadline: float) -> Outcome:
        """The program closed its pipes: wait for its exit (until the deadline) and say how it ended."""
        assert self.process is not None
        assert self.stderr is not None
        try:
            returncode = self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.close(graceful=False)
            return Outcome("crash", detail="closed its output without exiting")
        watched = self.watch.outcome() if self.watch is not None else None
        outcome = watched or classify_exit(returncode, _tail(self.stderr, stderr_mark))
        self.close(graceful=False)
        return outcome


def run_once(
    argv: Sequence[str], path: str, *, timeout: float, memory_limit: int | None, env: dict[str, str] | None = None
) -> Outcome:
    """One-shot mode: run ``PROGRAM ARGS PATH`` and read its verdict."""
    with tempfile.TemporaryFile() as stdout:
        process, stderr, watch = spawn([*argv, path], memory_limit=memory_limit, env=env, stdout=stdout)
        with stderr:
            assert process.stdin is not None
            process.stdin.close()
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(process)
                return Outcome("timeout", detail=f"no result within {timeout:.1f} s")
            watched = watch.outcome() if watch is not None else None
            if watched is not None:
                return watched
            stdout.seek(0)
            text = stdout.read(MAX_REPLY_BYTES + 1)
            if returncode not in (0, 1):
                return classify_exit(returncode, _tail(stderr))
            try:
                reply = json.loads(text)
                if not isinstance(reply, dict):
                    raise ProtocolError("the result must be a JSON object")
                outcome = parse_reply(reply)
            except (ValueError, ProtocolError) as error:
                return Outcome("crash", detail=f"exited with status {returncode} without a valid result: {error}")
            if (returncode == 0) != (outcome.kind in ("accepted", "unsupported")):
                return Outcome(
                    "crash", detail=f"exit status {returncode} contradicts the reported outcome {outcome.kind!r}"
                )
            return outcome


class OneShotAdapter:
    """``cmd:PROGRAM ARGS``: an external program run once per file."""

    def __init__(self, name: str, argv: Sequence[str], timeout: float = 60.0, memory_limit: int | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.timeout = timeout
        self.memory_limit = memory_limit

    def describe(self) -> Description:
        """The program's answer to ``--describe``. Without one nothing says what it can return, so it
        is not run (assuming a full reader of every dtype would turn its gaps into failures)."""
        try:
            done = subprocess.run([*self.argv, "--describe"], capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return Description(self.argv[0], "unknown", available=False, reason=f"cannot run --describe: {error}")
        try:
            answer = json.loads(done.stdout) if done.returncode == 0 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return Description(
                self.argv[0],
                "unknown",
                available=False,
                reason=f"'{' '.join(self.argv)} --describe' printed no description (exit status {done.returncode}); "
                "see docs/external-protocol.md",
            )
        return Description.from_json(answer)

    def outcome(self, path: str) -> Outcome:
        return run_once(self.argv, path, timeout=self.timeout, memory_limit=self.memory_limit)

    def load(self, path: str) -> Loaded:
        return _as_loaded(self.outcome(path))


class PersistentAdapter:
    """``serve:PROGRAM ARGS``: an external program that answers JSON lines."""

    def __init__(self, name: str, argv: Sequence[str], timeout: float = 60.0, memory_limit: int | None = None) -> None:
        self.name = name
        self.session = ProgramSession(argv, timeout=timeout, memory_limit=memory_limit)

    def describe(self) -> Description:
        return self.session.description or self.session.start()

    def outcome(self, path: str) -> Outcome:
        return self.session.load(path)

    def load(self, path: str) -> Loaded:
        return _as_loaded(self.outcome(path))

    def close(self) -> None:
        self.session.close()


def _as_loaded(outcome: Outcome) -> Loaded:
    """An outcome seen through the in-process adapter interface (tensor bytes are not available)."""
    if outcome.kind == "accepted":
        tensors = (
            None if outcome.tensors is None else [LoadedTensor(t.name, t.dtype, t.shape, None) for t in outcome.tensors]
        )
        return Loaded(tensors, outcome.metadata)
    if outcome.kind == "unsupported":
        raise Unsupported(outcome.error or "unsupported")
    if outcome.kind == "rejected":
        raise Rejected(outcome.error or "rejected")
    raise RuntimeError(f"{outcome.kind}: {outcome.detail}")
