"""The contract guard: mocks checked against the provider's response types at load, and each
answer against the request it answers (the tools it declares, the output schema it asks for)."""
