"""The trace viewer in a real browser: headless Chromium from the system's packages, driven by
Selenium through the system's chromedriver (so Selenium never downloads a browser or a driver).

One browser serves the whole module. Every test ends by reading the browser's console: an error
there (a script error, a failed fetch) fails it. Screenshots are kept in ``.mockllm/screenshots/``;
with ``MOCKLLM_UPDATE_SCREENSHOT=1`` the README's picture of the page is taken again.

Without chromium and chromedriver these tests skip, naming what is missing; under CI they fail,
as CI installs them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import orjson
import pytest

from mockllm import Config, MockServer, mock
from mockllm.server.events import writable_entry
from mockllm.trace_file import write_trace

from .conftest import ROOT, on_ci

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402

SHOTS = ROOT / ".mockllm" / "screenshots"
README_SHOT = ROOT / "docs" / "images" / "trace-viewer.png"
WAIT = 15.0  # seconds: a busy machine may be slow, a working page is much faster

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
SYSTEM = "You are a travel assistant."


def _browser_binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path
        )
        reason = (
            f"the trace viewer's browser tests need {missing} "
            "(Debian: apt-get install chromium chromium-driver)"
        )
        if on_ci():
            pytest.fail(reason)  # CI installs them: their absence is a broken CI, not a reason to skip
        pytest.skip(reason)
    return browser, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    binary, driver = _browser_binaries()
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,800")  # a laptop's screen
    options.add_argument("--allow-file-access-from-files")
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def page(browser: WebDriver, request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    """The browser, for one test: its console is read after the test and must hold no error."""
    browser.get_log("browser")  # what earlier tests left
    yield browser
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{request.node.name}.png"))
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    mocks = mock()
    mocks.openai_chat().named("ask-weather").when_last_message_contains("weather in Paris").reply_tool_call(
        "get_weather", {"city": "Paris"}, id="call_paris"
    )
    mocks.openai_chat().named("say-weather").when_tool_result("call_paris").reply("It is sunny in Paris.")
    mocks.anthropic_messages().named("greet").when_last_message_contains("hello").reply("Hello!")
    served = MockServer(mocks).start_in_thread()
    try:
        yield served
    finally:
        served.stop_thread()


def run_agent(server: MockServer) -> None:
    """A scripted agent: a tool loop with OpenAI, then a question no mock answers (Anthropic)."""
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test-secret", max_retries=0)
    messages: list[Any] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "What is the weather in Paris?"},
    ]
    first = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear", "c": 21}'})
    client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="sk-ant-secret", max_retries=0)
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "Book me a flight to Rome"}],
        )


def wait_for(what: Callable[[], Any], message: str) -> Any:
    """``what()`` once it is true. The list redraws its rows as it scrolls and as requests come: an
    element read while it was replaced is looked for again."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            found = what()
        except StaleElementReferenceException:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


def rows(browser: WebDriver) -> list[Any]:
    return browser.find_elements(By.CSS_SELECTOR, "#rows .row")


def row_texts(browser: WebDriver) -> list[str]:
    """The rows drawn now, read at once (the list may redraw between two reads)."""
    texts: list[str] = browser.execute_script(
        "return Array.from(document.querySelectorAll('#rows .row'), (row) => row.innerText)"
    )
    return texts


def selected_position(browser: WebDriver) -> str | None:
    position: str | None = browser.execute_script(
        "return document.querySelector('#rows .row.selected')?.dataset.position ?? null"
    )
    return position


def open_row(browser: WebDriver, containing: str) -> None:
    def click() -> bool:
        row = next((r for r in rows(browser) if containing in r.text), None)
        if row is None:
            return False
        row.click()
        return True

    wait_for(click, containing)
    wait_for(lambda: browser.find_element(By.ID, "detail").is_displayed(), "the request to open")


@pytest.fixture
def run(server: MockServer, page: WebDriver) -> WebDriver:
    """The page open on a server that saw the scripted run."""
    server.journal.clear()
    run_agent(server)
    page.get(server.url + "/__mockllm/ui")
    wait_for(lambda: len(row_texts(page)) == 3, "the run's 3 requests")
    return page


def test_the_page_shows_the_run_and_a_new_request_appears_live(server: MockServer, run: WebDriver) -> None:
    texts = row_texts(run)
    assert "ask-weather" in texts[0] and "gpt-4o" in texts[0] and "weather in Paris" in texts[0]
    assert "say-weather" in texts[1]
    assert 'no mock (greet: text "hello" not found' in texts[2]  # and why the nearest missed
    assert "404" in texts[2] and "claude-sonnet-4-5" in texts[2]
    assert "error" in run.execute_script("return document.querySelectorAll('#rows .row')[2].className")
    wait_for(lambda: run.find_element(By.ID, "live").is_displayed(), "the live mark")

    claude = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="k", max_retries=0)
    claude.messages.create(
        model="claude-haiku", max_tokens=10, messages=[{"role": "user", "content": "hello"}]
    )
    wait_for(lambda: len(row_texts(run)) == 4, "the new request, without a reload")
    assert "greet" in row_texts(run)[3] and "claude-haiku" in row_texts(run)[3]

    # The journal emptied (the pytest fixture does it between tests): the page starts again.
    server.journal.clear()
    wait_for(lambda: row_texts(run) == [], "the emptied journal")
    claude.messages.create(
        model="claude-opus", max_tokens=10, messages=[{"role": "user", "content": "hello"}]
    )
    wait_for(lambda: len(row_texts(run)) == 1 and "claude-opus" in row_texts(run)[0], "the next request")


def test_filters_by_api_mock_status_and_text(run: WebDriver) -> None:
    Select(run.find_element(By.ID, "filter-api")).select_by_value("anthropic")
    assert len(row_texts(run)) == 1 and "Rome" in row_texts(run)[0]
    Select(run.find_element(By.ID, "filter-api")).select_by_value("")
    Select(run.find_element(By.ID, "filter-mock")).select_by_value("say-weather")
    assert len(row_texts(run)) == 1 and "say-weather" in row_texts(run)[0]
    Select(run.find_element(By.ID, "filter-mock")).select_by_value("")
    Select(run.find_element(By.ID, "filter-status")).select_by_value("4xx")
    assert len(row_texts(run)) == 1 and "404" in row_texts(run)[0]
    Select(run.find_element(By.ID, "filter-status")).select_by_value("")
    search = run.find_element(By.ID, "filter-text")
    search.send_keys("sunny")  # no request says it: the answer does
    assert row_texts(run) == []
    search.clear()
    search.send_keys("paris")
    assert len(row_texts(run)) == 2
    assert run.find_element(By.ID, "count").text == "2 of 3 requests"


def test_a_request_opens_into_its_conversation_answer_and_near_misses(run: WebDriver) -> None:
    open_row(run, "say-weather")
    conversation = run.find_element(By.ID, "conversation").text
    for said in (
        SYSTEM,
        "What is the weather in Paris?",
        'get_weather({"city":"Paris"})',
        "call_paris",
        '"sky"',
    ):
        assert said in conversation
    roles = [node.text for node in run.find_elements(By.CSS_SELECTOR, "#conversation .role")]
    assert roles == ["SYSTEM", "USER", "ASSISTANT", "TOOL"]
    wait_for(lambda: "It is sunny in Paris." in run.find_element(By.ID, "answer").text, "the answer")
    raw = run.find_element(By.ID, "detail").text
    assert "sk-test-secret" not in raw and "authorization" in raw  # credentials redacted

    # The keyboard moves to the next request, which opens in its place.
    run.find_element(By.ID, "viewport").send_keys(Keys.ARROW_DOWN)
    wait_for(lambda: "Rome" in run.find_element(By.ID, "conversation").text, "the next request")
    misses = wait_for(lambda: run.find_element(By.ID, "near-misses").text, "the near misses")
    assert "greet" in misses and "hello" in misses
    wait_for(lambda: run.find_elements(By.ID, "mock-this-builder"), "Mock this")
    if os.environ.get("MOCKLLM_UPDATE_SCREENSHOT") == "1":
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        run.save_screenshot(str(README_SHOT))
    run.find_element(By.ID, "viewport").send_keys(Keys.ESCAPE)
    wait_for(lambda: not run.find_element(By.ID, "detail").is_displayed(), "the request to close")


def test_light_and_dark_follow_the_system_and_a_laptop_screen_fits(run: WebDriver) -> None:
    def background() -> str:
        color: str = run.execute_script("return getComputedStyle(document.body).backgroundColor")
        return color

    light = background()
    dark_scheme = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    run.execute_cdp_cmd("Emulation.setEmulatedMedia", dark_scheme)
    dark = background()
    run.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert (light, dark) == ("rgb(255, 255, 255)", "rgb(21, 24, 30)")

    # 1280 pixels wide with a request open beside the list: nothing runs off the side.
    open_row(run, "say-weather")
    overflowing = run.execute_script(
        "return [document.documentElement, ...document.querySelectorAll('.row')]"
        ".filter((node) => node.scrollWidth > node.clientWidth + 1).length"
    )
    assert overflowing == 0


def replayed(config: Config) -> str:
    """The scripted run's unmatched request, sent again to a server of ``config``: its answer."""
    with MockServer(config) as served:
        claude = anthropic.Anthropic(base_url=served.anthropic_base_url, api_key="k", max_retries=0)
        answer = claude.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "Book me a flight to Rome"}],
        )
    return answer.content[0].text  # type: ignore[union-attr]


def shown_suggestion(browser: WebDriver) -> tuple[str, str]:
    open_row(browser, "Rome")
    builder = wait_for(lambda: browser.find_elements(By.ID, "mock-this-builder"), "Mock this")[0]
    return builder.text, browser.find_element(By.ID, "mock-this-json").text


def test_mock_this_gives_builder_code_and_json_that_match_the_request(run: WebDriver) -> None:
    code, document = shown_suggestion(run)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    from_code: Config = namespace["mocks"].build()
    from_json = Config.from_json(document)
    assert from_code == from_json
    assert replayed(from_json) == "The answer the agent should get."


def test_the_trace_file_opens_from_disk_with_no_server(
    server: MockServer, page: WebDriver, tmp_path: Path
) -> None:
    server.journal.clear()
    run_agent(server)
    trace = write_trace(
        tmp_path / "trace.html", server.journal, server.config, title="tests/test_x.py::test_run"
    )
    page.get(trace.as_uri())
    wait_for(lambda: len(row_texts(page)) == 3, "the embedded requests")
    assert "tests/test_x.py::test_run" in page.find_element(By.ID, "source").text
    assert not page.find_element(By.ID, "live").is_displayed()
    open_row(page, "say-weather")
    wait_for(
        lambda: "It is sunny in Paris." in page.find_element(By.ID, "answer").text, "the embedded answer"
    )
    code, document = shown_suggestion(page)
    assert replayed(Config.from_json(document)) == "The answer the agent should get."
    assert "mocks.anthropic_messages()" in code


def test_ten_thousand_requests_open_at_once_and_render_only_what_is_visible(
    server: MockServer, page: WebDriver, tmp_path: Path
) -> None:
    server.journal.clear()
    run_agent(server)
    entries = [writable_entry(entry.as_json()) for entry in server.journal]
    many = [{**entries[n % 3], "time": entries[0]["time"] + n / 1000} for n in range(10_000)]
    trace = tmp_path / "big.html"
    write_trace(trace, [], server.config, title="big")
    document = trace.read_text().replace('"requests":[]', '"requests":' + orjson.dumps(many).decode(), 1)
    trace.write_text(document)
    page.get(trace.as_uri())
    wait_for(lambda: page.find_element(By.ID, "count").text == "10000 requests", "10,000 requests")
    # Usable means drawn: the time from navigation to the rows shown (the figure is in
    # benchmarks/RESULTS.md, from benchmarks/trace_page_load.py; here a bound a busy machine keeps).
    shown_ms = page.execute_script(
        "return performance.getEntriesByName('mockllm:journal-shown')[0].startTime"
    )
    assert shown_ms < 5000
    assert 0 < len(row_texts(page)) < 100  # only the visible rows, not 10,000
    page.find_element(By.ID, "viewport").send_keys(Keys.HOME)
    wait_for(lambda: selected_position(page) == "0", "the first row")
    page.find_element(By.ID, "viewport").send_keys(Keys.END)
    wait_for(lambda: selected_position(page) == "9999", "the last row")
