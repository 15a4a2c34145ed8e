"""AWS Bedrock's Converse API, served through the per-API seam (Claude on Bedrock's InvokeModel
routes are the ``anthropic`` adapter's).

Here: its config models (`format`), what matching reads of a Converse request (`matching`), AWS's
conventions (`provider`: an ``Authorization`` header, errors named by ``x-amzn-ErrorType``), the
Converse adapter with its event streams (`converse`) and the builder verbs (`builder`). Nothing
here is imported by this package itself.
"""
