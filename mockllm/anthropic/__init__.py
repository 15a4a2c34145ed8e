"""Anthropic's Messages API.

Here: Anthropic's conventions (`provider`: ``x-api-key`` and ``anthropic-version``, its error
shape, its paged model list), the Messages adapter with its answers, event streams and token count
(`messages`), and its builder verbs (`builder`). The config models are in ``format.py``, the
extractors matching needs in ``matching.py``. Nothing here is imported by this package itself.
"""
