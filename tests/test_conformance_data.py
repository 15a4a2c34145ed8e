"""The tests that need the shared conformance data: skipped with the reason where it is missing,
and failing under CI, where it must be present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent
NEEDS_DATA = {
    "test_builder_conformance.py": "kagent-e2e",
    "test_conformance.py": "kagent-e2e",
    "test_kagent_behaviour.py": "kagent-mockllm-testdata",
}
# Only collection happens in these runs: the plugins that run tests are left out.
INNER_ARGS = ("-ra", "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:hypothesispytest")
WHERE = "(shared/conformance/ is looked for beside the repository checkout)"


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Path:
    """These test modules and their conftest in a checkout with no shared/ beside it."""
    # Not named "tests": the run is in this process, where that package is already imported.
    suite = pytester.mkdir("checkout") / "suite"
    suite.mkdir()
    for name in ("__init__.py", "conftest.py", *NEEDS_DATA):
        shutil.copy(TESTS / name, suite / name)
    assert not (pytester.path / "shared").exists()
    return suite


def looked_for(suite: Path, name: str) -> str:
    return str(suite.parent.parent / "shared" / "conformance" / name)


def test_missing_data_is_skipped_with_the_reason(
    pytester: pytest.Pytester, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = pytester.runpytest_inprocess(*INNER_ARGS, suite)
    result.assert_outcomes(skipped=len(NEEDS_DATA))
    for name in sorted(set(NEEDS_DATA.values())):
        result.stdout.fnmatch_lines(
            [
                f"SKIPPED * shared conformance data not found: {looked_for(suite, name)} is missing or empty"
                f" {WHERE}; the tests that need it are skipped outside CI"
            ]
        )


def test_missing_data_fails_under_ci(
    pytester: pytest.Pytester, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_inprocess(*INNER_ARGS, suite)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=len(NEEDS_DATA))
    for module, name in NEEDS_DATA.items():
        result.stdout.fnmatch_lines(
            [
                f"*ERROR collecting *{module}*",
                f"shared conformance data not found: {looked_for(suite, name)} is missing or empty"
                f" {WHERE}; CI needs it",
            ]
        )
