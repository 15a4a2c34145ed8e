"""Starting, checking and stopping the servers under test: mockllm, the bare Sanic ceiling and
aimock, each as its own process group on 127.0.0.1, optionally pinned to a CPU."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Literal, TypeVar

import orjson
from workloads import HEADERS, PATH, STREAM_CHUNK_CHARS, Workload, aimock_fixtures, mockllm_config

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
AIMOCK_PACKAGE = "@copilotkit/aimock"
AIMOCK_VERSION = "1.43.0"
# From the "engines" field of that version's package.json.
AIMOCK_MIN_NODE = (20, 15)

ServerName = Literal["mockllm", "nojournal", "bare", "aimock"]
SERVER_LABELS: dict[str, str] = {
    "mockllm": "mockllm",
    "nojournal": "mockllm, journal off",
    "bare": "bare Sanic",
    "aimock": "aimock",
}


class BenchError(Exception):
    """A server or a measurement failed; the harness reports it and moves on."""


_RUNNING: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Pinning:
    """CPU placement: the server gets one core, the load generator another."""

    server_prefix: tuple[str, ...]
    client_prefix: tuple[str, ...]
    client_cpu: int | None
    description: str


def choose_pinning(enabled: bool) -> Pinning:
    taskset = shutil.which("taskset")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not enabled:
        return Pinning((), (), None, "no CPU pinning (--no-pin)")
    if taskset is None or len(cpus) < 2:
        why = "taskset not found" if taskset is None else f"only {len(cpus)} CPU available"
        return Pinning((), (), None, f"no CPU pinning ({why}); server and wrk share cores")
    server_cpu, client_cpu = cpus[0], cpus[1]
    return Pinning(
        (taskset, "-c", str(server_cpu)),
        (taskset, "-c", str(client_cpu)),
        client_cpu,
        f"server pinned to CPU {server_cpu}, wrk and the timing client to CPU {client_cpu} (taskset)",
    )


def start_process(
    argv: Sequence[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        # A new session makes the server the leader of its own process group, so
        # stopping it also stops anything it forked (Sanic workers, npm shims).
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    _RUNNING.append(proc)
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    else:
        # The leader is gone; make sure no child it left behind still holds the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def stop_all() -> None:
    # stop_process removes each entry, so take from the end until none is left.
    while _RUNNING:
        stop_process(_RUNNING[-1])


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM/SIGHUP into an exception so the finally blocks stop the servers.

    SIGINT is set explicitly too: a shell starts background jobs with SIGINT
    ignored, and Python then never raises KeyboardInterrupt on Ctrl-C.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def log_tail(log_path: Path, lines: int = 8) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def http_request(
    port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    # http.client rather than urllib: urllib would honour *_proxy variables,
    # and every request here must go straight to 127.0.0.1.
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=HEADERS if body is not None else {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def url_printed(log_path: Path, port: int, grace: float = 2.0) -> bool:
    """Whether the server wrote its base URL to stdout (our log file)."""
    needle = f"{HOST}:{port}".encode()
    deadline = time.monotonic() + grace
    while True:
        with contextlib.suppress(OSError):
            if needle in log_path.read_bytes():
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def wait_ready(
    proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float, poll: float = 0.05
) -> float:
    """Poll ``GET /health`` every ``poll`` seconds until 200; returns the start-up time in seconds."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"exited with code {proc.returncode} before it was ready: {log_tail(log_path)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = http_request(port, "GET", "/health", timeout=1.0)
            if status == 200:
                return time.monotonic() - started
        time.sleep(poll)
    raise BenchError(f"not ready after {timeout:.0f}s: {log_tail(log_path)}")


@dataclass
class ServerKind:
    name: ServerName
    # Writes whatever config the server needs into the directory and returns argv.
    command: Callable[[Workload, int, Path], list[str]]
    cwd: Path
    skip_reason: str | None = None
    env: dict[str, str] | None = None
    # Whether the server promises to print its base URL on stdout once ready.
    prints_url: bool = False


def mockllm_env(root: Path = REPO_ROOT) -> dict[str, str]:
    """This process's environment with the repository root (or another source tree) first on the
    module path."""
    env = dict(os.environ)
    # Run from the repository root and put it on the path, so the working tree's
    # package is used whether or not it is installed into this interpreter.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return env


def mockllm_command(config: Path, port: int) -> list[str]:
    """``mockllm serve`` on 127.0.0.1 with this interpreter; run it from REPO_ROOT with mockllm_env()."""
    return [
        sys.executable,
        "-m",
        "mockllm",
        "serve",
        "--config",
        str(config),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def mockllm_kind(
    startup_check_timeout: float, *, name: ServerName = "mockllm", serve_args: Sequence[str] = ()
) -> ServerKind:
    """``mockllm serve``; ``serve_args`` are added to its command line (``nojournal``: the
    journal off, to measure what keeping it costs)."""
    # Filled in once `serve --help` has been read: pin one worker when the option exists.
    extra: list[str] = list(serve_args)

    def command(workload: Workload, port: int, workdir: Path) -> list[str]:
        config = workdir / f"mockllm-{workload.key}.json"
        config.write_bytes(orjson.dumps(mockllm_config(workload)))
        return [*mockllm_command(config, port), *extra]

    env = mockllm_env()
    kind = ServerKind(name, command, REPO_ROOT, env=env, prints_url=True)
    try:
        check = subprocess.run(
            [sys.executable, "-m", "mockllm", "serve", "--help"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            timeout=startup_check_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        kind.skip_reason = "`-m mockllm serve --help` timed out"
        return kind
    if check.returncode != 0:
        lines = (check.stderr or check.stdout).decode(errors="replace").strip().splitlines()
        kind.skip_reason = f"`-m mockllm serve --help` failed: {lines[-1] if lines else '?'}"
    elif b"--workers" in check.stdout:
        extra.extend(["--workers", "1"])
    return kind


def bare_kind() -> ServerKind:
    def command(workload: Workload, port: int, workdir: Path) -> list[str]:
        reply = workload.expected_reply
        return [
            sys.executable,
            str(BENCH_DIR / "bare_sanic.py"),
            "--host",
            HOST,
            "--port",
            str(port),
            "--reply",
            reply,
            "--stream-reply",
            reply,
            "--chunk-chars",
            str(STREAM_CHUNK_CHARS),
        ]

    return ServerKind("bare", command, BENCH_DIR)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mockllm-bench"


def install_aimock(version: str) -> tuple[Path | None, str]:
    """Install aimock into the user cache (outside the repository) once per version.

    Returns the path of its ``llmock`` entry point (the one that takes ``-f``
    fixture files) or None, and a human-readable note.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, (
            "Node.js/npm not found (aimock needs Node >= 20.15: apt-get install -y nodejs npm on "
            "Debian 13; Debian 12's nodejs 18 is too old)"
        )
    node_version = subprocess.run([node, "--version"], capture_output=True, check=False)
    node_text = node_version.stdout.decode().strip()
    found = tuple(int(part) for part in re.findall(r"\d+", node_text)[:2])
    if found < AIMOCK_MIN_NODE:
        need = ".".join(map(str, AIMOCK_MIN_NODE))
        return None, f"Node {node_text or '?'} is older than the {need} that aimock needs"
    prefix = cache_root() / f"aimock-{version}"
    package_dir = prefix / "node_modules" / "@copilotkit" / "aimock"
    manifest = package_dir / "package.json"
    installed = None
    if manifest.is_file():
        installed = orjson.loads(manifest.read_bytes()).get("version")
    if installed != version:
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "package.json").write_text('{"private": true}\n')
        print(f"installing {AIMOCK_PACKAGE}@{version} into {prefix} ...", flush=True)
        try:
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    f"{AIMOCK_PACKAGE}@{version}",
                ],
                cwd=prefix,
                capture_output=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, "npm install timed out"
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace").strip().splitlines()
            return None, f"npm install failed: {err[-1] if err else '?'}"
    if not manifest.is_file():
        return None, f"npm install left no {manifest.name} for {AIMOCK_PACKAGE}"
    bins = orjson.loads(manifest.read_bytes()).get("bin", {})
    entry = bins.get("llmock") if isinstance(bins, dict) else None
    if not isinstance(entry, str):
        return None, f"{AIMOCK_PACKAGE}@{version} has no llmock bin"
    return package_dir / entry, f"{AIMOCK_PACKAGE}@{version} on Node {node_text}"


def aimock_kind(version: str) -> tuple[ServerKind, str]:
    entry, note = install_aimock(version)
    node = shutil.which("node") or "node"

    def command(workload: Workload, port: int, workdir: Path) -> list[str]:
        fixtures = workdir / f"aimock-{workload.key}.json"
        fixtures.write_bytes(orjson.dumps(aimock_fixtures(workload)))
        # `llmock` is the bin that takes fixture files (`aimock` itself only takes
        # a --config file). --log-level silent: no per-request logging, like ours.
        # -c sets the characters per SSE event: one 5-character word per event.
        return [
            node,
            str(entry),
            "--host",
            HOST,
            "--port",
            str(port),
            "--fixtures",
            str(fixtures),
            "--chunk-size",
            str(STREAM_CHUNK_CHARS),
            "--log-level",
            "silent",
        ]

    kind = ServerKind("aimock", command, cache_root(), skip_reason=None if entry is not None else note)
    return kind, note


@dataclass
class SseSummary:
    events: int
    content: str
    done: bool


def parse_sse(body: bytes) -> SseSummary:
    events, done, pieces = 0, False, []
    for raw in body.split(b"\n"):
        line = raw.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        events += 1
        chunk = orjson.loads(data)
        for choice in chunk.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if isinstance(piece, str):
                pieces.append(piece)
    return SseSummary(events, "".join(pieces), done)


def verify(port: int, workload: Workload) -> str:
    """Send the benchmark request once and check the answer before measuring.

    Returns a short note (e.g. the number of SSE events); raises BenchError when
    the status or the content is not what the matched mock says.
    """
    try:
        status, body = http_request(port, "POST", PATH, workload.request_body())
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"verification request failed: {exc!r}") from exc
    snippet = body[:200].decode(errors="replace")
    if status != 200:
        raise BenchError(f"verification got HTTP {status}: {snippet}")
    if workload.stream:
        try:
            sse = parse_sse(body)
        except orjson.JSONDecodeError as exc:
            raise BenchError(f"stream is not JSON SSE: {snippet}") from exc
        if not sse.done or sse.content != workload.expected_reply:
            raise BenchError(
                f"stream content mismatch (done={sse.done}, {len(sse.content)} chars): {snippet}"
            )
        return f"{sse.events} events"
    try:
        doc = orjson.loads(body)
        content = doc["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise BenchError(f"not a chat.completion: {snippet}") from exc
    if content != workload.expected_reply:
        raise BenchError(f"wrong mock answered: {content!r} != {workload.expected_reply!r}")
    return ""


def measure_in_workdir(prefix: str, measure: Callable[[Path], T]) -> tuple[T | None, int]:
    """Run ``measure`` in a temporary folder, with Ctrl-C and SIGTERM turned into an interrupt, and
    stop every server however it ends. Returns its result and exit status 0, or None and the exit
    status after saying why it stopped."""
    try:
        with terminate_on_signals(), tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            return measure(Path(tmp)), 0
    except KeyboardInterrupt:
        print("\ninterrupted; server stopped", file=sys.stderr)
        return None, 130
    except (BenchError, OSError) as exc:
        print(f"\nfailed: {exc}", file=sys.stderr)
        return None, 1
    finally:
        stop_all()
