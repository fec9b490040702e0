"""The metric names a PromQL expression reads, for tests that check a dashboard's or an alert
rule's queries against real `/metrics` output.

Not a PromQL parser: strings, label matchers, ranges, the label lists of `by`/`without`/`on`/
`ignoring`/`group_left`/`group_right`, function and aggregation names and keywords are removed;
what is left that looks like a metric name is one. Enough for the expressions hookgate ships
(a test pins it on examples)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NAME = re.compile(r"(?<![\w:.$])[A-Za-z_:][A-Za-z0-9_:]*(?![\w:])")
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
        "atan2",
    }
)


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects (`up` included: Prometheus makes it, not the target)."""
    text = _STRING.sub(" ", expr)
    text = _LABEL_LIST.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for match in _NAME.finditer(text):
        name = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or name.lower() in _KEYWORDS:
            continue  # a function, an aggregation, or a keyword
        names.add(name)
    return names


def all_metric_names(exprs: Iterable[str]) -> set[str]:
    return {name for expr in exprs for name in metric_names(expr)}


def exposed_names(exposition: str) -> set[str]:
    """Every sample name in Prometheus text-format output (`_bucket`, `_total` included)."""
    names = set()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names
