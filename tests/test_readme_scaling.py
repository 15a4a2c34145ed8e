"""The README's "Many workers, many replicas" section and docs/scaling.md, executed against a real
redis-server (its port put in place of the examples' 6379)."""

from __future__ import annotations

import shlex
from pathlib import Path

import httpx
import pytest

from mockllm import mock

from .conftest import code_blocks, doc_section
from .redis_store import RedisStore
from .test_shared_state import serve, stop, wait_until_serving

README = "## Many workers, many replicas"
EXAMPLE_STORE = "redis://127.0.0.1:6379/0"


def run_python(page: str, heading: str, store: RedisStore) -> None:
    blocks = code_blocks(doc_section(page, heading), "python")
    assert blocks, f"no python example under {heading!r} in {page}"
    for source in blocks:
        assert EXAMPLE_STORE in source
        exec(compile(source.replace(EXAMPLE_STORE, store.url), page, "exec"), {"__name__": "docs"})


def test_readme_two_replicas_share_a_sequence(redis_store: RedisStore) -> None:
    run_python("README.md", README, redis_store)


def test_docs_two_replicas_walk_one_scenario(redis_store: RedisStore) -> None:
    run_python("docs/scaling.md", "## What is shared", redis_store)


def test_readme_commands_serve_four_workers_on_the_store(redis_store: RedisStore, tmp_path: Path) -> None:
    (start_redis, serve_line) = code_blocks(doc_section("README.md", README), "bash")[0].strip().splitlines()
    assert start_redis.startswith("redis-server --port 6379")  # the fixture's redis-server stands in
    command = shlex.split(serve_line.replace(EXAMPLE_STORE, redis_store.url))
    assert command[:2] == ["mockllm", "serve"]
    config = tmp_path / "mocks.json"
    m = mock()
    m.openai_chat().when_last_message_contains("plan").once().reply("only once")
    config.write_text(m.build().to_json())
    args = command[2:]
    args[args.index("--config") + 1] = str(config)
    process, url = serve(config, *args)
    try:
        wait_until_serving(url, 4)
        assert httpx.get(url + "/health").json()["state"] == {"backend": "redis", "ok": True}
        ask = {"model": "gpt-4o", "messages": [{"role": "user", "content": "plan"}]}
        statuses = [
            httpx.post(
                url + "/v1/chat/completions", json=ask, headers={"authorization": "Bearer t"}
            ).status_code
            for _ in range(8)
        ]
        assert statuses == [200] + [404] * 7
    finally:
        stop(process)


@pytest.mark.parametrize("page", ["README.md", "docs/scaling.md"])
def test_every_code_block_says_whether_it_is_run(page: str) -> None:
    heading = README if page == "README.md" else None
    text = doc_section(page, heading) if heading else Path(__file__).parent.parent.joinpath(page).read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("```") and line != "```":
            assert i > 0 and lines[i - 1].startswith(("<!-- run by tests/", "<!-- not run: ")), line
