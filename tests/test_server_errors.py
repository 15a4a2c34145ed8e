"""A bug inside the server answers a one-line 500 and leaves its traceback in the ``mockllm`` log,
where pytest's captured log and ``mockllm serve``'s stderr show it."""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

import openai
import pytest

from mockllm import Config, cli
from mockllm.server.adapter import PreparedResponse

from .conftest import ServeFn, openai_client

CONFIG = Config.model_validate(
    {
        "openai": [
            {
                "match": {"match_type": "contains", "message": {"content": "ping"}},
                "response": {"choices": [{"message": {"content": "pong"}}]},
            }
        ]
    }
)
PING: Any = [{"role": "user", "content": "ping"}]


def test_unexpected_error_is_logged_with_its_traceback(
    serve: ServeFn, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(CONFIG)

    def broken(self: PreparedResponse, model: Any, variant: Hashable) -> bytes:
        raise RuntimeError("render broke")

    monkeypatch.setattr(PreparedResponse, "render", broken)
    with caplog.at_level(logging.ERROR, logger="mockllm"), pytest.raises(openai.InternalServerError) as error:
        openai_client(server).chat.completions.create(model="m", messages=PING)
    assert "RuntimeError: render broke" in error.value.message
    (record,) = [r for r in caplog.records if r.name == "mockllm"]
    assert record.levelno == logging.ERROR
    assert "POST /v1/chat/completions" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "in broken" in caplog.text  # the traceback itself

    monkeypatch.undo()
    reply = openai_client(server).chat.completions.create(model="m", messages=PING)
    assert reply.choices[0].message.content == "pong"


def test_serve_prints_logged_errors_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mockllm serve`` configures no logging but this: the traceback of a 500 on stderr."""
    log = logging.getLogger("mockllm")
    monkeypatch.setattr(log, "handlers", [])  # as in a fresh ``mockllm serve`` process
    cli._log_to_stderr()
    cli._log_to_stderr()  # once is enough, however often it is called
    assert len(log.handlers) == 1
    try:
        raise RuntimeError("render broke")
    except RuntimeError:
        log.exception("error handling POST /v1/chat/completions")
    err = capsys.readouterr().err
    assert err.startswith("mockllm: ERROR: error handling POST /v1/chat/completions\nTraceback")
    assert "RuntimeError: render broke" in err
