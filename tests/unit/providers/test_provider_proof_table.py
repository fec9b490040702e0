"""providers/README.md's "Proof per provider" table: one row per installed built-in provider.

Each row names one proof kind from a fixed set (strongest first), and the summary line under the
table counts them. A provider added without a row, a row for a provider that is not installed, a
kind outside the set, or a summary that no longer adds up fails here.
"""

from __future__ import annotations

import re
from collections import Counter
from importlib.metadata import distribution
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "providers" / "README.md"

#: The proof kinds, strongest first, as providers/README.md defines them.
KINDS = (
    "sdk-both-ways",
    "sdk-verifies-ours",
    "sdk-signs",
    "published-vector",
    "independent-implementation",
    "documented-example",
    "own-signer-only",
)

ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (.*) \|$")
SUMMARY = re.compile(r"^Proof kinds \((\d+) providers\): (.+)\.$")


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _proof_section() -> str:
    return _section(README.read_text(), "### Proof per provider")


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in _proof_section().splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match[1], match[2], match[3].strip()))
    return rows


def _built_ins() -> set[str]:
    return {
        entry.name
        for entry in distribution("hookgate").entry_points
        if entry.group == "hookgate.providers"
    }


def test_every_installed_built_in_provider_has_exactly_one_row() -> None:
    names = [name for name, _, _ in _rows()]
    built_ins = _built_ins()

    assert len(built_ins) >= 100  # the entry points were found
    duplicated = sorted(name for name, n in Counter(names).items() if n > 1)
    assert duplicated == []
    assert sorted(built_ins - set(names)) == [], "providers without a row"
    assert sorted(set(names) - built_ins) == [], "rows naming no installed provider"


def test_rows_follow_the_providers_table_order() -> None:
    providers_table = _section(README.read_text(), "## Providers").split("### Proof per")[0]
    order = re.findall(r"^\| `([^`]+)` \|", providers_table, re.M)

    assert [name for name, _, _ in _rows()] == order


def test_each_kind_is_in_the_fixed_set_and_each_row_gives_evidence() -> None:
    for name, kind, evidence in _rows():
        assert kind in KINDS, f"{name}: unknown proof kind {kind!r}"
        assert evidence, f"{name}: no evidence"


def test_the_readme_defines_exactly_the_fixed_set_in_order() -> None:
    defined = re.findall(r"^- `([a-z-]+)`: ", _proof_section(), re.M)

    assert tuple(defined) == KINDS


def test_summary_line_counts_equal_the_table() -> None:
    [summary] = [m for line in _proof_section().splitlines() if (m := SUMMARY.match(line))]
    stated = {kind: int(n) for kind, n in re.findall(r"`([a-z-]+)` (\d+)", summary[2])}
    counted = Counter(kind for _, kind, _ in _rows())

    assert int(summary[1]) == len(_rows())
    assert list(stated) == list(KINDS)
    assert stated == {kind: counted.get(kind, 0) for kind in KINDS}
