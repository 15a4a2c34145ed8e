"""The ``mockllm serve`` flags of record and replay, and the `Recording` they ask for.

Three modes: replay (the default: a request no mock matches gets the usual 404), ``--record
OUT.json`` (forward it to the upstream and write the exchange to ``OUT.json``) and
``--passthrough`` (forward it, save nothing).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path

from .config import ConfigError
from .server.recorder import Recording
from .server.registry import PROVIDERS

__all__ = ["add_recording_flags", "recording_of"]

_FLAGS_NEEDING_A_MODE = {
    **{f"{provider.name}_upstream": provider.upstream_flag for provider in PROVIDERS},
    "record_match": "--record-match",
    "normalize": "--normalize",
    "record_errors": "--record-errors",
    "upstream_timeout": "--upstream-timeout",
}


def add_recording_flags(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group(
        "record and replay", "forward the requests no mock matches to the real APIs (default: answer 404)"
    )
    group.add_argument(
        "--record",
        type=Path,
        metavar="OUT.json",
        help="forward them and write each exchange to OUT.json as a mock (credentials are never written)",
    )
    group.add_argument("--passthrough", action="store_true", help="forward them without saving anything")
    for provider in PROVIDERS:
        group.add_argument(
            provider.upstream_flag,
            metavar="URL",
            dest=f"{provider.name}_upstream",
            help=f"the {provider.title} base URL to forward to "
            f"(default: ${provider.upstream_env}, else {provider.default_upstream})",
        )
    group.add_argument(
        "--record-match",
        choices=("exact", "contains"),
        help="how a recorded mock matches the last message or input (default: exact)",
    )
    group.add_argument(
        "--normalize",
        action="store_true",
        default=None,
        help="write stable ids, created 0 and no system_fingerprint, so re-recording changes little",
    )
    group.add_argument(
        "--record-errors",
        action="store_true",
        default=None,
        help="record upstream errors (4xx/5xx) as error mocks; they reach the caller either way",
    )
    group.add_argument(
        "--upstream-timeout",
        metavar="S",
        help="seconds to wait for the upstream to connect or send more, else answer 504 (default: 600)",
    )


def recording_of(args: argparse.Namespace, environ: Mapping[str, str]) -> Recording | None:
    """The `Recording` the flags ask for, None in replay mode; raises `ConfigError` naming the flag."""
    if args.record is not None and args.passthrough:
        raise ConfigError(
            "mockllm serve", [("--passthrough", "a server records or passes through, not both")]
        )
    if args.record is not None and args.record.is_dir():
        problem = f"expected a file to write the exchanges to, got the directory {str(args.record)!r}"
        raise ConfigError("mockllm serve", [("--record", problem)])
    if args.record is None and not args.passthrough:
        for name, flag in _FLAGS_NEEDING_A_MODE.items():
            if getattr(args, name) is not None:
                raise ConfigError("mockllm serve", [(flag, "needs --record OUT.json or --passthrough")])
        return None
    timeout = 600.0
    if args.upstream_timeout is not None:
        try:
            timeout = float(args.upstream_timeout)
        except ValueError:
            timeout = math.nan
        if not 0 < timeout < math.inf:
            problem = f"expected a number of seconds above 0, got {args.upstream_timeout!r}"
            raise ConfigError("mockllm serve", [("--upstream-timeout", problem)])
    upstreams: dict[str, str] = {}
    for provider in PROVIDERS:
        url = getattr(args, f"{provider.name}_upstream") or environ.get(provider.upstream_env)
        if url and "://" not in url:  # OLLAMA_HOST names host:port alone
            url = "http://" + url
        upstreams[provider.name] = url or provider.default_upstream
    return Recording(
        args.record,
        upstreams=upstreams,
        match_type=args.record_match or "exact",
        normalize=bool(args.normalize),
        record_errors=bool(args.record_errors),
        timeout=timeout,
    )
