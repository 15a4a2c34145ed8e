"""The container image of the Containerfile, built and run for real with podman (and runc).

The base image is made here, from Debian's packages (debootstrap, with the machine's apt sources),
and kept between runs: as a podman image, and as a tarball under ~/.cache/mockllm-tests/. The image
is built without network: the package's wheel and its dependencies' are made on this machine and
lent to the build. Each container listens on a free port of 127.0.0.1 in the host's network, and is
removed after its test.

Under CI podman, runc and debootstrap must be installed (.ci/run installs them); elsewhere these
tests are skipped, with the reason, when one is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx2 as httpx
import openai
import pytest

from .conftest import ROOT, on_ci

TOOLS = ("podman", "runc", "debootstrap")
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mockllm-tests"
IMAGE = "localhost/mockllm-test:latest"
# crun, podman's default runtime, cannot set up cgroups or raise the limits on these machines.
PODMAN = ("podman", "--runtime", "runc")
LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000")
CONFIG = {
    "openai": [
        {
            "match": {"match_type": "contains", "message": {"role": "user", "content": "ping"}},
            "response": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}}]},
        }
    ],
    "anthropic": [
        {
            "match": {"match_type": "contains", "message": {"role": "user", "content": "ping"}},
            "response": {"content": [{"type": "text", "text": "pong from Claude"}]},
        }
    ],
}


def _tools_or_skip() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed: the container tests need podman, runc and debootstrap"
    if on_ci():
        pytest.fail(reason)  # CI installs them: their absence is a broken CI, not a reason to skip
    pytest.skip(reason)


def _run(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def _suite() -> str:
    """The machine's Debian release: its Python is the one the wheels are made for."""
    release = Path("/etc/os-release").read_text()
    found = re.search(r"^VERSION_CODENAME=\"?(\w+)", release, flags=re.MULTILINE)
    assert found, "no VERSION_CODENAME in /etc/os-release"
    return found.group(1)


def _mirror(suite: str) -> str:
    """The Debian mirror of the machine's apt sources that serves ``suite``."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, flags=re.MULTILINE))
            if suite in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
                return fields["URIs"].split()[0]
    lists = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt").glob("sources.list.d/*.list"))]
    for path in lists:
        if path.is_file():
            for line in path.read_text().splitlines():
                found = re.match(rf"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{suite}\s", line)
                if found:
                    return found.group(1)
    raise AssertionError(f"no apt source for {suite} in /etc/apt")


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One builder at a time (pytest-xdist's workers each ask for the image)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _base_image() -> str:
    """A Debian image with python3 and its venv module, made once and kept."""
    suite = _suite()
    key = hashlib.sha256(f"{suite} {BASE_PACKAGES}".encode()).hexdigest()[:12]
    name = f"localhost/mockllm-test-base:{suite}-{key}"
    if _run(*PODMAN, "image", "exists", name, check=False).returncode == 0:
        return name
    tarball = CACHE / f"base-{suite}-{key}.tar"
    if not tarball.is_file():
        with tempfile.TemporaryDirectory(dir=CACHE) as root:
            mirror = _mirror(suite)
            include = f"--include={BASE_PACKAGES}"
            _run("debootstrap", "--variant=minbase", include, suite, root, mirror, timeout=900)
            partial = tarball.with_suffix(".partial")
            _run("tar", "-C", root, "-cf", str(partial), ".", timeout=300)
            partial.rename(tarball)
    _run(*PODMAN, "import", str(tarball), name, timeout=300)
    return name


def _build_image(base: str, wheels: Path) -> None:
    # The package and its dependencies (the redis extra's too, which the image installs) as wheels,
    # with hatchling to build the package from the source inside the build: this machine's pip makes
    # them, from the index it is configured for.
    pip = (sys.executable, "-m", "pip", "--quiet")
    _run(*pip, "wheel", "--wheel-dir", str(wheels), f"{ROOT}[redis]", timeout=600)
    # The redis client needs async-timeout on a Python before 3.11.3 (Debian 12's is 3.11.2), which
    # the wheels made for this machine's Python leave out.
    _run(*pip, "download", "--dest", str(wheels), "hatchling", "async-timeout>=4.0.3", timeout=600)
    _run(
        *PODMAN,
        "build",
        "--format=docker",  # keeps the HEALTHCHECK
        "--network=none",
        *LIMITS,
        f"--build-arg=BASE_IMAGE={base}",
        "--build-arg=PIP_NO_INDEX=1",
        "--build-arg=PIP_FIND_LINKS=/wheels",
        f"--volume={wheels}:/wheels:ro",
        f"--tag={IMAGE}",
        str(ROOT),
        timeout=900,
    )


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    _tools_or_skip()
    with _locked():
        base = _base_image()
        wheels = tmp_path_factory.mktemp("wheels")
        version = _run(
            *PODMAN,
            "run",
            "--rm",
            *LIMITS,
            "--network=none",
            base,
            "python3",
            "-c",
            "import sys; print(*sys.version_info[:2])",
        ).stdout.split()
        assert version == [str(part) for part in sys.version_info[:2]], (
            f"the base's Python is {'.'.join(version)}, the wheels are made for this one's: "
            f"{sys.version_info[0]}.{sys.version_info[1]}"
        )
        _build_image(base, wheels)
    return IMAGE


@dataclass
class Container:
    name: str
    url: str
    mocks: Path

    def exec(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run(*PODMAN, "exec", self.name, *args, timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str, name: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    logs = _run(*PODMAN, "logs", name, check=False, timeout=30)
    raise AssertionError(f"{name} did not answer within {timeout} s: {logs.stdout}{logs.stderr}")


StartFn = Callable[..., Container]


@pytest.fixture
def start(image: str, tmp_path: Path) -> Iterator[StartFn]:
    """Run the image with ``tmp_path/mocks`` (holding CONFIG) mounted at /mocks; removed afterwards."""
    names: list[str] = []
    mocks = tmp_path / "mocks"
    mocks.mkdir()
    (mocks / "mocks.json").write_text(json.dumps(CONFIG))
    # The container's user is not this one: it reads the folder as anyone may.
    mocks.chmod(0o755)
    tmp_path.chmod(0o755)

    def run(*args: str, env: dict[str, str] | None = None, mount: bool = True) -> Container:
        name = f"mockllm-test-{uuid.uuid4().hex[:12]}"
        names.append(name)
        port = _free_port()
        options = [f"--env={key}={value}" for key, value in (env or {}).items()]
        if mount:
            options.append(f"--volume={mocks}:/mocks:ro")
        _run(
            *PODMAN, "run", "--detach", f"--name={name}", *LIMITS, "--network=host",
            # No timer for the HEALTHCHECK: it needs systemd; `podman healthcheck run` still runs it.
            "--health-interval=disable",
            # The image listens on 0.0.0.0; here, in the host's network, on loopback only.
            "--env=MOCKLLM_HOST=127.0.0.1", f"--env=MOCKLLM_PORT={port}",
            *options, image, *args,
            timeout=60,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, name)
        return Container(name, url, mocks)

    yield run
    for name in names:
        _run(*PODMAN, "rm", "--force", "--time=0", name, check=False, timeout=60)


def test_ready_within_seconds_of_run(start: StartFn) -> None:
    started = time.monotonic()
    start()
    # 2 s is the aim (about 0.4 s here); the bound holds on a busy machine.
    assert time.monotonic() - started < 10


def test_the_sdks_get_their_answers_from_a_mounted_config(start: StartFn) -> None:
    container = start()
    client = openai.OpenAI(base_url=f"{container.url}/v1", api_key="test", max_retries=0, timeout=10)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "ping"}]
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert reply.choices[0].message.content == "pong"
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "pong"

    claude = anthropic.Anthropic(base_url=container.url, api_key="test", max_retries=0, timeout=10)
    message = claude.messages.create(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "ping"}]
    )
    assert message.content[0].text == "pong from Claude"  # type: ignore[union-attr]
    with claude.messages.stream(
        model="claude", max_tokens=10, messages=[{"role": "user", "content": "ping"}]
    ) as streamed:
        assert "".join(streamed.text_stream) == "pong from Claude"


def test_the_built_in_example_when_no_config_is_mounted(start: StartFn) -> None:
    container = start(mount=False)
    client = openai.OpenAI(base_url=f"{container.url}/v1", api_key="test", max_retries=0, timeout=10)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
    )
    assert reply.choices[0].message.content == "Hello! I am a mock. How can I help?"


def test_the_admin_api_takes_the_token_from_the_environment(start: StartFn) -> None:
    container = start(env={"MOCKLLM_ADMIN_TOKEN": "s3cret"})
    assert httpx.get(f"{container.url}/__mockllm/mocks", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.get(f"{container.url}/__mockllm/mocks", headers=wrong, timeout=10).status_code == 401
    right = {"Authorization": "Bearer s3cret"}
    assert httpx.get(f"{container.url}/__mockllm/mocks", headers=right, timeout=10).status_code == 200


def test_serve_flags_are_passed_through(start: StartFn, tmp_path: Path) -> None:
    (tmp_path / "mocks" / "token").write_text("from-a-file\n")
    container = start(
        "serve", "--config", "/mocks/mocks.json", "--admin-token-file", "/mocks/token", "--journal-size", "1"
    )
    assert httpx.get(f"{container.url}/__mockllm/requests", timeout=10).status_code == 401
    client = openai.OpenAI(base_url=f"{container.url}/v1", api_key="test", max_retries=0, timeout=10)
    for _ in range(2):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "ping"}])
    headers = {"Authorization": "Bearer from-a-file"}
    journal = httpx.get(f"{container.url}/__mockllm/requests", headers=headers, timeout=10)
    assert journal.status_code == 200
    assert len(journal.json()["requests"]) == 1  # --journal-size 1


def test_validate_runs_as_a_command(image: str) -> None:
    done = _run(*PODMAN, "run", "--rm", *LIMITS, "--network=none", image, "validate", "/mocks/mocks.json")
    assert done.stdout.startswith("/mocks/mocks.json: ok ("), done.stdout


def test_watch_serves_an_edit_of_the_mounted_file(start: StartFn) -> None:
    container = start()
    client = openai.OpenAI(base_url=f"{container.url}/v1", api_key="test", max_retries=0, timeout=10)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "ping"}]
    assert client.chat.completions.create(model="m", messages=messages).choices[0].message.content == "pong"
    edited = json.loads(json.dumps(CONFIG))
    edited["openai"][0]["response"]["choices"][0]["message"]["content"] = "pong, edited"
    # As an editor saves: a new file renamed over the old one.
    scratch = container.mocks / "mocks.json.new"
    scratch.write_text(json.dumps(edited))
    scratch.chmod(0o644)
    scratch.rename(container.mocks / "mocks.json")
    deadline = time.monotonic() + 20
    while True:
        content = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
        if content == "pong, edited" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert content == "pong, edited"


def test_the_server_is_not_root_and_is_healthy(start: StartFn, image: str) -> None:
    container = start()
    assert container.exec("id", "-u").stdout.strip() not in {"", "0"}
    health = _run(*PODMAN, "healthcheck", "run", container.name, check=False, timeout=30)
    assert health.returncode == 0, health.stdout + health.stderr
    env = _run(*PODMAN, "image", "inspect", image, "--format", "{{json .Config.Env}}").stdout
    assert "MOCKLLM_HOST=0.0.0.0" in json.loads(env)


def test_sigterm_stops_it_cleanly_and_fast(start: StartFn) -> None:
    container = start()
    started = time.monotonic()
    # podman stop sends SIGTERM, and SIGKILL only after 10 s.
    _run(*PODMAN, "stop", "--time=10", container.name, timeout=60)
    elapsed = time.monotonic() - started
    exit_code = _run(*PODMAN, "inspect", container.name, "--format", "{{.State.ExitCode}}").stdout.strip()
    assert exit_code == "0"
    assert "mockllm: stopped" in _run(*PODMAN, "logs", container.name).stderr
    # Within a second (about 0.2 s here), under 10 s (the SIGKILL) on a busy machine.
    assert elapsed < 5
