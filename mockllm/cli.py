"""``mockllm serve | validate | schema | export``: a thin layer over the config, server and builders."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata, resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from .apis import APIS
from .config import Config, ConfigError, Timing, default_timing, load_config
from .contract.guard import ContractMode
from .contract.shapes import schema_defs
from .recording_flags import add_recording_flags as _add_recording_flags
from .recording_flags import recording_of
from .server import Chaos, CompiledConfig, MockServer, Recording
from .server.added_mocks import labelled
from .server.mock_server import SupportsBuild, listening_socket, run
from .server.registry import ADAPTERS, PROVIDERS
from .server.state import DEFAULT_NAMESPACE, STATE_VARIABLE
from .shadowing import unreachable_mocks
from .watch import Signature, file_signature, watch_config

__all__ = ["main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_JOURNAL_SIZE = 1000
DEFAULT_JOURNAL_BODY_BYTES = 64 * 1024


def example_config_text() -> str:
    """The built-in example config that ``mockllm serve`` runs when given none."""
    return resources.files("mockllm").joinpath("examples/default.json").read_text("utf-8")


def _port(text: str) -> int:
    port = _int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text}")
    return port


def _workers(text: str) -> int:
    workers = _int(text)
    if workers < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes, 1 or more, got {text}")
    return workers


def _token(text: str) -> str:
    # An empty one (an unset variable in "--admin-token $TOKEN") would let any client that sends
    # "Authorization: Bearer" in, from any address.
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a token, got an empty one")
    return text


HOST_VARIABLE = "MOCKLLM_HOST"
PORT_VARIABLE = "MOCKLLM_PORT"
"""Where ``serve`` listens when no flag says: a container image sets them, and a config's
``listen_addr`` (127.0.0.1 would be out of reach from outside the container) gives way to them."""


def _environment_address(
    host: str | None, port: int | None, environ: Mapping[str, str]
) -> tuple[str | None, int | None]:
    """``--host`` and ``--port``, each of the environment where the flag is not given. Raises
    `ConfigError`, naming the variable, for a port that is not one."""
    if host is None and environ.get(HOST_VARIABLE, "").strip():
        host = environ[HOST_VARIABLE].strip()
    if port is None and environ.get(PORT_VARIABLE, "").strip():
        try:
            port = _port(environ[PORT_VARIABLE].strip())
        except argparse.ArgumentTypeError as exc:
            raise ConfigError("mockllm serve", [(PORT_VARIABLE, str(exc))]) from None
    return host, port


ADMIN_TOKEN_VARIABLE = "MOCKLLM_ADMIN_TOKEN"
"""The environment variable an admin token may come from, out of sight of the process list."""


def _admin_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The admin token: of ``--admin-token``, else of ``--admin-token-file``, else of the
    environment. Raises `ConfigError` for a file that cannot be read, or a token that is empty (as
    the flag's: it would let in any client that sends ``Authorization: Bearer``)."""
    if args.admin_token is not None:
        token: str = args.admin_token
        return token
    path: Path | None = args.admin_token_file
    if path is not None:
        try:
            # Read as the command line is: bytes that are not UTF-8 as lone surrogates.
            text = path.read_bytes().decode("utf-8", "surrogateescape")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(
                "mockllm serve", [("--admin-token-file", f"cannot read {path}: {reason}")]
            ) from None
        if not text.strip():
            raise ConfigError("mockllm serve", [("--admin-token-file", f"{path} holds no token")])
        return text.strip()
    given = environ.get(ADMIN_TOKEN_VARIABLE)
    if given is None:
        return None
    if not given.strip():
        raise ConfigError("mockllm serve", [(ADMIN_TOKEN_VARIABLE, "set, but holds no token")])
    return given


_MAX_COUNT = 1_000_000_000
"""The most a count flag takes: a journal's bound must fit a C size, and more is no test's need."""


def _count(text: str) -> int:
    count = _int(text)
    if count < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text}")
    if count > _MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected at most {_MAX_COUNT}, got {text}")
    return count


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _version() -> str:
    """The installed distribution's version (a checkout run without installing it has none)."""
    try:
        return metadata.version("mockllm-server")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockllm", description="A mock LLM server for end-to-end tests.")
    parser.add_argument("--version", action="version", version=f"mockllm {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a config over HTTP until Ctrl-C or SIGTERM")
    serve.add_argument("--config", "-c", type=Path, help="JSON config (default: the built-in example)")
    serve.add_argument(
        "--host",
        help=f"address to listen on (default: the environment variable {HOST_VARIABLE}, else listen_addr, "
        f"else {DEFAULT_HOST})",
    )
    serve.add_argument(
        "--port",
        type=_port,
        help=f"port, 0 for any free one (default: the environment variable {PORT_VARIABLE}, else "
        f"listen_addr, else {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--workers", type=_workers, default=1, help="processes sharing the port, for load tests (default: 1)"
    )
    serve.add_argument(
        "--state",
        metavar="URL",
        help="share call counts, times budgets, sequences, scenario states, mocks changed through the "
        "admin API, the journal and resets with every worker and every server on this store, e.g. "
        f"redis://127.0.0.1:6379/0 (default: the environment variable {STATE_VARIABLE}, else none: "
        "each process keeps its own)",
    )
    serve.add_argument(
        "--state-namespace",
        metavar="NAME",
        default=DEFAULT_NAMESPACE,
        help="the prefix of this server's keys in the store: servers of one namespace share their "
        f"state (default: {DEFAULT_NAMESPACE})",
    )
    serve.add_argument(
        "--watch",
        action="store_true",
        help="serve each edit of the --config file without a restart (a bad edit keeps the old mocks)",
    )
    serve.add_argument(
        "--journal-size",
        type=_count,
        default=DEFAULT_JOURNAL_SIZE,
        metavar="N",
        help="requests the journal keeps for GET /__mockllm/requests, 0 for none "
        f"(default: {DEFAULT_JOURNAL_SIZE})",
    )
    serve.add_argument(
        "--journal-body-bytes",
        type=_count,
        default=DEFAULT_JOURNAL_BODY_BYTES,
        metavar="N",
        help="a request body larger than this is journalled as its size and first N bytes "
        f"(default: {DEFAULT_JOURNAL_BODY_BYTES})",
    )
    token = serve.add_mutually_exclusive_group()
    token.add_argument(
        "--admin-token",
        type=_token,
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on the admin API (/__mockllm/) and accept it from "
        "any address (default: the token of --admin-token-file or of the environment variable "
        f"{ADMIN_TOKEN_VARIABLE}, else none: loopback clients only). Every local user can read the "
        "command line of a process: prefer the file or the variable",
    )
    token.add_argument(
        "--admin-token-file",
        type=Path,
        metavar="PATH",
        help="read the admin token from this file (its surrounding whitespace ignored)",
    )
    serve.add_argument(
        "--contract",
        choices=[mode.value for mode in ContractMode],
        default=ContractMode.WARN.value,
        help="when a mock's answer does not fit the request (a tool it does not declare, arguments off "
        "the tool's schema, structured output off its schema): warn journals and logs it, error "
        "answers 400 listing the problems, off checks nothing (default: warn)",
    )
    # The timing of every mock without its own; checked like a config's "timing" (as text here, so
    # a bad value is the config's one-line error).
    for flag, what in _TIMING_FLAGS.items():
        serve.add_argument(flag, metavar="N", help=what)
    for flag, what in _CHAOS_FLAGS.items():
        serve.add_argument(flag, metavar="R", help=what)
    _add_recording_flags(serve)

    validate = commands.add_parser("validate", help="check config files; exit 1 if any is bad")
    validate.add_argument("paths", nargs="+", type=Path)

    commands.add_parser("schema", help="print the JSON Schema of the config")

    export = commands.add_parser(
        "export", help="write the JSON config of a builder or Config found in a Python module"
    )
    export.add_argument("target", help="module:attribute, e.g. tests.mocks:m (the module is imported)")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    return parser


_TIMING_FLAGS = {
    "--ttft-ms": "milliseconds before the first byte of each answer of a mock without timing",
    "--chunk-interval-ms": "milliseconds between the stream events of a mock without timing",
    "--jitter-ms": "the most each pause between events is moved, either way",
    "--seed": "seeds the jitter and the chaos (default: 0)",
}
_CHAOS_FLAGS = {
    "--chaos-error-rate": "the share of matched requests answered with an overloaded error, 0 to 1",
    "--chaos-disconnect-rate": "the share of matched requests whose connection is dropped, 0 to 1",
}


def _chaos_flags(args: argparse.Namespace, seed: int) -> Chaos | None:
    """The chaos the serve flags ask for, seeded with ``seed``; None when no rate is given. Raises
    `ConfigError`, naming the flag, for a rate that is not a number from 0 to 1."""
    rates: dict[str, float] = {}
    for flag in _CHAOS_FLAGS:
        text = getattr(args, flag[2:].replace("-", "_"))
        if text is None:
            continue
        try:
            rate = float(text)
        except ValueError:
            rate = math.nan
        if not 0 <= rate <= 1:  # NaN too
            raise ConfigError("mockllm serve", [(flag, f"expected a rate from 0 to 1, got {text!r}")])
        rates[flag.removeprefix("--chaos-").replace("-", "_")] = rate
    if not rates:
        return None
    if sum(rates.values()) > 1:
        problem = "the two chaos rates add up to more than 1"
        raise ConfigError("mockllm serve", [("--chaos-disconnect-rate", problem)])
    return Chaos(**rates, seed=seed)


def _timing_flags(args: argparse.Namespace) -> Timing | None:
    """The timing the serve flags ask for; None when no flag is given. Raises `ConfigError`, naming
    the flag, for a value a config's ``timing`` would refuse."""
    given = {flag: getattr(args, flag[2:].replace("-", "_")) for flag in _TIMING_FLAGS}
    timing: dict[str, int | float] = {}
    for flag, text in given.items():
        if text is None:
            continue
        try:
            value: int | float = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ConfigError("mockllm serve", [(flag, f"expected a number, got {text!r}")]) from None
        timing[flag[2:].replace("-", "_")] = value
    if not timing:
        return None
    try:
        return default_timing(timing)
    except ConfigError as exc:
        flags = [
            (f"--{path.rpartition('.')[2].replace('_', '-')}", message) for path, message in exc.problems
        ]
        raise ConfigError("mockllm serve", flags) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        try:
            timing = _timing_flags(args)
            chaos = _chaos_flags(args, timing.seed if timing is not None else 0)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        if timing is not None and not (timing.ttft_ms or timing.chunk_interval_ms or timing.jitter_ms):
            timing = None  # --seed alone, for the chaos: no timing to take every mock off the fast path
        if args.watch and (problem := _watch_problem(args.config, args.workers)):
            print(f"mockllm serve: --watch {problem}", file=sys.stderr)
            return 2
        try:
            record = recording_of(args, os.environ)
            admin_token = _admin_token(args, os.environ)
            host, port = _environment_address(args.host, args.port, os.environ)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
        if record is not None and args.workers > 1:
            print("mockllm serve: recording serves one process: drop --workers", file=sys.stderr)
            return 2
        journal = (args.journal_size, args.journal_body_bytes)
        state = args.state or os.environ.get(STATE_VARIABLE) or None
        return _serve(
            args.config,
            host,
            port,
            args.workers,
            timing,
            chaos,
            journal=journal,
            admin_token=admin_token,
            watch=args.watch,
            record=record,
            contract=ContractMode(args.contract),
            state=state,
            state_namespace=args.state_namespace,
        )
    if args.command == "validate":
        return _validate(args.paths)
    if args.command == "export":
        return _export(args.target, args.output)
    sys.stdout.write(orjson.dumps(_config_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _config_schema() -> dict[str, Any]:
    """The JSON Schema of a config, each mock's ``response`` described at full depth by its
    provider's response type (so editors complete responses too)."""
    schema = Config.model_json_schema()
    defs = schema["$defs"]
    for key, adapter in ADAPTERS.items():
        name = f"{key}.response"
        defs.update(schema_defs(adapter.response_type, name))
        mock = schema["properties"][key]["items"]["$ref"].rsplit("/", 1)[1]
        defs[mock]["properties"]["response"] = {"$ref": f"#/$defs/{name}"}
    return schema


def _watch_problem(config_path: Path | None, workers: int) -> str | None:
    if config_path is None:
        return "needs --config: the built-in example never changes"
    if workers > 1:
        # Each process would have to notice the edit and reload for itself, at its own moment.
        return f"serves one process: drop --workers {workers} or --watch"
    return None


def _shared_names(config: Config) -> list[tuple[str, str]]:
    """``(json_path, message)`` for each mock whose label an earlier mock has: the admin API names
    mocks by label, across the APIs, and cannot tell such mocks apart."""
    first: dict[str, str] = {}
    found: list[tuple[str, str]] = []
    for api, position, label, _ in labelled(config):
        where = f"$.{api}[{position}]"
        if label in first:
            found.append(
                (
                    where,
                    f"the name {label!r} is also the name of {first[label]}: "
                    f"GET /__mockllm/mocks/{{name}} shows the first, DELETE removes all of them; rename one",
                )
            )
        else:
            first[label] = where
    return found


def _validate(paths: Sequence[Path]) -> int:
    failed = False
    for path in paths:
        try:
            config = load_config(path)
            compiled = CompiledConfig.of(config, source=str(path))  # also checks each response
        except ConfigError as exc:
            failed = True
            print(exc, file=sys.stderr)
            continue
        for where, message in [*compiled.warnings, *unreachable_mocks(compiled), *_shared_names(config)]:
            print(f"{path}: {where}: warning: {message}", file=sys.stderr)
        print(f"{path}: ok ({_counts(config)})")
    return 1 if failed else 0


def _export(target: str, output: Path | None) -> int:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        print(f"mockllm export: expected module:attribute, got {target!r}", file=sys.stderr)
        return 2
    # As with ``python -m``: modules beside the caller are importable without installing them.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        value: object = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # the module's own code ran: what it raised is the reason
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"mockllm export: cannot import {module_name}: {reason}", file=sys.stderr)
        return 1
    for part in attribute.split("."):
        if not hasattr(value, part):
            print(f"mockllm export: {module_name} has no attribute {attribute}", file=sys.stderr)
            return 1
        value = getattr(value, part)
    config = value.build() if isinstance(value, SupportsBuild) else value
    if not isinstance(config, Config):
        kind = type(value).__name__
        print(f"mockllm export: {target} is a {kind}, not a builder or a Config", file=sys.stderr)
        return 1
    try:
        # The same check as `validate`: every answer can be served and fits its provider's type.
        compiled = CompiledConfig.of(config, source=target)
        text = config.to_json() + "\n"
    except ConfigError as exc:
        print(ConfigError(target, exc.problems), file=sys.stderr)
        return 1
    for where, message in compiled.warnings:
        print(f"{target}: {where}: warning: {message}", file=sys.stderr)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"mockllm export: cannot write {output}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"{output}: {_counts(config)}", file=sys.stderr)
    return 0


def _counts(config: Config) -> str:
    """``3 openai, 1 anthropic``: the APIs that have mocks, for messages."""
    return ", ".join(f"{n} {name}" for name, n in config.counts().items() if n) or "no mocks"


def _listen_address(config: Config, host: str | None, port: int | None) -> tuple[str, int]:
    addr_host, addr_port = config.listen_address() or ("", DEFAULT_PORT)
    return host or addr_host or DEFAULT_HOST, addr_port if port is None else port


def _serve(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    workers: int = 1,
    timing: Timing | None = None,
    chaos: Chaos | None = None,
    *,
    journal: tuple[int, int] = (DEFAULT_JOURNAL_SIZE, DEFAULT_JOURNAL_BODY_BYTES),
    admin_token: str | None = None,
    watch: bool = False,
    record: Recording | None = None,
    contract: ContractMode = ContractMode.WARN,
    state: str | None = None,
    state_namespace: str = DEFAULT_NAMESPACE,
) -> int:
    """``journal``: how many requests it keeps, and the largest body it keeps whole. ``state``: the
    URL of the store the workers (and other servers) share their state through."""
    _log_to_stderr()
    # Taken before the file is read: an edit made while it loads is then served too.
    watched = file_signature(config_path) if watch and config_path is not None else None
    # Whatever stops the server from starting is a usage or config error: one line, exit status 2.
    try:
        if config_path is None and record is not None:
            source, config = "no config", Config()  # a recorder without mocks forwards everything
        elif config_path is None:
            source = "built-in example"
            config = Config.from_json(example_config_text(), source=source)
        else:
            source = str(config_path)
            config = load_config(config_path)
        listen_host, listen_port = _listen_address(config, host, port)
        if workers > 1 and state is None:
            _refuse_state_across_workers(config, source, workers)
        # The loaded config lives as long as the process: out of the collector's sight before the
        # compile, whose first collection would otherwise scan every mock (0.4 s at 100,000), or
        # not, as the generations' counts happen to fall.
        gc.freeze()
        journal_size, journal_body_bytes = journal
        server = MockServer(
            config,
            host=listen_host,
            port=listen_port,
            touchup=True,
            # Without a store each worker would keep a journal of its own share of the requests: none
            # is kept then. With one, the workers' journals are one.
            journal_size=journal_size if workers <= 1 or state is not None else 0,
            journal_body_bytes=journal_body_bytes,
            config_name=source,
            timing=timing,
            chaos=chaos,
            admin_token=admin_token,
            admin_refusal=_admin_refusal(workers) if state is None else None,
            record=record,
            contract=contract,
            state=state,
            state_namespace=state_namespace,
        )
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ValueError as exc:  # the store's URL
        print(f"mockllm serve: --state: {exc}", file=sys.stderr)
        return 2
    try:
        sock = listening_socket(listen_host, listen_port)
    except (OSError, TypeError) as exc:  # TypeError: a host name that IDNA cannot encode
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        address = f"[{listen_host}]" if ":" in listen_host else listen_host
        print(f"mockllm: cannot listen on {address}:{listen_port}: {reason}", file=sys.stderr)
        return 2
    if server.recorder is not None:
        try:
            server.recorder.refuse_self(listen_host, sock.getsockname()[1])
        except ConfigError as exc:
            sock.close()
            print(exc, file=sys.stderr)
            return 2
    # The config lives as long as the process: keep the collector from re-scanning its objects
    # (thousands of mocks) on every full collection, which shows as latency spikes.
    gc.freeze()
    # Its other objects are the connections' and requests', freed by reference counting as each
    # ends: answering makes no cyclic garbage, and a client that leaves mid-stream makes a little.
    # A full collection scans them all, 17 ms with a thousand streams open, and with the default
    # thresholds one fell in every burst of new streams: consider one ten times less often.
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)
    if workers <= 1:
        run(_run(server, sock, config_path, watched))
        return 0
    # Forked workers accept on the same listening socket; the kernel spreads the connections.
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_worker, args=(server, sock), daemon=True) for _ in range(workers - 1)]
    for child in children:
        child.start()
    try:
        run(_run(server, sock, config_path))
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join(timeout=10)
    return 0


def _admin_refusal(workers: int) -> str | None:
    if workers <= 1:
        return None
    return (
        f"The admin API needs one worker process: with --workers {workers} each process keeps its own "
        "mocks, call counts, scenario states and journal, and a request reaches only one of them. "
        "Serve with --workers 1 to use it."
    )


def _refuse_state_across_workers(config: Config, source: str, workers: int) -> None:
    """Each worker process would keep its own call counts and scenario states, so a mock with
    ``times`` or a scenario would answer differently depending on the process a request reaches."""
    stateful = [
        (f"$.{spec.key}[{position}]", mock.name)
        for spec in APIS
        for position, mock in enumerate(config.mocks(spec.key))
        if mock.is_stateful
    ]
    if stateful:
        where, name = stateful[0]
        label = f' ("{name}")' if name else ""
        raise ConfigError(
            source,
            [
                (
                    where,
                    f"the mock{label} uses times or a scenario, whose state a process keeps for itself: "
                    f"serve it with one worker, not --workers {workers}"
                    + (f" ({len(stateful)} such mocks)" if len(stateful) > 1 else ""),
                )
            ],
        )


def _log_to_stderr() -> None:
    """What the server logs to ``mockllm`` (the traceback of a 500, mocks that can never answer):
    print it."""
    log = logging.getLogger("mockllm")
    log.setLevel(logging.INFO)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("mockllm: %(levelname)s: %(message)s"))
        log.addHandler(handler)


def _worker(server: MockServer, sock: socket.socket) -> None:
    run(_serve_until_signal(server, sock))


def _shown(url: str) -> str:
    """``url`` without the credentials it may carry (``https://user:key@host``), for printing."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _announce(server: MockServer, config_path: Path | None) -> None:
    # The first line of stdout is the base URL alone, for scripts that start the server.
    print(server.url, flush=True)
    source = config_path or ("no mocks" if server.recorder is not None else "the built-in example config")
    recorder = server.recorder
    if recorder is not None:
        r = recorder.recording
        what = f"recording to {r.path}" if r.path is not None else "passing through"
        upstreams = ", ".join(f"{p.title} {_shown(r.upstream(p))}" for p in PROVIDERS)
        print(f"mockllm: {what} what no mock matches: {upstreams}", file=sys.stderr)
    width = max(len(p.title) for p in PROVIDERS)
    bases = "".join(f"  {p.title + ' base URL:':<{width + 10}} {p.base_url(server.url)}\n" for p in PROVIDERS)
    if server.admin_access.refusal is None:  # with several workers the admin API, the page too, is off
        bases += f"  {'Trace viewer:':<{width + 10}} {server.url}/__mockllm/ui\n"
    print(
        f"mockllm: serving {source} ({_counts(server.config)})\n{bases}  Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )


async def _serve_until_signal(
    server: MockServer, sock: socket.socket, on_ready: Callable[[], None] | None = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start(sock=sock)
    try:
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        await server.stop()


async def _run(
    server: MockServer, sock: socket.socket, config_path: Path | None, watched: Signature | None = None
) -> None:
    """Serve until a signal; with ``watched`` (the config file's signature when it was read),
    serve the file's edits too."""
    watching: list[asyncio.Task[None]] = []

    def ready() -> None:
        _announce(server, config_path)
        if watched is not None and config_path is not None:
            watching.append(asyncio.create_task(watch_config(server, config_path, watched, _counts)))

    try:
        await _serve_until_signal(server, sock, ready)
    finally:
        for task in watching:
            task.cancel()
    print("mockllm: stopped", file=sys.stderr, flush=True)
