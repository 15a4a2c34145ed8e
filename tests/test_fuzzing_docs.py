"""The README's "Fuzz your agent" section and the page docs/fuzzing.md: every example runs, and
the agent's bug that each documents is found and shrunk to the one reply they show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockllm.pytest_plugin import Examples

from .conftest import code_blocks, doc_section

pytest_plugins = ["pytester"]

PAGE = "docs/fuzzing.md"
README = doc_section("README.md", "## Fuzz your agent")


def page_examples(heading: str) -> list[str]:
    return code_blocks(doc_section(PAGE, heading), "python")


def run(source: str, where: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(source, where, "exec"), namespace)
    return namespace


def shown_minimal_example(text: str) -> str:
    """The draw the documentation says hypothesis shrinks the failure to."""
    found = re.search(r"Draw 1 \(reply 1, to openai turn 0\): tool_calls\([^\n`]*\)\)", text)
    assert found is not None, "the documentation shows no shrunk example"
    return found.group(0)


@pytest.fixture
def thorough() -> Iterator[None]:
    """The documented tests run derandomized, with enough examples to find the bug they show
    whatever profile the suite loaded (the property tests' quick one draws 30)."""
    settings.register_profile("before-docs", parent=settings.default)
    settings.register_profile("docs", max_examples=200, derandomize=True, database=None, deadline=None)
    settings.load_profile("docs")
    yield
    settings.load_profile("before-docs")


def falsified_draws(test: Any, examples: Examples, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run a documented @given test; it must fail with the agent's KeyError. Returns the replies
    drawn in the falsifying example, as hypothesis reports them (in pytest's report, under the
    test's captured output)."""
    capsys.readouterr()
    with pytest.raises(KeyError, match="city") as failure:
        test(mockllm_examples=examples)
    notes = getattr(failure.value, "__notes__", [])
    assert any("data=data(...)" in note for note in notes), notes
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("Draw ")]


def test_every_block_of_the_page_and_section_is_run_or_says_why() -> None:
    for text in (README, (Path(__file__).parents[1] / PAGE).read_text()):
        for before, _ in re.findall(r"(.*)\n```(python)\n", text):
            assert before.startswith(("<!-- run by tests/test_fuzzing_docs.py -->", "<!-- not run:")), before


@pytest.mark.parametrize(
    "heading",
    ["## Programmable replies", "## Reply values", "## Python only"],
    ids=["reply_with", "values", "python"],
)
def test_page_example_runs(heading: str) -> None:
    (source,) = page_examples(heading)
    run(source, PAGE)


def test_the_readme_agent_is_falsified_by_one_reply_without_the_required_argument(
    thorough: None,
    mockllm_examples: Examples,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # hypothesis's database of examples goes here
    (source,) = code_blocks(README, "python")
    draws = falsified_draws(run(source, "README.md")["test_agent"], mockllm_examples, capsys)
    assert draws == [shown_minimal_example(README)]
    # The falsifying example ran last: the server's journal holds its one request.
    assert mockllm_examples.current is not None
    (record,) = mockllm_examples.current.requests
    assert (record.status, record.reply) == (200, "tool_calls(get_weather({}))")
    assert record.as_json()["reply"] == "tool_calls(get_weather({}))"


def test_the_page_agent_loop_is_falsified_by_the_shrunk_example_it_shows(
    thorough: None,
    mockllm_examples: Examples,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (source,) = page_examples("## Fuzzing an agent with hypothesis")
    test = run(source, PAGE)["test_weather_agent_survives_the_model"]
    draws = falsified_draws(test, mockllm_examples, capsys)
    assert draws == [shown_minimal_example(doc_section(PAGE, "## Fuzzing an agent with hypothesis"))]


def test_the_strategy_chosen_by_turn_draws_tool_calls_first_then_texts_or_errors(
    mockllm_examples: Examples,
) -> None:
    import openai

    (source,) = page_examples("## Strategies")
    by_turn = run(source, PAGE)["by_turn"]
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}

    @settings(max_examples=15, deadline=None)
    @given(st.data())
    def loop(data: st.DataObject) -> None:
        m = mockllm_examples.example()
        m.openai_chat().reply_drawn(data, by_turn)
        client = openai.OpenAI(base_url=m.openai_base_url, api_key="test", max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "Weather?"}]
        first = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[weather])
        message = first.choices[0].message
        assert message.tool_calls and {call.function.name for call in message.tool_calls} == {"get_weather"}
        messages.append(message.model_dump(exclude_none=True))
        messages += [{"role": "tool", "tool_call_id": c.id, "content": "Sunny"} for c in message.tool_calls]
        try:
            second = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[weather])
        except openai.APIStatusError as exc:
            assert exc.status_code in (429, 503)
        else:
            assert second.choices[0].message.tool_calls is None

    loop()


def test_under_pytest_the_readme_test_fails_with_the_replies_in_order_and_no_health_check(
    pytester: pytest.Pytester,
) -> None:
    (source,) = code_blocks(README, "python")
    pytester.makepyfile(test_agent=source)
    # No explain phase (a second of re-runs that say nothing here), and no database to replay from.
    pytester.makeconftest(
        """
        from hypothesis import Phase, settings
        settings.register_profile(
            "lean", max_examples=200, derandomize=True, database=None, phases=[Phase.generate, Phase.shrink]
        )
        settings.load_profile("lean")
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function", "-W", "error"
    )
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "FailedHealthCheck" not in output and "function-scoped fixture" not in output
    assert "KeyError: 'city'" in output
    result.stdout.fnmatch_lines(
        [
            f"*{shown_minimal_example(README)}*",
            "*mockllm requests (the last example)*",
            "*received 1 request(s)*",
            "*reply: tool_calls(get_weather({}))*",
        ]
    )
