"""What ``help()`` shows a newcomer agrees with the docs: how to start a server from sync code, and
what each builder verb (``reply*``, ``with_*``, ``when_*``) takes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

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


VERB_FAMILIES = ("reply", "with_", "when_")
"""The verbs whose docstrings must name each of their parameters: ``reply`` and every ``reply_*``,
``with_*`` and ``when_*`` verb."""


def builder_class(entry_point: str) -> type:
    return type(getattr(mock(), entry_point)())


def verbs(entry_point: str) -> dict[str, Callable[..., Any]]:
    """The builder's verbs of those families, inherited ones and aliases included, by the name a
    test calls them by."""
    builder = builder_class(entry_point)
    return {
        name: getattr(builder, name)
        for name in dir(builder)
        if name.startswith(VERB_FAMILIES) and callable(getattr(builder, name))
    }


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_verb_docstrings_name_every_parameter(entry_point: str) -> None:
    unnamed: dict[str, list[str] | str] = {}
    for name, verb in verbs(entry_point).items():
        doc = inspect.getdoc(verb) or ""
        parameters = [p for p in inspect.signature(verb).parameters if p != "self"]
        missing = [p for p in parameters if f"``{p}``" not in doc]
        if missing or not doc:
            # An alias shares what it aliases: the docstring to fix is the one under that name.
            label = name if verb.__name__ == name else f"{name} (= {verb.__name__})"
            unnamed[label] = missing or "no docstring"
    assert not unnamed, f"{entry_point}()'s verbs whose docstrings never name these parameters: {unnamed}"


def test_an_alias_is_the_verb_it_aliases_so_shares_its_docstring() -> None:
    aliases = {
        (entry_point, name): verb
        for entry_point in ENTRY_POINTS
        for name, verb in verbs(entry_point).items()
        if verb.__name__ != name
    }
    assert ("anthropic_messages", "reply_tool_call") in aliases
    for (entry_point, name), verb in aliases.items():
        original = getattr(builder_class(entry_point), verb.__name__)
        assert original is verb, f"{entry_point}().{name} is not {verb.__name__}, so has its own docstring"


def test_the_checked_verbs_reach_every_family() -> None:
    """Inherited verbs and aliases are among those checked: an enumeration that missed them would
    let the docstring test pass on nothing."""
    checked = {name for entry_point in ENTRY_POINTS for name in verbs(entry_point)}
    assert {"reply", "reply_tool_call", "reply_error", "with_header", "when_model"} <= checked
