"""Pure matchers: does a mock's ``match`` hold for a parsed request, and if not, why.

Every check works on the request as orjson parsed it (plain dicts and lists) and returns ``None``
when the rule holds or a short reason when it does not, so the same code decides a match and
explains a 404. `MockIndex` puts the rules of one API together so that exact mocks are found by a
dictionary lookup rather than a scan.

Headers are read with ``headers.get(lower_case_name)``: a Sanic/multidict header map, or a plain
dict with lower-case keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from .config import (
    AnthropicMock,
    AnthropicRequestMatch,
    HeaderMatch,
    MatchType,
    OpenAIEmbeddingMock,
    OpenAIEmbeddingRequestMatch,
    OpenAIMock,
    OpenAIRequestMatch,
    OpenAIResponseMock,
    OpenAIResponseRequestMatch,
)

__all__ = [
    "ANTHROPIC_RULES",
    "CHAT_RULES",
    "EMBEDDINGS_RULES",
    "RESPONSES_RULES",
    "MatchRules",
    "MockIndex",
    "NeedleIndex",
    "anthropic_mismatch",
    "canonical",
    "canonical_key",
    "chat_mismatch",
    "embeddings_mismatch",
    "exact_key",
    "header_mismatch",
    "headers_mismatch",
    "printable",
    "responses_mismatch",
]

Headers = Mapping[str, str]
Request = dict[str, Any]

# Parts that stand for plain text: one such part with nothing else equals a string content.
_TEXT_PART_TYPES = frozenset({"text", "input_text"})


# --- canonical form for deep equality ----------------------------------------------------------


def canonical(value: Any) -> Any:
    """The form two messages are compared in: null-valued keys dropped, and a ``content`` that is a
    single plain text part replaced by that text (so ``"hi"`` equals ``[{"type":"text","text":"hi"}]``).
    """
    if isinstance(value, dict):
        # Strings, the common value, skip the call: this runs on the request path for exact mocks.
        out = {k: v if type(v) is str else canonical(v) for k, v in value.items() if v is not None}
        content = out.get("content")
        if isinstance(content, list) and len(content) == 1:
            part = content[0]
            if (
                isinstance(part, dict)
                and len(part) == 2
                and part.get("type") in _TEXT_PART_TYPES
                and isinstance(part.get("text"), str)
            ):
                out["content"] = part["text"]
        return out
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def canonical_key(value: Any) -> bytes:
    """A hashable key such that equal canonical forms have equal keys."""
    if type(value) is dict and all(type(v) is str for v in value.values()):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)  # already canonical: the usual message
    return orjson.dumps(canonical(value), option=orjson.OPT_SORT_KEYS)


def printable(text: str) -> str:
    """``text`` with what is not Unicode text written as escapes. A header byte that is not UTF-8
    reaches us as a lone surrogate (Sanic decodes with ``surrogateescape``) and reads ``\\xff``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode()
    return raw.decode("utf-8", "backslashreplace")


def _preview(value: Any, limit: int = 80) -> str:
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # Only a header value (text with lone surrogates) gets here: request bodies are parsed JSON.
        text = f'"{printable(value)}"' if isinstance(value, str) else printable(str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- headers --------------------------------------------------------------------------------------


def header_mismatch(rule: HeaderMatch, headers: Headers) -> str | None:
    actual = headers.get(rule.name.lower())
    if actual is None:
        return f"header {rule.name} is absent (wants {rule.match_type} {_preview(rule.value)})"
    if actual == rule.value if rule.match_type is MatchType.EXACT else rule.value in actual:
        return None
    return f"header {rule.name}: wants {rule.match_type} {_preview(rule.value)}, got {_preview(actual)}"


def headers_mismatch(rules: Sequence[HeaderMatch], headers: Headers) -> list[str]:
    return [r for r in (header_mismatch(rule, headers) for rule in rules) if r is not None]


# --- text helpers ------------------------------------------------------------------------------


def _parts_text(content: Any) -> str:
    """The text of a string content or of a list of parts, text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _text_blocks(content: Any) -> list[str]:
    """Anthropic: the texts of the top-level text blocks (or the string content)."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            b["text"]
            for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
    return []


def _input_texts(value: Any) -> list[str]:
    """Embeddings: the strings of an input (a string, or a list that may hold strings)."""
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [t for t in texts if isinstance(t, str)]


def _last_message(request: Request) -> dict[str, Any] | None:
    messages = request.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return messages[-1]
    return None


def _role_mismatch(want: Any, message: dict[str, Any]) -> str | None:
    if want is None or message.get("role") == want:
        return None
    return f"role: wants {_preview(want)}, last message has {_preview(message.get('role'))}"


def _substring_mismatch(needle: str, haystack: str, where: str) -> str | None:
    if needle in haystack:
        return None
    return f"text {_preview(needle)} not found in {where} {_preview(haystack)}"


# --- chat completions -------------------------------------------------------------------------


def chat_subject(request: Request) -> Any:
    """What a chat rule looks at: the last message."""
    return _last_message(request)


def chat_mismatch(match: OpenAIRequestMatch, request: Request) -> str | None:
    """Body rule of a chat mock (headers are checked separately)."""
    last = _last_message(request)
    if last is None:
        return "the request has no messages"
    want = match.message
    if match.match_type is MatchType.EXACT:
        if canonical_key(want) == canonical_key(last):
            return None
        return f"exact: last message {_preview(last)} differs from {_preview(want)}"
    return (
        _role_mismatch(want.get("role"), last)
        or _field_mismatch("tool_call_id", want, last)
        or _field_mismatch("name", want, last)
        or _substring_mismatch(
            _parts_text(want.get("content")), _parts_text(last.get("content")), "last message"
        )
    )


def _field_mismatch(key: str, want: dict[str, Any] | Any, last: dict[str, Any]) -> str | None:
    expected = want.get(key)
    if expected is None or last.get(key) == expected:
        return None
    return f"{key}: wants {_preview(expected)}, got {_preview(last.get(key))}"


# --- responses --------------------------------------------------------------------------------


def _responses_item(item: Any) -> Any:
    # Clients may omit "type" on easy messages ({"role", "content"}); kagent adds it, so do we.
    if isinstance(item, dict) and "type" not in item and "role" in item and "content" in item:
        return {**item, "type": "message"}
    return item


def responses_subject(request: Request) -> Any:
    """What a Responses rule looks at: the whole ``input``, easy messages typed."""
    value = request.get("input")
    if isinstance(value, list):
        return [_responses_item(item) for item in value]
    return value


def _item_text(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    if item.get("type") == "function_call_output":
        output = item.get("output")
        return _parts_text(output)
    return _parts_text(item.get("content"))


def responses_mismatch(match: OpenAIResponseRequestMatch, request: Request) -> str | None:
    actual = responses_subject(request)
    if actual is None:
        return "the request has no input"
    want = match.input
    if isinstance(want, list):
        want = [_responses_item(item) for item in want]
    if match.match_type is MatchType.EXACT:
        if canonical_key(want) == canonical_key(actual):
            return None
        return f"exact: input {_preview(actual)} differs from {_preview(want)}"
    if isinstance(want, str):
        if isinstance(actual, str):
            return _substring_mismatch(want, actual, "input")
        if not actual:
            return "the request input is an empty list"
        last = actual[-1]
        if want in _item_text(last) or want in orjson.dumps(canonical(last)).decode():
            return None
        return f"text {_preview(want)} not found in the last input item {_preview(last)}"
    # A list under contains: the mock's items are the tail of the input.
    if isinstance(actual, list) and len(want) <= len(actual):
        tail = actual[len(actual) - len(want) :]
        if canonical_key(tail) == canonical_key(want):
            return None
    return f"contains: input {_preview(actual)} does not end with {_preview(want)}"


# --- embeddings -------------------------------------------------------------------------------


def embeddings_subject(request: Request) -> Any:
    return request.get("input")


def embeddings_mismatch(match: OpenAIEmbeddingRequestMatch, request: Request) -> str | None:
    actual = request.get("input")
    want = match.input
    if match.match_type is MatchType.EXACT:
        if want == actual:
            return None
        return f"exact: input {_preview(actual)} differs from {_preview(want)}"
    if isinstance(want, str):
        if any(want in t for t in _input_texts(actual)):
            return None
        return f"text {_preview(want)} not found in input {_preview(actual)}"
    # A list under contains: every mock item is one of the input's items.
    if isinstance(actual, list) and all(item in actual for item in want):
        return None
    return f"contains: input {_preview(actual)} lacks some of {_preview(want)}"


# --- anthropic --------------------------------------------------------------------------------


def _system_text(request: Request) -> str:
    return "\n".join(_text_blocks(request.get("system")))


def anthropic_request_mismatch(match: AnthropicRequestMatch, request: Request) -> str | None:
    """kagent's request-wide rules: ``system_contains`` and ``tool_names``."""
    if match.system_contains:
        system = _system_text(request)
        for needle in match.system_contains:
            if needle not in system:
                return f"system_contains: {_preview(needle)} not in system {_preview(system)}"
    if match.tool_names:
        tools = request.get("tools")
        names = {t.get("name") for t in tools if isinstance(t, dict)} if isinstance(tools, list) else set()
        for name in match.tool_names:
            if name not in names:
                return f"tool_names: no tool named {_preview(name)} in {_preview(sorted(map(str, names)))}"
    return None


def _anthropic_block_mismatch(block: Any, last: dict[str, Any]) -> str | None:
    content = last.get("content")
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        needle = block.get("text", "")
        texts = _text_blocks(content)
        if any(needle in t for t in texts):
            return None
        return f"text {_preview(needle)} not found in last message {_preview(texts)}"
    blocks = content if isinstance(content, list) else []
    if kind == "tool_result":
        want = block.get("tool_use_id")
        ids = [b.get("tool_use_id") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        if want in ids:
            return None
        return f"tool_result: no tool_use_id {_preview(want)} in last message (has {_preview(ids)})"
    if kind == "tool_use":
        want = block.get("name")
        names = [b.get("name") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
        if want in names:
            return None
        return f"tool_use: no tool {_preview(want)} in last message (has {_preview(names)})"
    key = canonical_key(block)
    if any(canonical_key(b) == key for b in blocks):
        return None
    return f"block {_preview(block)} not in last message"


def anthropic_mismatch(match: AnthropicRequestMatch, request: Request) -> str | None:
    """Body rules of an anthropic mock: request-wide rules, then the last message."""
    reason = anthropic_request_mismatch(match, request)
    if reason is not None:
        return reason
    last = _last_message(request)
    if last is None:
        return "the request has no messages"
    want = match.message
    if match.match_type is MatchType.EXACT:
        if canonical_key(want) == canonical_key(last):
            return None
        return f"exact: last message {_preview(last)} differs from {_preview(want)}"
    reason = _role_mismatch(want.get("role"), last)
    if reason is not None:
        return reason
    content = want.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    for block in blocks:
        reason = _anthropic_block_mismatch(block, last)
        if reason is not None:
            return reason
    return None


# --- the index ----------------------------------------------------------------------------------

MockT = TypeVar("MockT", OpenAIMock, OpenAIResponseMock, OpenAIEmbeddingMock, AnthropicMock)


def _chat_needle(match: Any) -> str:
    return _parts_text(match.message.get("content"))


def _chat_haystack(request: Request) -> str:
    last = _last_message(request)
    return _parts_text(last.get("content")) if last is not None else ""


def _anthropic_needle(match: Any) -> str:
    texts = _text_blocks(match.message.get("content"))
    return texts[0] if texts else ""


def _anthropic_haystack(request: Request) -> str:
    last = _last_message(request)
    return "\n".join(_text_blocks(last.get("content"))) if last is not None else ""


def _input_needle(match: Any) -> str:
    return match.input if isinstance(match.input, str) else ""


def _responses_haystack(request: Request) -> str:
    value = responses_subject(request)
    if isinstance(value, list) and value:
        last = value[-1]
        return _item_text(last) + "\n" + orjson.dumps(canonical(last)).decode()
    return value if isinstance(value, str) else ""


def _embeddings_haystack(request: Request) -> str:
    return "\n".join(_input_texts(request.get("input")))


@dataclass(frozen=True)
class MatchRules(Generic[MockT]):
    """How the requests of one API are matched: what part of the request exact rules compare, the
    body rule, and the text a `contains` rule looks in (for the index)."""

    subject: Callable[[Request], Any]
    mismatch: Callable[[Any, Request], str | None]
    exact_subject: Callable[[Any], Any]
    """The mock's side of an exact comparison (compared with ``subject`` by `canonical_key`)."""
    needle: Callable[[Any], str]
    """Text a ``contains`` mock needs to find in the request ("" when it needs none) ..."""
    haystack: Callable[[Request], str]
    """... somewhere in this text of the request (a superset of where the rule looks)."""
    request_mismatch: Callable[[Any, Request], str | None] | None = None
    """Rules that exact mocks must pass too (anthropic ``system_contains``/``tool_names``)."""


CHAT_RULES: MatchRules[OpenAIMock] = MatchRules(
    chat_subject, chat_mismatch, lambda m: m.message, _chat_needle, _chat_haystack
)
RESPONSES_RULES: MatchRules[OpenAIResponseMock] = MatchRules(
    responses_subject,
    responses_mismatch,
    lambda m: [_responses_item(i) for i in m.input] if isinstance(m.input, list) else m.input,
    _input_needle,
    _responses_haystack,
)
EMBEDDINGS_RULES: MatchRules[OpenAIEmbeddingMock] = MatchRules(
    embeddings_subject, embeddings_mismatch, lambda m: m.input, _input_needle, _embeddings_haystack
)
ANTHROPIC_RULES: MatchRules[AnthropicMock] = MatchRules(
    chat_subject,
    anthropic_mismatch,
    lambda m: m.message,
    _anthropic_needle,
    _anthropic_haystack,
    anthropic_request_mismatch,
)

# Needles are bucketed by one window of a few characters; a request looks up each window of its text.
_GRAM = 4


def _windows(needle: str) -> set[str]:
    if len(needle) <= _GRAM:
        return {needle}
    return {needle[i : i + _GRAM] for i in range(len(needle) - _GRAM + 1)}


class NeedleIndex:
    """Finds the ``contains`` mocks whose needle may occur in a text without testing each one:
    the cost follows the length of the text, not the number of mocks."""

    def __init__(self, needles: Sequence[tuple[int, str]]) -> None:
        self.size = len(needles)
        # Any window of a needle will do as its key, since the text holds them all when it holds
        # the needle; the rarest one keeps buckets small when needles share a prefix or suffix.
        # The windows are made twice rather than kept between the passes: kept, they would cost a
        # set of strings per needle at once (about 65 MB for 50,000 needles).
        frequency: Counter[str] = Counter()
        for _, needle in needles:
            frequency.update(_windows(needle))
        self._grams: dict[str, list[int]] = {}
        for position, needle in needles:
            key = min(_windows(needle), key=frequency.__getitem__)
            self._grams.setdefault(key, []).append(position)
        self._short_lengths = sorted({len(gram) for gram in self._grams if len(gram) < _GRAM})

    def candidates(self, text: str) -> set[int]:
        found: set[int] = set()
        grams = self._grams
        for length in (*self._short_lengths, _GRAM):
            for start in range(len(text) - length + 1):
                bucket = grams.get(text[start : start + length])
                if bucket is not None:
                    found.update(bucket)
        return found


Refusal = Callable[[Any], "str | None"]
"""Why a mock whose rules hold must step aside now (used up, scenario elsewhere), or None."""


def exact_key(rules: MatchRules[MockT], mock: MockT) -> bytes:
    """The index key of an exact mock: equal to `canonical_key` of the requests it matches."""
    # orjson's bytes keep a 4 KiB buffer whatever their length: a key kept for long is a copy.
    return bytes(memoryview(canonical_key(rules.exact_subject(mock.match))))


class MockIndex(Generic[MockT]):
    """The mocks of one API in the order they are tried. `find` returns the position of the first
    mock whose body rule and header rules hold. Exact mocks come from a dictionary keyed by the
    canonical request; ``contains`` mocks, when there are many, from an index of the text each
    needs to find.

    ``key_of`` gives the key of an exact mock (`exact_key` by default): a caller that rebuilds the
    index often keeps the keys of the mocks it has seen.
    """

    def __init__(
        self,
        rules: MatchRules[MockT],
        mocks: Sequence[MockT],
        key_of: Callable[[MockT], bytes] | None = None,
    ) -> None:
        self.rules: MatchRules[MockT] = rules
        self.mocks: list[MockT] = list(mocks)
        self._exact: dict[bytes, list[int]] = {}
        self._contains: list[int] = []
        self._needleless: list[int] = []
        needles: list[tuple[int, str]] = []
        for position, mock in enumerate(self.mocks):
            if mock.match.match_type is MatchType.EXACT:
                key = exact_key(rules, mock) if key_of is None else key_of(mock)
                self._exact.setdefault(key, []).append(position)
                continue
            self._contains.append(position)
            needle = rules.needle(mock.match)
            if needle:
                needles.append((position, needle))
            else:
                self._needleless.append(position)
        self._needles = NeedleIndex(needles)

    def _contains_candidates(self, request: Request) -> list[int]:
        # Scanning costs a check per mock; the index a few lookups per character of the text.
        # Use the index only when it is the cheaper of the two.
        if self._needles.size < 16:
            return self._contains
        text = self.rules.haystack(request)
        if len(text) > 4 * self._needles.size:
            return self._contains
        found = self._needles.candidates(text)
        if not self._needleless:
            return sorted(found)
        return sorted(found.union(self._needleless))

    def _candidates(self, request: Request) -> list[int]:
        contains = self._contains_candidates(request) if self._contains else self._contains
        exact: list[int] = []
        if self._exact:
            subject = self.rules.subject(request)
            if subject is not None:
                exact = self._exact.get(canonical_key(subject), [])
        if not exact:
            return contains
        if not contains:
            return exact
        return sorted(exact + contains)

    def same_exact_subject(self) -> list[list[int]]:
        """The positions of exact mocks that compare equal subjects, where more than one does."""
        return [positions for positions in self._exact.values() if len(positions) > 1]

    def needles_within(self, text: str) -> list[int]:
        """The ``contains`` mocks whose text may occur in ``text`` (a superset; needle-less ones
        included), in order."""
        return sorted({*self._needles.candidates(text), *self._needleless})

    def find(self, request: Request, headers: Headers, refusal: Refusal | None = None) -> int | None:
        """The first mock whose rules hold and that ``refusal`` lets answer."""
        rules = self.rules
        for position in self._candidates(request):
            mock = self.mocks[position]
            match = mock.match
            if match.match_type is MatchType.EXACT:
                if rules.request_mismatch is not None and rules.request_mismatch(match, request):
                    continue
            elif rules.mismatch(match, request) is not None:
                continue
            if match.headers and headers_mismatch(match.headers, headers):
                continue
            if refusal is not None and refusal(mock) is not None:
                continue
            return position
        return None

    def explain(
        self,
        request: Request,
        headers: Headers,
        refusal: Refusal | None = None,
        *,
        limit: int = 3,
        budget: int = 64,
    ) -> list[tuple[int, list[str]]]:
        """The nearest mocks and why each did not match: fewest reasons first, then candidates of
        the index before other mocks, then list order.

        With many mocks, only ``budget`` of them are explained, so that a 404 costs the same with
        100,000 mocks as with 100: the index's candidates (the exact mocks with this very subject,
        the ``contains`` mocks whose text may occur in the request), then the first mocks in order.
        """
        if len(self.mocks) <= budget:
            positions: Iterable[int] = range(len(self.mocks))
        else:
            nearest = dict.fromkeys(self._candidates(request)[:budget])
            nearest.update(dict.fromkeys(range(budget - len(nearest))))
            positions = nearest
        misses = []
        for rank, position in enumerate(positions):
            mock = self.mocks[position]
            reasons = []
            body = self.rules.mismatch(mock.match, request)
            if body is not None:
                reasons.append(body)
            reasons += headers_mismatch(mock.match.headers, headers)
            refused = refusal(mock) if refusal is not None else None
            if refused is not None:
                reasons.append(refused)
            misses.append((len(reasons), rank, position, reasons))
        misses.sort(key=lambda miss: miss[:2])
        return [(position, reasons) for _, _, position, reasons in misses[:limit]]
