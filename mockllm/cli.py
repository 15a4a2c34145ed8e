"""``mockllm serve | validate | schema``: a thin layer over `load_config` and `MockServer`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import orjson

from .config import Config, ConfigError, load_config
from .server import MockServer, MockState

__all__ = ["main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


def example_config_text() -> str:
    """The built-in example config that ``mockllm serve`` runs when given none."""
    return resources.files("mockllm").joinpath("examples/default.json").read_text("utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockllm", description="A mock LLM server for end-to-end tests.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a config over HTTP until Ctrl-C or SIGTERM")
    serve.add_argument("--config", "-c", type=Path, help="JSON config (default: the built-in example)")
    serve.add_argument("--host", help=f"address to listen on (default: listen_addr, else {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, help=f"port, 0 for any free one (default: listen_addr, else {DEFAULT_PORT})"
    )

    validate = commands.add_parser("validate", help="check config files; exit 1 if any is bad")
    validate.add_argument("paths", nargs="+", type=Path)

    commands.add_parser("schema", help="print the JSON Schema of the config")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args.config, args.host, args.port)
    if args.command == "validate":
        return _validate(args.paths)
    sys.stdout.write(orjson.dumps(Config.model_json_schema(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _validate(paths: Sequence[Path]) -> int:
    failed = False
    for path in paths:
        try:
            config = load_config(path)
            MockState(config, source=str(path))  # also checks each response can be served
        except ConfigError as exc:
            failed = True
            print(exc, file=sys.stderr)
            continue
        counts = ", ".join(f"{n} {name}" for name, n in config.counts().items() if n)
        print(f"{path}: ok ({counts or 'no mocks'})")
    return 1 if failed else 0


def _listen_address(config: Config, host: str | None, port: int | None) -> tuple[str, int]:
    default_host, default_port = DEFAULT_HOST, DEFAULT_PORT
    if config.listen_addr:
        addr_host, _, addr_port = config.listen_addr.rpartition(":")
        default_host = addr_host.strip("[]") or DEFAULT_HOST
        default_port = int(addr_port) if addr_port.isdigit() else DEFAULT_PORT
    return host or default_host, default_port if port is None else port


def _serve(config_path: Path | None, host: str | None, port: int | None) -> int:
    try:
        if config_path is None:
            config = Config.from_json(example_config_text(), source="built-in example")
        else:
            config = load_config(config_path)
        listen_host, listen_port = _listen_address(config, host, port)
        server = MockServer(config, host=listen_host, port=listen_port)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        asyncio.run(_run(server, config_path))
    except OSError as exc:
        print(f"mockllm: cannot listen on {listen_host}:{listen_port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


async def _run(server: MockServer, config_path: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        # The first line of stdout is the base URL alone, for scripts that start the server.
        print(server.url, flush=True)
        counts = ", ".join(f"{n} {name}" for name, n in server.config.counts().items() if n)
        source = config_path or "the built-in example config"
        print(
            f"mockllm: serving {source} ({counts or 'no mocks'})\n"
            f"  OpenAI base URL:    {server.openai_base_url}\n"
            f"  Anthropic base URL: {server.anthropic_base_url}\n"
            "  Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    print("mockllm: stopped", file=sys.stderr, flush=True)
