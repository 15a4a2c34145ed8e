"""How soon the trace viewer is usable with a large journal: a trace file of N requests (10,000 by
default, the journal's size) opened in headless Chromium, and the live page of a server whose
journal holds as many; the time from navigation to the rows shown (the page's
``mockllm:journal-shown`` mark), and the time one filter takes on all of them.

    python benchmarks/trace_page_load.py --requests 10000 --runs 5

Needs chromium, chromedriver (Debian: chromium, chromium-driver) and selenium (the test extra).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mockllm.server import MockServer
from mockllm.server.journal import NearMiss, RecordedRequest
from mockllm.server.trace_page import trace_document


def journal(count: int) -> list[dict[str, object]]:
    """``count`` entries of an agent's tool loop, as the journal keeps them, one in ten unmatched."""
    entries = []
    for n in range(count):
        matched = n % 10 != 9
        entries.append(
            {
                "api": "openai",
                "method": "POST",
                "path": "/v1/chat/completions",
                "status": 200 if matched else 404,
                "mock": f"step-{n % 9}" if matched else None,
                "error": None if matched else "No mock matched.",
                "body": {
                    "model": "gpt-4o",
                    "messages": [
                        {"role": "system", "content": "You are a travel assistant."},
                        {"role": "user", "content": f"Question {n}: what is the weather in Paris?"},
                    ],
                },
                "headers": {"content-type": "application/json", "authorization": "<redacted, 51 characters>"},
                "near_misses": [] if matched else [{"mock": "step-0", "reasons": ["text not found"]}],
                "time": 1_796_000_000 + n / 100,
                "contract": [],
            }
        )
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.select import Select
    except ImportError:
        browser = None
    if browser is None or driver is None:
        print("skipped: needs chromium, chromedriver and selenium")
        return 0
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(argument)
    options.binary_location = browser
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    shown, filtered, live = [], [], []
    server = MockServer().start_in_thread()
    for entry in journal(args.requests):
        misses = tuple(NearMiss(m["mock"], tuple(m["reasons"])) for m in entry["near_misses"])  # type: ignore[attr-defined]
        server.journal.record(
            RecordedRequest(
                "POST",
                str(entry["path"]),
                entry["body"],
                {"content-type": "application/json"},
                int(entry["status"]),
                entry["mock"],
                entry["error"],
                "openai",
                misses,  # type: ignore[arg-type]
            )
        )
    try:
        for _ in range(args.runs):
            chrome.get(server.url + "/__mockllm/ui")
            live.append(
                chrome.execute_script(
                    "return await new Promise((done) => { const look = () => {"
                    "const m = performance.getEntriesByName('mockllm:journal-shown');"
                    "if (m.length) done(m[0].startTime); else setTimeout(look, 10); }; look(); });"
                )
            )
        with tempfile.TemporaryDirectory(prefix="mockllm-trace-") as tmp:
            page = Path(tmp) / "trace.html"
            page.write_text(trace_document(journal(args.requests), title="benchmark"))
            size = page.stat().st_size
            for _ in range(args.runs):
                chrome.get(page.as_uri())
                shown.append(
                    chrome.execute_script(
                        "return performance.getEntriesByName('mockllm:journal-shown')[0].startTime"
                    )
                )
                rows = len(chrome.find_elements(By.CSS_SELECTOR, "#rows .row"))
                filtered.append(
                    chrome.execute_script(
                        "const t = performance.now();"
                        "const s = document.getElementById('filter-status');"
                        "s.value = '4xx'; s.dispatchEvent(new Event('change'));"
                        "return performance.now() - t;"
                    )
                )
                Select(chrome.find_element(By.ID, "filter-status")).select_by_value("")
    finally:
        chrome.quit()
        server.stop_thread()
    print(f"# trace page load\n\n- {args.requests:,} requests, a {size / 1e6:.1f} MB file, {args.runs} runs")
    print(f"- rows in the page: {rows} (only those in view)")
    print(
        f"- navigation to rows shown: median {statistics.median(shown):.0f} ms (runs: "
        + ", ".join(f"{ms:.0f}" for ms in shown)
        + ")"
    )
    print(f"- status filter over all of them: median {statistics.median(filtered):.1f} ms")
    print(
        f"- live page, its server's journal holding as many: median {statistics.median(live):.0f} ms (runs: "
        + ", ".join(f"{ms:.0f}" for ms in live)
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
