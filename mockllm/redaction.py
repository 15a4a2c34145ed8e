"""What is never shown or written as it came: secrets, replaced by their length.

A request header that holds a credential is redacted by its name (`mockllm.matching.redact_header`);
text from elsewhere — an upstream's error message, which real providers write with part of the key
in it ("Incorrect API key provided: sk-…") — is redacted by the shape of what it holds.
"""

from __future__ import annotations

import re

__all__ = ["redacted", "redacted_keys"]


def redacted(secret: str) -> str:
    """What is shown in place of ``secret``: its length, which tells two keys apart while debugging."""
    return f"<redacted, {len(secret)} character{'s' if len(secret) != 1 else ''}>"


# A bearer token: the token68 characters of RFC 9110, long enough not to be a word ("Bearer token").
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=*-]{16,})")
_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    # OpenAI (sk-…, sk-proj-…) and Anthropic (sk-ant-…) keys, an echo masked with * included
    r"sk-[A-Za-z0-9_*-]{8,}"
    r"|AIza[A-Za-z0-9_-]{20,}"  # Google API keys
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key ids
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"  # JSON web tokens
    # Any other long run of letters and digits (both), as tokens and keys are
    r"|(?=[A-Za-z_-]*[0-9])(?=[0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}"
    r")"
)


def redacted_keys(text: str) -> str:
    """``text`` with every key- or token-shaped string in it redacted: ``sk-…``, ``sk-ant-…``,
    ``AIza…``, ``AKIA…``, a bearer token, a JSON web token, and any run of 32 or more letters and
    digits. For text that is shown or kept but not read by a program (an error message, a log line):
    long ids in it are redacted too."""
    text = _BEARER.sub(lambda found: found[1] + redacted(found[2]), text)
    return _KEY.sub(lambda found: redacted(found[0]), text)
