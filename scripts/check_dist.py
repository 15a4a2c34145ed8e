"""Check what the built distributions hold, before they go to PyPI.

    python -m build && python scripts/check_dist.py dist

The wheel must carry the package data the server reads at run time (the response schemas of the
contract guard, the built-in example config) and ``py.typed``; the sdist the sources, the docs the
README links to, and the license. Neither may carry the tests, a virtual environment or caches.
Exits 1, listing what is wrong, otherwise 0.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import zipfile
from fnmatch import fnmatch
from pathlib import Path

WHEEL_MUST = [
    "mockllm/__init__.py",
    "mockllm/py.typed",
    "mockllm/examples/default.json",
    "mockllm/contract/schemas/openai.json",
    "mockllm/contract/schemas/anthropic.json",
    "*.dist-info/licenses/LICENSE",
    "*.dist-info/entry_points.txt",
]
SDIST_MUST = [
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "mkdocs.yml",
    "docs/getting-started.md",
    "mockllm/py.typed",
    "mockllm/contract/schemas/openai.json",
]
NEITHER = ["tests/*", ".venv/*", "*/__pycache__/*", "*.pyc", "site/*", "node_modules/*"]


def problems(names: list[str], must: list[str], kind: str) -> list[str]:
    found = [f"{kind}: missing {pattern}" for pattern in must if not any(fnmatch(n, pattern) for n in names)]
    found += [f"{kind}: should not hold {n}" for n in names if any(fnmatch(n, p) for p in NEITHER)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dist", type=Path, help="the folder python -m build wrote to")
    dist = parser.parse_args(argv).dist
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"{dist}: expected one wheel and one sdist, found {len(wheels)} and {len(sdists)}")
        return 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        found = problems(wheel.namelist(), WHEEL_MUST, wheels[0].name)
    with tarfile.open(sdists[0]) as sdist:
        # Every member sits in one top folder, mockllm_server-VERSION/.
        names = [member.name.partition("/")[2] for member in sdist.getmembers() if member.isfile()]
    found += problems(names, SDIST_MUST, sdists[0].name)
    for problem in found:
        print(problem)
    if not found:
        print(f"{wheels[0].name}, {sdists[0].name}: ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
