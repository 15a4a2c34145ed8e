"""Rules on the whole conversation (``turn``, ``tool_results``, ``history_contains``, ``model``,
``input_item``, ``match_type: "regex"``) as properties.

Conversations are drawn once, abstractly (user messages, assistant turns with text, reasoning and
parallel tool calls, the tool results sent back), and written out for each API the way its SDK
sends them, so that one property can be checked on equivalent requests of every API:
- ``turn`` counts the assistant turns alike on chat, Responses and Anthropic;
- a ``tool_results`` id matches itself only, never a prefix or an extension of it;
- ``history_contains`` holds exactly when some message text contains the text;
- a regex of an escaped text is the ``contains`` rule of that text;
- `MockIndex` finds what a scan of the mocks in order finds, with these rules present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mockllm import Config
from mockllm.anthropic.matching import ANTHROPIC_RULES, anthropic_mismatch, anthropic_turns
from mockllm.builders import MockBuilder, mock
from mockllm.config import (
    AnthropicMock,
    AnthropicRequestMatch,
    OpenAIEmbeddingMock,
    OpenAIEmbeddingRequestMatch,
    OpenAIMock,
    OpenAIRequestMatch,
    OpenAIResponseMock,
    OpenAIResponseRequestMatch,
)
from mockllm.matching import MatchRules, MockIndex, headers_mismatch
from mockllm.openai.matching import (
    CHAT_RULES,
    EMBEDDINGS_RULES,
    RESPONSES_RULES,
    chat_mismatch,
    chat_turns,
    embeddings_mismatch,
    responses_mismatch,
    responses_turns,
)

from . import strategies as s

JsonObject = dict[str, Any]

# --- conversations, drawn once and written out per API -------------------------------------------


@dataclass(frozen=True)
class User:
    text: str


@dataclass(frozen=True)
class Assistant:
    text: str | None
    calls: tuple[str, ...]
    reasoning: str | None = None


@dataclass(frozen=True)
class Results:
    outputs: tuple[tuple[str, str], ...]
    """(tool call id, output text), in the order they are sent back (any order)."""


Event = User | Assistant | Results


@dataclass(frozen=True)
class Conversation:
    system: str | None
    events: tuple[Event, ...]
    texts: tuple[str, ...] = field(default=())
    """Every text of the conversation but the system prompt: user messages, assistant text,
    tool outputs."""

    @property
    def assistant_turns(self) -> int:
        return sum(isinstance(event, Assistant) for event in self.events)

    @property
    def result_ids(self) -> set[str]:
        return {i for event in self.events if isinstance(event, Results) for i, _ in event.outputs}


words = s.texts(min_size=1, max_size=8)


@st.composite
def conversations(draw: st.DrawFn, *, text: st.SearchStrategy[str] = words) -> Conversation:
    """A request an agent sends: it starts with a user message and ends with a user message or
    the results of the tool calls of the last assistant turn. Tool call ids are unique."""
    events: list[Event] = [User(draw(text))]
    used: set[str] = set()
    for _ in range(draw(st.integers(0, 4))):
        calls = tuple(draw(st.lists(s.ids("call_").filter(lambda i: i not in used), max_size=3, unique=True)))
        used.update(calls)
        reply = draw(st.none() | text) if calls else draw(text)
        events.append(Assistant(reply, calls, draw(st.none() | text)))
        if calls:
            outputs = tuple((i, draw(text)) for i in draw(st.permutations(calls)))
            events.append(Results(outputs))
            if draw(st.booleans()):
                continue  # the results end this step; the model is asked again
        events.append(User(draw(text)))
    if isinstance(events[-1], Assistant):  # pragma: no cover - the loop never ends on one
        events.append(User(draw(text)))
    texts: list[str] = []
    for event in events:
        if isinstance(event, User):
            texts.append(event.text)
        elif isinstance(event, Assistant):
            texts += [event.text] if event.text is not None else []
        else:
            texts += [output for _, output in event.outputs]
    return Conversation(draw(st.none() | text), tuple(events), tuple(texts))


def chat_request(conversation: Conversation, model: str = "gpt-4o") -> JsonObject:
    messages: list[JsonObject] = []
    if conversation.system is not None:
        messages.append({"role": "system", "content": conversation.system})
    for event in conversation.events:
        if isinstance(event, User):
            messages.append({"role": "user", "content": event.text})
        elif isinstance(event, Assistant):
            message: JsonObject = {"role": "assistant", "content": event.text}
            if event.calls:
                message["tool_calls"] = [
                    {"id": i, "type": "function", "function": {"name": "tool", "arguments": "{}"}}
                    for i in event.calls
                ]
            messages.append(message)
        else:
            messages += [{"role": "tool", "tool_call_id": i, "content": out} for i, out in event.outputs]
    return {"model": model, "messages": messages}


def responses_request(conversation: Conversation, model: str = "gpt-5") -> JsonObject:
    items: list[JsonObject] = []
    if conversation.system is not None:
        items.append({"role": "developer", "content": conversation.system})
    for event in conversation.events:
        if isinstance(event, User):
            items.append({"role": "user", "content": event.text})
        elif isinstance(event, Assistant):
            if event.reasoning is not None:
                summary = [{"type": "summary_text", "text": event.reasoning}]
                items.append({"type": "reasoning", "id": "rs_1", "summary": summary})
            if event.text is not None:
                part = {"type": "output_text", "text": event.text, "annotations": []}
                items.append({"type": "message", "role": "assistant", "id": "msg_1", "content": [part]})
            items += [
                {"type": "function_call", "call_id": i, "name": "tool", "arguments": "{}"}
                for i in event.calls
            ]
        else:
            items += [
                {"type": "function_call_output", "call_id": i, "output": out} for i, out in event.outputs
            ]
    return {"model": model, "input": items}


def anthropic_request(conversation: Conversation, model: str = "claude-sonnet-5") -> JsonObject:
    """Tool results and the user text after them go in one user message, as Anthropic requires."""
    messages: list[JsonObject] = []
    for event in conversation.events:
        if isinstance(event, Assistant):
            blocks: list[JsonObject] = []
            if event.reasoning is not None:
                blocks.append({"type": "thinking", "thinking": event.reasoning, "signature": ""})
            if event.text is not None:
                blocks.append({"type": "text", "text": event.text})
            blocks += [{"type": "tool_use", "id": i, "name": "tool", "input": {}} for i in event.calls]
            messages.append({"role": "assistant", "content": blocks})
            continue
        if isinstance(event, User):
            new: list[JsonObject] = [{"type": "text", "text": event.text}]
        else:
            new = [{"type": "tool_result", "tool_use_id": i, "content": out} for i, out in event.outputs]
        if messages and messages[-1]["role"] == "user":
            messages[-1]["content"] += new
        else:
            messages.append({"role": "user", "content": new})
    request: JsonObject = {"model": model, "max_tokens": 64, "messages": messages}
    if conversation.system is not None:
        request["system"] = conversation.system
    return request


@dataclass(frozen=True)
class Api:
    key: str
    request: Any
    match_model: type[Any]
    mismatch: Any
    body: JsonObject
    """The body of a catch-all ``contains`` mock (what the builder writes without a ``when_*``)."""

    def __str__(self) -> str:
        return self.key

    def match(self, **keys: Any) -> Any:
        return self.match_model.model_validate({"match_type": "contains", **self.body, **keys})


CHAT = Api("openai", chat_request, OpenAIRequestMatch, chat_mismatch, {"message": {}})
RESPONSES = Api(
    "openai_response",
    responses_request,
    OpenAIResponseRequestMatch,
    responses_mismatch,
    {"input": ""},
)
ANTHROPIC = Api(
    "anthropic",
    anthropic_request,
    AnthropicRequestMatch,
    anthropic_mismatch,
    {"message": {}},
)
CONVERSATION_APIS = (CHAT, RESPONSES, ANTHROPIC)


# --- turn -----------------------------------------------------------------------------------------


@given(conversation=conversations(), want=st.integers(0, 5))
def test_turn_counts_assistant_turns_alike_on_the_three_apis(conversation: Conversation, want: int) -> None:
    """The same conversation has as many assistant turns on chat (assistant messages), Anthropic
    (assistant messages) and Responses (runs of model-produced items: reasoning, a message and
    parallel function calls are one turn); a ``turn`` rule holds exactly on that number.

    Mutations caught: Responses counting every model-produced item (parallel calls, reasoning
    before a message) instead of runs of them; chat counting ``tool`` messages as turns.
    """
    chat, responses, claude = (api.request(conversation) for api in CONVERSATION_APIS)
    assert (
        chat_turns(chat)
        == responses_turns(responses)
        == anthropic_turns(claude)
        == conversation.assistant_turns
    )
    for api, request in zip(CONVERSATION_APIS, (chat, responses, claude), strict=True):
        holds = api.mismatch(api.match(turn=want), request) is None
        assert holds == (want == conversation.assistant_turns), api


# --- tool_results ---------------------------------------------------------------------------------


@st.composite
def near_ids(draw: st.DrawFn, call_id: str) -> str:
    """A different id that a careless match would confuse with ``call_id``: a proper prefix or an
    extension of it."""
    if len(call_id) > 1 and draw(st.booleans()):
        return call_id[: draw(st.integers(1, len(call_id) - 1))]
    return call_id + draw(st.text("0123456789_abcXYZ-", min_size=1, max_size=3))


@pytest.mark.parametrize("api", CONVERSATION_APIS, ids=str)
@given(conversation=conversations(), data=st.data())
def test_a_tool_result_id_matches_itself_only(
    api: Api, conversation: Conversation, data: st.DataObject
) -> None:
    """Every id the request has a result for holds, alone or together, in any order; an id that is
    a prefix or an extension of a result's id, with no result of its own, never does.

    Mutations caught: ids compared by substring (``call_1`` finding ``call_10``) or by prefix; a
    rule with several ids holding when one of them has a result.
    """
    request = api.request(conversation)
    present = sorted(conversation.result_ids)
    if present:
        wanted = data.draw(st.lists(st.sampled_from(present), min_size=1, unique=True))
        assert api.mismatch(api.match(tool_results=data.draw(st.permutations(wanted))), request) is None
        near = data.draw(near_ids(data.draw(st.sampled_from(present))))
    else:
        near = data.draw(s.ids("call_"))
    assume(near not in conversation.result_ids)
    reason = api.mismatch(api.match(tool_results=[*present[:1], near]), request)
    assert reason is not None
    assert reason.startswith(f'tool_results: no result for "{near}"')


# --- history_contains -----------------------------------------------------------------------------


@st.composite
def needles(draw: st.DrawFn, conversation: Conversation) -> str:
    """Often a piece of some text of the conversation, of its system prompt, or one that spans two
    texts as if they were joined by a newline; else any text."""
    texts = conversation.texts
    kind = draw(st.sampled_from(["text", "text", "system", "system", "across", "across", "any"]))
    if kind == "system" and conversation.system:
        source = conversation.system
    elif kind == "across" and len(texts) > 1:
        i = draw(st.integers(0, len(texts) - 2))
        first, second = texts[i], texts[i + 1]
        return first[draw(st.integers(0, len(first))) :] + "\n" + second[: draw(st.integers(0, len(second)))]
    elif kind != "any":
        source = draw(st.sampled_from(texts))
    else:
        return draw(s.texts(max_size=4))
    start = draw(st.integers(0, len(source)))
    return source[start : draw(st.integers(start, len(source)))]


@pytest.mark.parametrize("api", CONVERSATION_APIS, ids=str)
@given(conversation=conversations(), data=st.data())
def test_history_contains_holds_iff_some_message_text_contains_it(
    api: Api, conversation: Conversation, data: st.DataObject
) -> None:
    """``history_contains: [t]`` holds exactly when ``t`` occurs in one of the conversation's
    texts (user messages, assistant text, tool outputs, the last message included), never
    because of the system prompt alone.

    Mutations caught: the last message left out of the history; the system prompt searched too;
    the texts of the messages joined before searching (a needle across two messages matched).
    """
    needle = data.draw(needles(conversation))
    holds = api.mismatch(api.match(history_contains=[needle]), api.request(conversation)) is None
    assert holds == any(needle in text for text in conversation.texts)


# --- regex ---------------------------------------------------------------------------------------


@given(conversation=conversations(), data=st.data())
def test_a_regex_of_an_escaped_text_is_the_contains_rule_of_that_text(
    conversation: Conversation, data: st.DataObject
) -> None:
    """``regex`` with ``re.escape(t)`` matches the same requests as ``contains`` with ``t`` (chat,
    Anthropic, embeddings, a string Responses input); on a list input, Responses ``contains``
    also searches the last item's JSON, so there the regex is the stricter rule.

    Mutations caught: the regex matched against the start of the text only (``re.match``); the
    Anthropic regex run on the joined text blocks rather than on each block.
    """
    last_user = next(e.text for e in reversed(conversation.events) if isinstance(e, User))
    needle = data.draw(st.one_of(needles(conversation), st.just(last_user[1:])))
    escaped = re.escape(needle)

    chat = chat_request(conversation)
    chat_rule = {"role": chat["messages"][-1]["role"]}
    assert (
        chat_mismatch(OpenAIRequestMatch(match_type="regex", message={**chat_rule, "content": escaped}), chat)
        is None
    ) == (
        chat_mismatch(
            OpenAIRequestMatch(match_type="contains", message={**chat_rule, "content": needle}), chat
        )
        is None
    )

    claude = anthropic_request(conversation)
    regex = AnthropicRequestMatch(
        match_type="regex", message={"content": [{"type": "text", "text": escaped}]}
    )
    contains = AnthropicRequestMatch(
        match_type="contains", message={"content": [{"type": "text", "text": needle}]}
    )
    assert (anthropic_mismatch(regex, claude) is None) == (anthropic_mismatch(contains, claude) is None)

    regex_input = OpenAIResponseRequestMatch(match_type="regex", input=escaped)
    contains_input = OpenAIResponseRequestMatch(match_type="contains", input=needle)
    as_string = {"input": last_user}
    assert (responses_mismatch(regex_input, as_string) is None) == (
        responses_mismatch(contains_input, as_string) is None
    )
    as_list = responses_request(conversation)
    if responses_mismatch(regex_input, as_list) is None:
        assert responses_mismatch(contains_input, as_list) is None

    embeddings = {"input": list(conversation.texts)}
    assert (
        embeddings_mismatch(OpenAIEmbeddingRequestMatch(match_type="regex", input=escaped), embeddings)
        is None
    ) == (
        embeddings_mismatch(OpenAIEmbeddingRequestMatch(match_type="contains", input=needle), embeddings)
        is None
    )


# --- the index agrees with a scan ------------------------------------------------------------------

MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-5", "claude-sonnet-5")


@st.composite
def model_rules(draw: st.DrawFn) -> JsonObject:
    kind = draw(st.sampled_from(["exact", "contains", "regex"]))
    model = draw(st.sampled_from(MODELS))
    if kind == "contains":
        model = model[draw(st.integers(0, 3)) :]
    elif kind == "regex":
        model = "^" + re.escape(model[: draw(st.integers(1, len(model)))])
    return {"value": model, "match_type": kind}


@st.composite
def conversation_rules(draw: st.DrawFn, conversation: Conversation, api: str) -> JsonObject:
    """Request-wide rules drawn near the conversation, so that about half of them hold."""
    rules: JsonObject = {}
    if draw(st.booleans()):
        rules["model"] = draw(model_rules())
    if api == "openai_embeddings":
        return rules
    if draw(st.booleans()):
        rules["turn"] = conversation.assistant_turns + draw(st.sampled_from([0, 0, 1, -1]))
        rules["turn"] = max(rules["turn"], 0)
    if draw(st.booleans()):
        rules["history_contains"] = draw(st.lists(needles(conversation), min_size=1, max_size=2))
    if draw(st.booleans()):
        present = sorted(conversation.result_ids)
        pool = st.sampled_from(present) if present else s.ids("call_")
        rules["tool_results"] = draw(st.lists(st.one_of(pool, s.ids("call_")), min_size=1, max_size=2))
    if api == "openai_response" and draw(st.booleans()):
        rules["input_item"] = draw(st.sampled_from(["user", "function_call_output"]))
    if api in ("openai", "anthropic") and draw(st.booleans()):
        rules["system_contains"] = [draw(needles(conversation))]
    return rules


def _last_text(api: str, request: JsonObject) -> str:
    """The text a body rule looks at: the last message's (or last item's, or an input string's)."""
    if api == "openai":
        content = request["messages"][-1]["content"]
        return content if isinstance(content, str) else ""
    if api == "anthropic":
        blocks = request["messages"][-1]["content"]
        texts = [b["text"] for b in blocks if b["type"] == "text"]
        return texts[-1] if texts else ""
    if api == "openai_response":
        last = request["input"][-1]
        return str(last.get("output", last.get("content", "")))
    return str(request["input"][-1])


@st.composite
def bodies(draw: st.DrawFn, api: str, pool: list[str], request: JsonObject) -> JsonObject:
    """A body rule: ``contains`` of a needle from the pool (most of them, so that the needle index
    is used), ``regex`` (an escaped needle, or a pattern), or ``exact`` (often of the request's own
    last message or input, so that exact mocks match too)."""
    kind = draw(st.sampled_from(["contains", "contains", "contains", "regex", "exact"]))
    needle = draw(st.sampled_from(pool))
    if kind == "regex":
        needle = draw(st.sampled_from([re.escape(needle), "^" + re.escape(needle[:1]), ".", r"\d"]))
    if kind == "exact":
        own = draw(st.booleans())
        if api in ("openai", "anthropic"):
            message = request["messages"][-1] if own else {"role": "user", "content": needle}
            return {"match_type": kind, "message": message}
        value = request["input"] if own else needle
        if own and api == "openai_response" and draw(st.booleans()):
            value = value[-1:]  # what an input_item rule compares: the last item alone
        return {"match_type": kind, "input": value}
    if api == "openai":
        role = draw(st.sampled_from([None, "user", "tool"]))
        return {"match_type": kind, "message": {**({"role": role} if role else {}), "content": needle}}
    if api == "anthropic":
        return {"match_type": kind, "message": {"content": [{"type": "text", "text": needle}]}}
    return {"match_type": kind, "input": needle}


@dataclass(frozen=True)
class IndexedApi:
    key: str
    rules: MatchRules[Any]
    mock_model: type[Any]
    request: Any

    def __str__(self) -> str:
        return self.key


def embeddings_request(conversation: Conversation, model: str = "gpt-4o") -> JsonObject:
    return {"model": model, "input": list(conversation.texts)}


INDEXED = (
    IndexedApi("openai", CHAT_RULES, OpenAIMock, chat_request),
    IndexedApi("openai_response", RESPONSES_RULES, OpenAIResponseMock, responses_request),
    IndexedApi("openai_embeddings", EMBEDDINGS_RULES, OpenAIEmbeddingMock, embeddings_request),
    IndexedApi("anthropic", ANTHROPIC_RULES, AnthropicMock, anthropic_request),
)


@pytest.mark.parametrize("api", INDEXED, ids=str)
@given(
    conversation=conversations(
        text=st.sampled_from(["weather", "Paris", "call_1", "14:05", "日本", "x", "a b"])
    ),
    data=st.data(),
)
def test_the_index_agrees_with_a_scan_when_conversation_rules_are_present(
    api: IndexedApi, conversation: Conversation, data: st.DataObject
) -> None:
    """With 16 to 40 mocks, ``contains`` ones found through the needle index, ``regex`` ones (no
    needle) and exact ones through the dictionary, each with request-wide rules that may or may not
    hold, `MockIndex.find` returns the first mock whose rules all hold, as a scan in order does.

    Mutations caught: exact mocks from the index skipping their request-wide rules; a regex mock
    indexed by its pattern text as if it were a needle; ``input_item`` exact mocks looked up by the
    whole input's key.
    """
    model = data.draw(st.sampled_from(MODELS))
    request = api.request(conversation, model)
    last = _last_text(api.key, request)
    pool = sorted({last, *conversation.texts, "zz"})
    entries = []
    for i in range(data.draw(st.integers(16, 40))):
        rules = data.draw(conversation_rules(conversation, api.key))
        match = {**data.draw(bodies(api.key, pool, request)), **rules}
        if data.draw(st.integers(0, 9)) == 0:
            match["headers"] = [{"name": "X-Env", "value": "^prod", "match_type": "regex"}]
        entries.append({"name": f"m{i}", "match": match, "response": {}})
    mocks = [api.mock_model.model_validate(entry) for entry in entries]
    headers = data.draw(st.sampled_from([{}, {"x-env": "prod-1"}, {"x-env": "dev"}]))

    expected = next(
        (
            i
            for i, mock in enumerate(mocks)
            if api.rules.mismatch(mock.match, request) is None
            and not headers_mismatch(mock.match.headers, headers)
        ),
        None,
    )
    assert MockIndex(api.rules, mocks).find(request, headers) == expected


# --- builder → JSON → config ----------------------------------------------------------------------


@st.composite
def conversation_chains(draw: st.DrawFn) -> MockBuilder:
    """A builder whose mocks use the conversation verbs in any order and number, with or without
    one body rule (regex ones included), on every API."""
    m = mock()
    for _ in range(draw(st.integers(1, 5))):
        api = draw(st.sampled_from(["chat", "responses", "embeddings", "anthropic"]))
        b: Any = {
            "chat": m.openai_chat,
            "responses": m.openai_responses,
            "embeddings": m.openai_embeddings,
            "anthropic": m.anthropic_messages,
        }[api]()
        if draw(st.booleans()):
            b = b.when_model(draw(s.names), match_type=draw(st.sampled_from(["exact", "contains"])))
        if draw(st.booleans()):
            b = b.with_header("X-Env", re.escape(draw(s.texts(max_size=5))), match_type="regex")
        if api != "embeddings":
            for _ in range(draw(st.integers(0, 3))):
                verb = draw(st.sampled_from(["turn", "history", "results"]))
                if verb == "turn":
                    b = b.when_turn(draw(st.integers(0, 5)))
                elif verb == "history":
                    b = b.when_history_contains(*draw(st.lists(s.texts(), min_size=1, max_size=2)))
                else:
                    b = b.when_history_has_tool_results(
                        *draw(st.lists(s.ids("call_"), min_size=1, max_size=3))
                    )
        if api in ("chat", "anthropic") and draw(st.booleans()):
            b = b.when_system_contains(draw(s.texts())).when_tool_names(draw(s.names))
        body = re.escape(draw(s.texts(max_size=6)))
        if api in ("chat", "anthropic"):
            b = draw(
                st.sampled_from([b, b.when_last_message_matches(body), b.when_last_message_contains(body)])
            )
        elif api == "responses":
            b = draw(
                st.sampled_from(
                    [
                        b,
                        b.when_input_matches(body),
                        b.when_user_input_contains(body),
                        b.when_tool_output_contains(body),
                        b.when_input_item("user").when_input_matches(body),
                    ]
                )
            )
        else:
            b = draw(st.sampled_from([b, b.when_input_matches(body)]))
        if api == "embeddings":
            b.reply([0.5])
        else:
            b.reply(draw(s.texts()))
    return m


@given(m=conversation_chains(), indent=st.booleans())
def test_conversation_verbs_round_trip_through_json(m: MockBuilder, indent: bool) -> None:
    """``Config.from_json(m.to_json()) == m.build()`` with every conversation verb, and the JSON
    is stable after one trip.

    Mutation caught: a ``model`` rule dumped without its ``match_type`` (it loads back as exact).
    """
    config = m.build()
    text = m.to_json(indent=indent)
    again = Config.from_json(text)
    assert again == config
    assert again.to_json(indent=indent) == text
