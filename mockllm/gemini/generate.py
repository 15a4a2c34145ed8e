"""``POST …/models/{model}:generateContent`` and ``:streamGenerateContent``: Gemini's answers and
their streams, on the Gemini API's URLs (``/v1`` and ``/v1beta``) and Vertex AI's.

A stream is a list of whole ``GenerateContentResponse`` chunks, the text of each part in
token-sized pieces: as SSE events with ``?alt=sse`` (what the SDK asks for; no ``[DONE]``, no
``event:`` line), else as the elements of one JSON array. Each candidate's last chunk carries its
``finishReason`` (and its other fields), the stream's last chunk the ``usageMetadata``.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Hashable
from typing import Any
from urllib.parse import unquote

import orjson
from sanic import Request as HttpRequest

from ..apis import API_BY_KEY
from ..contract.shapes import ResponseType
from ..server.adapter import (
    INPUT_TOKENS,
    JSON,
    SSE,
    ApiAdapter,
    MatchStyle,
    Request,
    Streaming,
    check_model,
    check_object_list,
    estimate_tokens,
    input_tokens_plus,
)
from ..server.errors import ApiError
from ..server.faults import ERROR_MESSAGE, MALFORMED_DATA
from ..server.provider import JSON_TYPE, Endpoint, Route
from ..server.sse import SSE_HEADERS, SSE_TYPE, sse_event, sse_events, text_pieces
from ..server.usage import Prompt
from .contract import GENERATE_TERMS
from .matching import GEMINI_RULES, gemini_turns, part_text
from .provider import GEMINI

__all__ = ["ADAPTER", "JSON_ARRAY", "gemini_routes"]

JSON_ARRAY = "json-array"
"""The stream variant without ``alt=sse``: the chunks as the elements of one JSON array."""

_GEMINI_PREFIXES = ("/v1beta/models", "/v1/models")
_VERTEX_PREFIXES = (
    "/v1beta1/projects/<project>/locations/<location>/publishers/google/models",
    "/v1/projects/<project>/locations/<location>/publishers/google/models",
    "/v1beta1/publishers/google/models",  # Vertex AI express mode (an API key, no project)
    "/v1/publishers/google/models",
)


def _model_from_url(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    """The model named in the URL is the request's: ``match.model`` compares it, an answer
    without ``modelVersion`` echoes it, and the journal records the body with it."""
    target = request.match_info["target"]
    return {**body, "model": unquote(target.rpartition(":")[0])}  # boto3-style "%3A" included


def _stream_variant(request: HttpRequest, body: dict[str, Any]) -> Hashable:
    return SSE if request.args.get("alt") == "sse" else JSON_ARRAY


def gemini_routes(action: str, variant: Any = None) -> tuple[Route, ...]:
    """The routes of one of Gemini's custom methods (``generateContent``, …): on the Gemini API's
    URLs, then on Vertex AI's (which a recorder does not forward: its upstream is per project)."""
    routes = [
        Route(
            f"{prefix}/<target:path>",
            f"{prefix}/{{model}}:{action}",
            action=action,
            into_request=_model_from_url,
            variant=variant,
        )
        for prefix in _GEMINI_PREFIXES
    ]
    for prefix in _VERTEX_PREFIXES:
        shown = prefix.replace("<project>", "{project}").replace("<location>", "{location}")
        routes.append(
            Route(
                f"{prefix}/<target:path>",
                f"{shown}/{{model}}:{action}",
                action=action,
                flavor="vertex",
                into_request=_model_from_url,
                variant=variant,
                records=False,
            )
        )
    return tuple(routes)


# --- request checks ------------------------------------------------------------------------------


def _check_contents(value: Any, where: str, *, required: bool) -> None:
    check_object_list(value, where, required=required)
    for i, content in enumerate(value or ()):
        role = content.get("role")
        if role is not None and not isinstance(role, str):
            raise ApiError(
                400, f"Invalid value at '{where}[{i}].role': expected a string", param=f"{where}[{i}].role"
            )
        _check_parts(content.get("parts"), f"{where}[{i}].parts")


def _check_parts(parts: Any, where: str) -> None:
    check_object_list(parts, where, required=True, non_empty=False)
    for j, part in enumerate(parts):
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            raise ApiError(
                400, f"Invalid value at '{where}[{j}].text': expected a string", param=f"{where}[{j}].text"
            )


def validate_prompt(body: Request) -> None:
    """The checks a generateContent request and a countTokens request share."""
    check_model(body)
    _check_contents(body.get("contents"), "contents", required=True)
    instruction = body.get("systemInstruction")
    if instruction is not None:
        if not isinstance(instruction, dict):
            raise ApiError(400, "Invalid value at 'systemInstruction': expected a Content object")
        _check_parts(instruction.get("parts"), "systemInstruction.parts")
    check_object_list(body.get("tools"), "tools", required=False, non_empty=False)
    for key in ("generationConfig", "toolConfig"):
        value = body.get(key)
        if value is not None and not isinstance(value, dict):
            raise ApiError(400, f"Invalid value at '{key}': expected an object", param=key)


def count_tokens(body: Request) -> dict[str, Any]:
    """``:countTokens``: the prompt's size by the estimate the answers' usage uses."""
    validate_prompt(body)
    return {"totalTokens": prompt_tokens(body)}


def prompt_tokens(body: Request) -> int:
    """The prompt's size by `estimate_tokens`: the text of the contents and the system
    instruction, the JSON of other parts and of the tools."""
    prompt = Prompt()
    contents = list(body["contents"])
    if isinstance(body.get("systemInstruction"), dict):
        contents.append(body["systemInstruction"])
    for content in contents:
        for part in content["parts"]:
            text = part_text(part)
            if text is None:
                prompt.json(part)
            else:
                prompt.text(text)
    prompt.json_items(body.get("tools"))
    return prompt.tokens()


def describe(body: Request) -> str:
    contents = body.get("contents") or []
    last = contents[-1] if isinstance(contents, list) and contents else None
    return f"last content {orjson.dumps(last).decode()[:200]}"


# --- answers -------------------------------------------------------------------------------------


def fill(response: dict[str, Any], position: int, created: int) -> dict[str, Any]:
    out = dict(response)
    candidates = out.get("candidates")
    if candidates is None and "promptFeedback" in out:  # a blocked prompt has no candidates
        candidates = []
    if not isinstance(candidates, list) or not all(isinstance(c, dict) for c in candidates):
        raise ValueError(
            'response.candidates: expected a list of candidates ({"content": {"parts": [...]}}), '
            "or a promptFeedback for a blocked prompt"
        )
    filled = out["candidates"] = [_fill_candidate(c, i, position) for i, c in enumerate(candidates)]
    out.setdefault("responseId", f"mockllm-{position}")
    usage = out.get("usageMetadata")
    if usage is None:
        texts: list[str] = []
        for candidate in filled:
            for part in candidate["content"]["parts"]:
                text = part.get("text")
                texts.append(text if isinstance(text, str) else orjson.dumps(part).decode())
        tokens = estimate_tokens(*texts)
        out["usageMetadata"] = {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": tokens,
            "totalTokenCount": input_tokens_plus(tokens),
        }
    elif not isinstance(usage, dict):
        raise ValueError("response.usageMetadata: expected an object")
    return out


def _fill_candidate(candidate: dict[str, Any], i: int, position: int) -> dict[str, Any]:
    where = f"response.candidates[{i}]"
    out = dict(candidate)
    content = out.get("content")
    if not isinstance(content, dict):
        raise ValueError(f'{where}.content: expected a Content object ({{"parts": [...]}})')
    parts = content.get("parts", [])
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise ValueError(f"{where}.content.parts: expected a list of part objects")
    out["content"] = {
        "role": "model",
        **content,
        "parts": [_fill_part(p, j, position, f"{where}.content.parts[{j}]") for j, p in enumerate(parts)],
    }
    out.setdefault("finishReason", "STOP")
    out.setdefault("index", i)
    return out


def _fill_part(part: dict[str, Any], j: int, position: int, where: str) -> dict[str, Any]:
    out = dict(part)
    if "text" in out and not isinstance(out["text"], str):
        raise ValueError(f"{where}.text: expected a string")  # streamed in pieces
    signature = out.get("thoughtSignature")
    if signature is not None:
        # The SDK decodes it as bytes: a value that is not base64 fails the whole response.
        try:
            if not isinstance(signature, str):
                raise TypeError
            b64decode(signature + "=" * (-len(signature) % 4), validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError(f"{where}.thoughtSignature: expected base64 text") from None
    call = out.get("functionCall")
    if call is not None:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ValueError(f"{where}.functionCall: expected an object with a name")
        out["functionCall"] = {"id": f"call_mockllm_{position}_{j}", "args": {}, **call}
    return out


_LAST_CHUNK_FIELDS = ("usageMetadata", "promptFeedback")
"""Response fields the stream sends with its last chunk (the others with every chunk)."""


def _chunks(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream's chunks, each a whole GenerateContentResponse."""
    base = {k: v for k, v in response.items() if k != "candidates" and k not in _LAST_CHUNK_FIELDS}
    chunks: list[dict[str, Any]] = []
    for candidate in response["candidates"]:
        content = candidate["content"]
        rest = {k: v for k, v in candidate.items() if k not in ("content", "index")}
        index = candidate.get("index")
        pieces: list[dict[str, Any]] = []
        for part in content["parts"]:
            text = part.get("text")
            if not isinstance(text, str) or not text:
                pieces.append(part)
                continue
            plain = {k: v for k, v in part.items() if k not in ("text", "thoughtSignature")}
            split = text_pieces(text)
            pieces += [{**plain, "text": piece} for piece in split]
            if "thoughtSignature" in part:  # on the last piece, as the real API sends it
                pieces[-1]["thoughtSignature"] = part["thoughtSignature"]
        if not pieces:
            chunks.append({"candidates": [{**candidate}], **base})
            continue
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            shown = {
                "content": {"role": content.get("role"), "parts": [piece]},
                **(rest if last else {}),
                "index": index,
            }
            chunks.append({"candidates": [shown], **base})
    if not chunks:
        chunks.append({"candidates": [], **base})
    chunks[-1].update({k: response[k] for k in _LAST_CHUNK_FIELDS if k in response})
    if not chunks[-1]["candidates"]:
        del chunks[-1]["candidates"]
    return chunks


def stream_events(response: dict[str, Any], variant: Any) -> list[bytes]:
    chunks = [orjson.dumps(chunk) for chunk in _chunks(response)]
    if variant == SSE:
        return [b"data: " + chunk + b"\r\n\r\n" for chunk in chunks]
    # A JSON array, an element an event: the SDK's older readers took the stream this way.
    events = [b"[" + chunks[0]] + [b",\r\n" + chunk for chunk in chunks[1:]]
    events.append(b"]")
    return events


def render(response: dict[str, Any], variant: Any) -> bytes:
    if variant == JSON:
        return orjson.dumps(response)
    return b"".join(stream_events(response, variant))


def media(variant: Hashable) -> tuple[str, dict[str, str] | None]:
    return (SSE_TYPE, SSE_HEADERS) if variant == SSE else (JSON_TYPE, None)


def malformed_event(variant: Hashable) -> bytes:
    return MALFORMED_DATA if variant == SSE else b",{not json"


def error_event(response: dict[str, Any], position: int, variant: Hashable) -> bytes:
    """Google's error in a stream; the SDK raises it (``ServerError``) after the chunks before it."""
    error = GEMINI.error_body(GEMINI.overloaded_status, ERROR_MESSAGE)
    if variant == SSE:
        return sse_event(orjson.loads(error)).replace(b"\n\n", b"\r\n\r\n")
    return (b"[" if position == 0 else b",\r\n") + error + b"]"


def reassemble(raw: bytes) -> dict[str, Any] | None:
    """A recorded stream as the answer it streamed: the parts of each candidate in order (a text
    piece joined to the text part before it), the last value of every other field."""
    answer: dict[str, Any] = {}
    candidates: dict[int, dict[str, Any]] = {}
    for chunk in sse_events(raw):
        if not isinstance(chunk, dict) or "error" in chunk:
            return None  # the upstream failed mid-stream
        for key, value in chunk.items():
            if key != "candidates":
                answer[key] = value
        for shown in chunk.get("candidates") or ():
            index = shown.get("index", 0)
            candidate = candidates.setdefault(index, {"content": {"role": "model", "parts": []}})
            content = shown.get("content") or {}
            if content.get("role"):
                candidate["content"]["role"] = content["role"]
            for part in content.get("parts") or ():
                _append_part(candidate["content"]["parts"], part)
            candidate.update({k: v for k, v in shown.items() if k != "content"})
    if not candidates and "promptFeedback" not in answer:
        return None
    if candidates and not any("finishReason" in c for c in candidates.values()):
        return None  # cut short: no candidate finished
    answer["candidates"] = [candidates[i] for i in sorted(candidates)]
    return answer


def _append_part(parts: list[dict[str, Any]], part: dict[str, Any]) -> None:
    previous = parts[-1] if parts else None
    if (
        previous is not None
        and isinstance(previous.get("text"), str)
        and isinstance(part.get("text"), str)
        and previous.get("thought") == part.get("thought")
        and "thoughtSignature" not in previous
    ):
        parts[-1] = {**previous, **part, "text": previous["text"] + part["text"]}
    else:
        parts.append(dict(part))


def recorded_match(body: Request, style: MatchStyle) -> dict[str, Any]:
    contents = body.get("contents") or [None]
    return {"match_type": style, "message": contents[-1], "turn": gemini_turns(body)}


ADAPTER = ApiAdapter(
    spec=API_BY_KEY["gemini"],
    provider=GEMINI,
    routes=(*gemini_routes("generateContent"), *gemini_routes("streamGenerateContent", _stream_variant)),
    rules=GEMINI_RULES,
    validate=validate_prompt,
    variant=lambda body: JSON,
    is_stream=lambda variant: variant != JSON,
    fill=fill,
    response_type=ResponseType("gemini"),
    contract=GENERATE_TERMS,
    render=render,
    describe=describe,
    streaming=Streaming(
        events=stream_events,
        shortest=SSE,
        media=media,
        malformed_event=malformed_event,
        error_event=error_event,
        reassemble=reassemble,
    ),
    recorded_match=recorded_match,
    id_prefix="",
    id_field="responseId",
    model_field="modelVersion",
    endpoints=tuple(Endpoint(route, count_tokens) for route in gemini_routes("countTokens")),
    input_tokens=prompt_tokens,
)
