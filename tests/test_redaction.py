"""Redacting key-shaped strings in text kept from elsewhere (an upstream's error message)."""

from __future__ import annotations

import pytest

from mockllm.redaction import redacted_keys


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "Incorrect API key provided: sk-proj-********************abcd.",
            "Incorrect API key provided: <redacted, 32 characters>.",
        ),
        ("x-api-key sk-ant-api03-AbC_dEf-123456", "x-api-key <redacted, 27 characters>"),
        ("key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "key=<redacted, 39 characters>"),
        ("AKIAIOSFODNN7EXAMPLE is not authorized", "<redacted, 20 characters> is not authorized"),
        ("Authorization: Bearer abc.DEF-ghi_jkl~mno", "Authorization: Bearer <redacted, 19 characters>"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "token <redacted, 40 characters>"),
        ("session 0123456789abcdefABCDEF0123456789ab", "session <redacted, 34 characters>"),
        # Words, short ids and URLs stay.
        ("Bearer token is invalid", "Bearer token is invalid"),
        ("the task-manager and sk-8 failed", "the task-manager and sk-8 failed"),
        (
            "see https://platform.openai.com/account/api-keys",
            "see https://platform.openai.com/account/api-keys",
        ),
        ("request req_123abc failed", "request req_123abc failed"),
        (
            "Rate limit reached for gpt-4o in organization org-abc",
            "Rate limit reached for gpt-4o in organization org-abc",
        ),
    ],
)
def test_redacted_keys(text: str, shown: str) -> None:
    assert redacted_keys(text) == shown
