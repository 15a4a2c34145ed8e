"""Ceiling server for the benchmark: the least work a Sanic app can do per request.

It answers ``POST /v1/chat/completions`` with a body built once at start-up:
a ``chat.completion`` JSON document, or, when the request JSON has
``"stream": true``, a complete Server-Sent Events body (role chunk, one chunk per
piece of the reply, finish chunk, ``[DONE]``) sent in a single write. The
request body is still parsed, because every real mock server must parse it to
find the ``stream`` flag and the messages; that keeps the ceiling honest.

Run by ``benchmarks/run.py``; not part of the mockllm package.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.config import Config
from sanic.response import HTTPResponse

MODEL = "gpt-mock"
COMPLETION_ID = "chatcmpl-bare"
CREATED = 1700000000


def build_completion(reply: str) -> bytes:
    """Serialise the constant non-streaming answer."""
    return orjson.dumps(
        {
            "id": COMPLETION_ID,
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": reply},
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )


def _chunk(delta: dict[str, str], finish_reason: str | None) -> bytes:
    payload = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def build_sse(reply: str, chunk_chars: int) -> bytes:
    """Serialise the constant streaming answer, ``chunk_chars`` characters per event."""
    parts = [_chunk({"role": "assistant", "content": ""}, None)]
    parts.extend(
        _chunk({"content": reply[i : i + chunk_chars]}, None) for i in range(0, len(reply), chunk_chars)
    )
    parts.append(_chunk({}, "stop"))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def create_app(reply: str, stream_reply: str, chunk_chars: int) -> Sanic[Config, Any]:
    """Build the app with both bodies pre-rendered."""
    # configure_logging=False keeps Sanic from installing its log handlers, so
    # no per-request logging work is done at all.
    app = Sanic("bare_sanic", configure_logging=False)
    completion = build_completion(reply)
    sse = build_sse(stream_reply, chunk_chars)
    json_headers = {"content-type": "application/json"}
    sse_headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> HTTPResponse:
        body = orjson.loads(request.body)
        if isinstance(body, dict) and body.get("stream") is True:
            return HTTPResponse(sse, headers=sse_headers)
        return HTTPResponse(completion, headers=json_headers)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return HTTPResponse(b"ok", content_type="text/plain")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply", default="Hi there", help="content of the JSON answer")
    parser.add_argument("--stream-reply", default="Hi there", help="content of the SSE answer")
    parser.add_argument("--chunk-chars", type=int, default=5, help="characters per SSE event")
    args = parser.parse_args()
    app = create_app(args.reply, args.stream_reply, args.chunk_chars)
    # One process, no worker manager, no access log: the cheapest Sanic setup.
    app.run(
        host=args.host,
        port=args.port,
        single_process=True,
        access_log=False,
        debug=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
