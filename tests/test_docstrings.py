"""What ``help()`` shows a newcomer agrees with the docs: how to start a server from sync code, and
what each builder's ``reply`` takes."""

from __future__ import annotations

import inspect

import pytest

from mockllm import MockServer, mock

from .conftest import code_blocks, doc_section

ENTRY_POINTS = [
    "openai_chat",
    "openai_responses",
    "openai_embeddings",
    "anthropic_messages",
    "gemini",
    "gemini_embeddings",
    "bedrock",
    "ollama",
    "ollama_embeddings",
]


def test_help_starts_a_server_from_sync_code_as_the_readme_does() -> None:
    tour = code_blocks(doc_section("README.md", "## A 30-second tour"), "python")[0]
    assert "with MockServer(load_config(" in tour
    assert "with MockServer(config) as server:" in (MockServer.__doc__ or "")


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_reply_docstring_names_every_parameter(entry_point: str) -> None:
    reply = type(getattr(mock(), entry_point)()).reply
    doc = inspect.getdoc(reply) or ""
    parameters = [name for name in inspect.signature(reply).parameters if name != "self"]
    unnamed = [name for name in parameters if f"``{name}``" not in doc]
    assert not unnamed, f"{entry_point}().reply's docstring never names {unnamed}"
