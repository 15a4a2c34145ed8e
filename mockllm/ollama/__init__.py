"""Ollama's own API (``/api/chat``, ``/api/generate``, ``/api/embed``), served through the per-API
seam.

Here: its config models (`format`), what matching reads of its requests (`matching`), Ollama's
conventions (`provider`: no key, ``{"error": "…"}`` errors, its model list), the chat and generate
adapter with its NDJSON streams (`chat`), the embeddings adapter (`embed`) and the builder verbs
(`builder`, `embed_builder`). Nothing here is imported by this package itself.
"""
