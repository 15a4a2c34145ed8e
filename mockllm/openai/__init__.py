"""OpenAI's APIs (Chat Completions, Responses, embeddings) and Azure OpenAI's routes to them.

Here: OpenAI's conventions shared by its APIs (`provider`: bearer keys, its error shape, its model
list), Azure's routes (`azure`), each API's adapter with its answers and streams (`chat`,
`responses`, `embeddings`), and their builder verbs (`chat_builder`, `responses_builder`,
`embeddings_builder`). The config models are in ``format.py``, the extractors matching needs in
``matching.py``. Nothing here is imported by this package itself: the assembly imports what it
needs, so imports run one way.
"""
