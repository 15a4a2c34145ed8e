"""Pure matchers: does a mock's ``match`` hold for a parsed request, and if not, why.

Every check works on the request as orjson parsed it (plain dicts and lists) and returns ``None``
when the rule holds or a short reason when it does not, so the same code decides a match and
explains a 404. `MockIndex` puts the rules of one API together so that exact mocks are found by a
dictionary lookup rather than a scan.

A match has a **body rule** (``match_type`` with ``message`` or ``input``: the last turn), header
rules, and optional **request-wide rules** on the whole conversation (``model``, ``turn``,
``history_contains``, ``tool_results``, ``system_contains``, ``tool_names``). Exact mocks found
through the index have passed their body rule by construction; they still check the request-wide
rules (`MatchRules.request_mismatch`). `MockIndex` notes at build time which mocks have any, so a
mock without them does no work for them per request. Compiled patterns and id sets are made once,
when the config is validated (see ``config.py``).

Headers are read with ``headers.get(lower_case_name)``: a Sanic/multidict header map, or a plain
dict with lower-case keys.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from .config_parts import HeaderMatch, MatchType, MockBase, ModelMatch
from .redaction import redacted

__all__ = [
    "CREDENTIAL_HEADERS",
    "SYSTEM_ROLES",
    "Conversation",
    "Gate",
    "MatchRules",
    "MockIndex",
    "NeedleIndex",
    "Request",
    "always",
    "assistant_turns",
    "canonical",
    "canonical_key",
    "embeddings_input_mismatch",
    "exact_key",
    "header_mismatch",
    "headers_mismatch",
    "input_texts",
    "last_message",
    "message_mismatch",
    "model_mismatch",
    "object_messages",
    "parts_text",
    "pattern_mismatch",
    "preview",
    "printable",
    "redact_header",
    "redacted_headers",
    "role_mismatch",
    "searched",
    "substring_mismatch",
    "text_blocks",
    "tool_names_of",
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
    if type(value) is dict:
        # The usual message (every value a string) is canonical already. A loop, not all(): this
        # runs on every request to an exact mock.
        for item in value.values():
            if type(item) is not str:
                break
        else:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return orjson.dumps(canonical(value), option=orjson.OPT_SORT_KEYS)


def printable(text: str) -> str:
    """``text`` with what is not Unicode text written as escapes. A header byte that is not UTF-8
    reaches us as a lone surrogate (Sanic decodes with ``surrogateescape``) and reads ``\\xff``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode()
    return raw.decode("utf-8", "backslashreplace")


def preview(value: Any, limit: int = 80) -> str:
    """``value`` as JSON for a near miss, cut to ``limit`` characters."""
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        # Only a header value (text with lone surrogates) gets here: request bodies are parsed JSON.
        text = f'"{printable(value)}"' if isinstance(value, str) else printable(str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- headers and the model ------------------------------------------------------------------------


CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"}
)
"""Headers whose values are secrets: a near miss never shows them (404 bodies end up in logs)."""


def redact_header(name: str, value: str) -> str:
    """``value`` as it may be shown: a credential header's secret is replaced by its length."""
    if name.lower() not in CREDENTIAL_HEADERS:
        return value
    # The scheme and the length are what tell two keys apart while debugging; the key stays secret.
    # Only the authorization headers have a scheme ("Bearer"); in a cookie or an API key header
    # every word may be secret.
    scheme, _, secret = value.partition(" ")
    if not secret or not scheme.isalpha() or not name.lower().endswith("authorization"):
        scheme, secret = "", value
    shown = f"{scheme} " if scheme else ""
    return shown + redacted(secret)


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Request headers as they may be shown (a report, a log, a JSON view): names in lower case,
    credentials redacted, a repeated header's values joined with ", "."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        text = printable(redact_header(key, value))
        shown[key] = f"{shown[key]}, {text}" if key in shown else text
    return shown


def _header_value(name: str, value: str) -> str:
    return preview(redact_header(name, value))


def header_mismatch(rule: HeaderMatch, headers: Headers) -> str | None:
    name = rule.name
    actual = headers.get(name.lower())
    if actual is None:
        return f"header {name} is absent (wants {rule.match_type} {_header_value(name, rule.value)})"
    if rule.holds(actual):
        return None
    wanted, got = _header_value(name, rule.value), _header_value(name, actual)
    return f"header {name}: wants {rule.match_type} {wanted}, got {got}"


def headers_mismatch(rules: Sequence[HeaderMatch], headers: Headers) -> list[str]:
    return [r for r in (header_mismatch(rule, headers) for rule in rules) if r is not None]


def model_mismatch(rule: ModelMatch, request: Request) -> str | None:
    """``match.model``: the request's ``model`` compared like a header value; absent never matches."""
    actual = request.get("model")
    wants = f"model: wants {rule.match_type} {preview(rule.value)}"
    if not isinstance(actual, str):
        return f"{wants}, the request has no model"
    return None if rule.holds(actual) else f"{wants}, got {preview(actual)}"


def searched(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


# --- text helpers ------------------------------------------------------------------------------


def parts_text(content: Any) -> str:
    """The text of a string content or of a list of parts, text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def text_blocks(content: Any) -> list[str]:
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


def input_texts(value: Any) -> list[str]:
    """Embeddings: the strings of an input (a string, or a list that may hold strings)."""
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [t for t in texts if isinstance(t, str)]


def object_messages(request: Request) -> list[dict[str, Any]]:
    """The request's ``messages`` that are objects (the server refuses others; the matchers do not
    rely on it)."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, dict)]


def assistant_turns(request: Request) -> int:
    """``turn`` on a message list (chat, Anthropic): the number of ``assistant`` messages."""
    return sum(1 for m in object_messages(request) if m.get("role") == "assistant")


def last_message(request: Request) -> dict[str, Any] | None:
    messages = request.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return messages[-1]
    return None


def role_mismatch(want: Any, message: dict[str, Any], *, what: str = "message") -> str | None:
    if want is None or message.get("role") == want:
        return None
    return f"role: wants {preview(want)}, last {what} has {preview(message.get('role'))}"


def message_mismatch(
    match: Any,
    last: dict[str, Any] | None,
    rest: Callable[[Any, dict[str, Any]], str | None],
    *,
    what: str = "message",
) -> str | None:
    """The body rule of an API whose requests are a list of messages, on the last one (``what``
    names it in a near miss): there is none, the ``exact`` rule in the canonical form, the role;
    then ``rest(match, last)``, the API's own ``contains`` and ``regex`` rules."""
    if last is None:
        return f"the request has no {what}s"
    want = match.message
    if match.match_type is MatchType.EXACT:
        if canonical_key(want) == canonical_key(last):
            return None
        return f"exact: last {what} {preview(last)} differs from {preview(want)}"
    return role_mismatch(want.get("role"), last, what=what) or rest(match, last)


def substring_mismatch(needle: str, haystack: str, where: str) -> str | None:
    if needle in haystack:
        return None
    return f"text {preview(needle)} not found in {where} {preview(haystack)}"


def pattern_mismatch(pattern: re.Pattern[str] | None, text: str, where: str) -> str | None:
    if searched(pattern, text):
        return None
    shown = preview(pattern.pattern if pattern is not None else "")
    return f"regex {shown} not found in {where} {preview(text)}"


SYSTEM_ROLES = frozenset({"system", "developer"})
"""The roles of the system prompt (chat messages, Responses message items)."""


def tool_names_of(request: Request) -> set[str]:
    """The names of the request's tools: ``name`` (Anthropic, custom tools), ``function.name``
    (chat functions) or ``custom.name`` (chat custom tools)."""
    tools = request.get("tools")
    names: set[str] = set()
    if not isinstance(tools, list):
        return names
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        for holder in (tool, tool.get("function"), tool.get("custom")):
            if isinstance(holder, dict) and isinstance(name := holder.get("name"), str):
                names.add(name)
    return names


# --- rules on the whole conversation -------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _turn_mismatch(want: int, turns: int) -> str | None:
    if want == turns:
        return None
    return f"turn: wants {want}, the request has {_plural(turns, 'assistant turn')}"


def _tool_results_mismatch(want: Sequence[str], ids: frozenset[str], present: set[str]) -> str | None:
    if ids <= present:
        return None
    missing = next(i for i in want if i not in present)
    shown = sorted(present)
    has = ", ".join(preview(i) for i in shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
    return f"tool_results: no result for {preview(missing)} (has {has or 'none'})"


def _history_mismatch(want: Sequence[str], texts: list[str], what: str) -> str | None:
    for needle in want:
        if not any(needle in text for text in texts):
            return f"history_contains: {preview(needle)} is in none of the {_plural(len(texts), what)}"
    return None


def _system_mismatch(want: Sequence[str], system: str) -> str | None:
    for needle in want:
        if needle not in system:
            return f"system_contains: {preview(needle)} not in system {preview(system)}"
    return None


def _tool_names_mismatch(want: Sequence[str], names: set[str]) -> str | None:
    for name in want:
        if name not in names:
            return f"tool_names: no tool named {preview(name)} in {preview(sorted(names))}"
    return None


# --- the request-wide rules, over what each API's requests hold ----------------------------------


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """What the request-wide rules read of one API's requests. Each API gives the extractors its
    requests need; an extractor an API has no use for is None (its rule is never set there)."""

    turns: Callable[[Request], int] | None = None
    """``turn``: the assistant (model) turns already in the request."""
    history: Callable[[Request], list[str]] | None = None
    """``history_contains``: the texts of the conversation (the system prompt is no part of it)."""
    history_item: str = "message"
    """What one text of the history is, for a near miss: "message", "input item", …"""
    result_ids: Callable[[Request], set[str]] | None = None
    """``tool_results``: the ids of the tool calls the request answers."""
    system: Callable[[Request], str] | None = None
    """``system_contains``: the system prompt's text."""
    tool_names: Callable[[Request], set[str]] | None = None
    """``tool_names``: the names of the request's tools."""

    def has_rules(self, match: Any) -> bool:
        """Whether ``match`` has any request-wide rule (asked once per mock, when the index is
        built: read from the model's dict, as a missing field through pydantic costs microseconds,
        and a config may hold 100,000 mocks)."""
        fields = match.__dict__
        return (
            fields.get("model") is not None
            or fields.get("turn") is not None
            or bool(
                fields.get("history_contains")
                or fields.get("tool_results")
                or fields.get("system_contains")
                or fields.get("tool_names")
            )
        )

    def mismatch(self, match: Any, request: Request) -> str | None:
        """Why the request-wide rules of ``match`` do not hold (the first that fails), or None."""
        fields = match.__dict__
        system_contains = fields.get("system_contains")
        if system_contains and self.system is not None:
            reason = _system_mismatch(system_contains, self.system(request))
            if reason is not None:
                return reason
        tool_names = fields.get("tool_names")
        if tool_names and self.tool_names is not None:
            reason = _tool_names_mismatch(tool_names, self.tool_names(request))
            if reason is not None:
                return reason
        model = fields.get("model")
        if model is not None:
            reason = model_mismatch(model, request)
            if reason is not None:
                return reason
        turn = fields.get("turn")
        if turn is not None and self.turns is not None:
            reason = _turn_mismatch(turn, self.turns(request))
            if reason is not None:
                return reason
        tool_results = fields.get("tool_results")
        if tool_results and self.result_ids is not None:
            reason = _tool_results_mismatch(tool_results, match.tool_result_ids, self.result_ids(request))
            if reason is not None:
                return reason
        history = fields.get("history_contains")
        if history and self.history is not None:
            return _history_mismatch(history, self.history(request), self.history_item)
        return None


# --- embeddings' input rule (OpenAI's and Gemini's) ---------------------------------------


def embeddings_input_mismatch(match: Any, actual: Any) -> str | None:
    """The body rule of an embeddings match (``match_type`` with ``input``) on the request's input:
    a string, or a list of strings (or token ids)."""
    want = match.input
    kind = match.match_type
    if kind is MatchType.EXACT:
        if want == actual:
            return None
        return f"exact: input {preview(actual)} differs from {preview(want)}"
    if kind is MatchType.REGEX:
        pattern = match.pattern
        if any(searched(pattern, t) for t in input_texts(actual)):
            return None
        shown = preview(pattern.pattern if pattern is not None else "")
        return f"regex {shown} not found in input {preview(actual)}"
    if isinstance(want, str):
        # "" is the catch-all: it holds for token ids too, which have no text to look in.
        if not want or any(want in t for t in input_texts(actual)):
            return None
        return f"text {preview(want)} not found in input {preview(actual)}"
    # A list under contains: every mock item is one of the input's items.
    if isinstance(actual, list) and all(item in actual for item in want):
        return None
    return f"contains: input {preview(actual)} lacks some of {preview(want)}"


# --- the index ----------------------------------------------------------------------------------

MockT = TypeVar("MockT", bound=MockBase)


def always(match: Any) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class MatchRules(Generic[MockT]):
    """How the requests of one API are matched: what part of the request exact rules compare, the
    body rule, the request-wide rules, and the text a ``contains`` rule looks in (for the index)."""

    subject: Callable[[Request], Any]
    mismatch: Callable[[Any, Request], str | None]
    """Every rule of a match but its headers: the body rule and the request-wide rules."""
    body_mismatch: Callable[[Any, Request], str | None]
    """The body rule alone (``match_type`` with ``message`` or ``input``)."""
    request_mismatch: Callable[[Any, Request], str | None]
    """The request-wide rules alone, which exact mocks found through the index must pass too."""
    conversation: Conversation
    """What the request-wide rules read of a request (also what a programmable reply's function
    is given to read it)."""
    exact_subject: Callable[[Any], Any]
    """The mock's side of an exact comparison (compared with ``subject`` by `canonical_key`)."""
    needle: Callable[[Any], str]
    """Text a ``contains`` mock needs to find in the request ("" when it needs none) ..."""
    haystack: Callable[[Request], str]
    """... somewhere in this text of the request (a superset of where the rule looks)."""
    indexed: Callable[[Any], bool] = always
    """Whether an exact match can be found by the key of ``subject`` (else it is tested in turn)."""


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


Gate = Callable[[Any], "str | None"]
"""A runtime gate: why a mock whose rules hold must step aside now (used up, scenario elsewhere),
or None."""


def exact_key(rules: MatchRules[MockT], mock: MockT) -> bytes:
    """The index key of an exact mock: equal to `canonical_key` of the requests it matches."""
    # orjson's bytes keep a 4 KiB buffer whatever their length: a key kept for long is a copy.
    return bytes(memoryview(canonical_key(rules.exact_subject(mock.match))))


_NO_CANDIDATES: list[int] = []
"""No mock (shared, never changed)."""


class MockIndex(Generic[MockT]):
    """The mocks of one API in the order they are tried. `find` returns the order of the first mock
    whose rules all hold: its place in `mocks` (not in the config's list, which ``priority`` may
    reorder). Exact mocks come from a dictionary keyed by the canonical request;
    ``contains`` mocks, when there are many, from an index of the text each needs to find; ``regex``
    mocks (no text to index) are always tested.

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
        self._scanned: list[int] = []
        """The mocks tested in turn: ``contains`` and ``regex`` mocks, exact mocks not indexed."""
        self._needleless: list[int] = []
        self._checks: list[Callable[[Any, Request], str | None] | None] = []
        """Per mock, what `find` must still check of its match besides headers: for an indexed
        exact mock its request-wide rules (None if it has none), for others the body rule, with the
        request-wide rules if it has any. Decided here once, so that a rule no mock uses costs no
        request; the rule functions are shared, not bound per mock (a config may hold 100,000)."""
        needles: list[tuple[int, str]] = []
        indexed = None if rules.indexed is always else rules.indexed
        for order, mock in enumerate(self.mocks):
            match = mock.match
            wide = rules.conversation.has_rules(match)
            kind = match.match_type
            if kind is MatchType.EXACT and (indexed is None or indexed(match)):
                key = exact_key(rules, mock) if key_of is None else key_of(mock)
                self._exact.setdefault(key, []).append(order)
                self._checks.append(rules.request_mismatch if wide else None)
                continue
            self._checks.append(rules.mismatch if wide else rules.body_mismatch)
            self._scanned.append(order)
            # A regex has no needle: like a contains rule without one, it is always a candidate.
            needle = rules.needle(match) if kind is MatchType.CONTAINS else ""
            if needle:
                needles.append((order, needle))
            else:
                self._needleless.append(order)
        self._needles = NeedleIndex(needles)

    def _scanned_candidates(self, request: Request) -> list[int]:
        # Scanning costs a check per mock; the index a few lookups per character of the text.
        # Use the index only when it is the cheaper of the two.
        if self._needles.size < 16:
            return self._scanned
        text = self.rules.haystack(request)
        if len(text) > 4 * self._needles.size:
            return self._scanned
        found = self._needles.candidates(text)
        if not self._needleless:
            return sorted(found)
        return sorted(found.union(self._needleless))

    def _candidates(self, request: Request) -> list[int]:
        exact: list[int] = _NO_CANDIDATES
        if self._exact:
            subject = self.rules.subject(request)
            if subject is not None:
                exact = self._exact.get(canonical_key(subject), _NO_CANDIDATES)
            if not self._scanned:  # exact mocks alone: the lookup is the whole answer
                return exact
        scanned = self._scanned_candidates(request) if self._scanned else self._scanned
        if not exact:
            return scanned
        if not scanned:
            return exact
        return sorted(exact + scanned)

    def same_exact_subject(self) -> list[list[int]]:
        """The orders of exact mocks that compare equal subjects, where more than one does."""
        return [orders for orders in self._exact.values() if len(orders) > 1]

    def needles_within(self, text: str) -> list[int]:
        """The ``contains`` mocks whose text may occur in ``text`` (a superset; needle-less ones
        included), in order."""
        return sorted({*self._needles.candidates(text), *self._needleless})

    def find(self, request: Request, headers: Headers, gate: Gate | None = None) -> int | None:
        """The first mock whose rules hold and that ``gate`` lets answer."""
        for order in self.matching(request, headers):
            if gate is None or gate(self.mocks[order]) is None:
                return order
        return None

    def matching(self, request: Request, headers: Headers) -> Iterator[int]:
        """The mocks whose rules hold, in the order they are tried (a store's runtime gates them
        all at once)."""
        checks, mocks = self._checks, self.mocks
        for order in self._candidates(request):
            mock = mocks[order]
            check = checks[order]
            if check is not None and check(mock.match, request) is not None:
                continue
            header_rules = mock.match.headers
            if header_rules and headers_mismatch(header_rules, headers):
                continue
            yield order

    def explain(
        self,
        request: Request,
        headers: Headers,
        gate: Gate | None = None,
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
            orders: Iterable[int] = range(len(self.mocks))
        else:
            nearest = dict.fromkeys(self._candidates(request)[:budget])
            nearest.update(dict.fromkeys(range(budget - len(nearest))))
            orders = nearest
        misses = []
        for rank, order in enumerate(orders):
            mock = self.mocks[order]
            reasons = []
            body = self.rules.mismatch(mock.match, request)
            if body is not None:
                reasons.append(body)
            reasons += headers_mismatch(mock.match.headers, headers)
            refused = gate(mock) if gate is not None else None
            if refused is not None:
                reasons.append(refused)
            misses.append((len(reasons), rank, order, reasons))
        misses.sort(key=lambda miss: miss[:2])
        return [(order, reasons) for _, _, order, reasons in misses[:limit]]
