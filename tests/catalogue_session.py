"""pytest plugin: check several entries of the broken catalogue in one session of the properties.

Loaded into a session that runs the properties, with ``tests/`` on ``PYTHONPATH``::

    RNN_CATALOGUE_ENTRIES=0,3,17 RNN_CATALOGUE_RESULTS=/tmp/results.jsonl \\
        pytest --pyargs rnn_conformance.properties -p catalogue_session --hypothesis-profile=ci

``RNN_CATALOGUE_ENTRIES`` holds indexes into :data:`broken_catalogue.CATALOGUE`. Each
broken implementation named there becomes one subject (:func:`subject_label`), replacing
the subjects the options name (:func:`rnn_conformance.running.hooks.configure.use_subjects`): a
module entry checks its class with the family's torch cell, a cell entry the family's torch
module with its class as the cell. Of the collected properties only those an entry selects
run, for its subject alone: the entry's property, among its cases those its ``-k``
expression (:attr:`broken_catalogue.Broken.keyword`) picks, as in a session of its own
(:func:`selects`). Each selected item names its entries in the user property
``catalogue_entries``.

The controller process (not xdist's workers, if any) appends one JSON line per report to
the file ``RNN_CATALOGUE_RESULTS`` names, as it arrives, so that the file survives a
session that dies: ``nodeid``, ``when``, ``outcome``, ``entries``, ``text`` (the report's
full failure or skip text, captured output included) and ``message`` (the suite's
structured failure message). :func:`read_results` folds them into one result per node id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from broken_catalogue import CATALOGUE, Broken

ENTRIES_ENV = "RNN_CATALOGUE_ENTRIES"
RESULTS_ENV = "RNN_CATALOGUE_RESULTS"
ENTRIES_PROPERTY = "catalogue_entries"
"""The user property listing the catalogue indexes an item runs for."""

_STATE = pytest.StashKey[dict[str, Any]]()


def subject_label(entry: Broken) -> str:
    """The subject's label, unique in a session: the class, ``-cell`` for a cell target."""
    return f"{entry.implementation}-cell" if entry.cell else entry.implementation


def entry_indexes(value: str) -> list[int]:
    """The catalogue indexes of ``RNN_CATALOGUE_ENTRIES`` (``"0,3,17"``)."""
    try:
        indexes = [int(part) for part in value.replace(" ", "").split(",") if part]
    except ValueError:
        indexes = []
    if not indexes or any(not 0 <= index < len(CATALOGUE) for index in indexes):
        raise pytest.UsageError(
            f"{ENTRIES_ENV}={value!r}: expected comma-separated indexes into "
            f"broken_catalogue.CATALOGUE (0 to {len(CATALOGUE) - 1})"
        )
    return indexes


def _keyword_names(item: pytest.Item, subject: Any) -> set[str]:
    """The names pytest's ``-k`` matches for ``item``, as in a session of its subject alone.

    pytest's own names (``KeywordMatcher.from_item``: the node chain, extra keywords,
    markers), with this session's subject label replaced by the family's name, the label
    the subject has in a session of its own; else a label such as ``BroadcastsHxBatchRNN``
    would match an entry's ``-k batch`` in every case.
    """
    from _pytest.mark import KeywordMatcher

    names: Iterable[str] = KeywordMatcher.from_item(item)._names
    alone = replace(subject, label="").name
    return {name.replace(subject.name, alone) for name in names}


def selects(entry: Broken, item: pytest.Item, subject: Any) -> bool:
    """Whether ``entry`` runs ``item``: its property, matching its ``-k`` expression."""
    from _pytest.mark.expression import Expression

    if getattr(item, "originalname", item.name) != entry.property:
        return False
    names = [name.lower() for name in _keyword_names(item, subject)]

    def matcher(name: str, /, **kwargs: object) -> bool:
        if kwargs:
            raise pytest.UsageError(f"{entry.keyword!r}: -k takes no call parameters")
        return any(name.lower() in candidate for candidate in names)

    return Expression.compile(entry.keyword).evaluate(matcher)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Check one subject per broken implementation of the entries instead of the options'."""
    from rnn_conformance.running.hooks.configure import use_subjects
    from rnn_conformance.running.session import UsageProblem, subject_for

    indexes = entry_indexes(os.environ.get(ENTRIES_ENV, ""))
    if not config.pluginmanager.has_plugin("rnn_conformance.running.hooks.configure"):
        raise pytest.UsageError(
            "-p catalogue_session: the session must run the properties "
            "(--pyargs rnn_conformance.properties)"
        )
    subjects: dict[str, Any] = {}
    for index in indexes:
        entry = CATALOGUE[index]
        label = subject_label(entry)
        if label in subjects:
            continue
        try:
            subjects[label] = subject_for(
                entry.family,
                impl=None if entry.cell else entry.target,
                cell_impl=entry.target if entry.cell else None,
                label=label,
            )
        except UsageProblem as exc:
            raise pytest.UsageError(f"catalogue entry {index} ({entry.id}): {exc}") from None
    use_subjects(config, list(subjects.values()))
    config.stash[_STATE] = {"indexes": indexes}
    path = os.environ.get(RESULTS_ENV)
    if path and getattr(config, "workerinput", None) is None:
        Path(path).write_text("")
        config.pluginmanager.register(_ResultsWriter(Path(path)), "catalogue_session_results")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect every item that no entry selects for its own subject."""
    from rnn_conformance.running.hooks.subjects import subject_of

    entries = [(index, CATALOGUE[index]) for index in config.stash[_STATE]["indexes"]]
    kept, dropped = [], []
    for item in items:
        subject = subject_of(item)
        chosen = []
        if subject is not None:
            chosen = [
                index
                for index, entry in entries
                if subject.label == subject_label(entry) and selects(entry, item, subject)
            ]
        if chosen:
            item.user_properties.append((ENTRIES_PROPERTY, chosen))
            kept.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _report_text(report: pytest.TestReport) -> str:
    """The report's failure or skip text, with its captured output."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        text = str(longrepr[2])
    else:
        text = "" if longrepr is None else str(longrepr)
    sections = "\n".join(f"--- {title}\n{content}" for title, content in report.sections)
    return f"{text}\n{sections}" if sections else text


class _ResultsWriter:
    """Appends one JSON line per report to the results file (the controller only)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        facts = dict(report.user_properties)
        failure = facts.get("rnn_failure") or {}
        record = {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "entries": facts.get(ENTRIES_PROPERTY, []),
            "text": "" if report.passed else _report_text(report),
            "message": failure.get("message", "") if isinstance(failure, dict) else "",
            "duration": report.duration,
        }
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")


@dataclass
class ItemResult:
    """What happened to one selected item: its worst outcome, and that phase's texts."""

    nodeid: str
    entries: list[int]
    outcome: str = "passed"
    message: str = ""
    """The suite's structured message of a failure (``rnn_failure``), if it has one."""
    text: str = ""
    """The report's full text: a failure's traceback with the falsifying example and the
    captured output, or a skip's reason."""
    duration: float = 0.0
    """Seconds, setup, call and teardown together."""

    def shows(self, fragment: str) -> bool:
        """Whether ``fragment`` is in the message or the full text."""
        return fragment in self.message or fragment in self.text

    def summary(self, limit: int = 300) -> str:
        """The message (else the text's ``E`` lines, else the text), in ``limit`` characters."""
        errors = [line[1:] for line in self.text.splitlines() if line.startswith("E ")]
        text = " ".join((self.message or "\n".join(errors) or self.text).split())
        return text if len(text) <= limit else text[: limit - 3] + "..."


_RANK: dict[str, int] = {"passed": 0, "skipped": 1, "failed": 2}


def read_results(path: Path) -> list[ItemResult]:
    """The results file's reports folded per node id, in the order they first arrived."""
    results: dict[str, ItemResult] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a dying session
            continue
        result = results.setdefault(record["nodeid"], ItemResult(record["nodeid"], []))
        result.entries = sorted(set(result.entries) | set(record["entries"]))
        result.duration += record.get("duration", 0.0)
        if _RANK[record["outcome"]] > _RANK[result.outcome]:
            result.outcome, result.message = record["outcome"], record["message"]
            result.text = record["text"]
    return list(results.values())
