"""Google's Gemini API (and Vertex AI's routes to it), served through the per-API seam.

Everything mockllm knows of Gemini lives here: the config models of its mocks (`format`), what
its matchers read of a request (`matching`), Google's conventions shared by its APIs (`provider`:
keys, errors, the model list), the ``generateContent`` adapter with its streams (`generate`), the
``embedContent`` adapter (`embed`) and the builder verbs (`builders`). Nothing here is imported by
this package itself: the assembly (``mockllm/config.py``, the server's registry, the root builder)
imports what it needs, so imports run one way.
"""
