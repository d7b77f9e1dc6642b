"""Collecting property verdicts during a run and writing the conformance report.

:class:`ReportCollector` is a pytest plugin object: it records every property's verdict
per device (xdist workers' reports included) and, for failures, the message, the
falsifying example, the ``@reproduce_failure`` blob if printed, and a command that
reruns exactly that property. :func:`conformance_matrix` renders one row per property and
one column per device; :func:`write_reports` writes ``report.json`` and ``report.md``.

Example:
    >>> r = PropertyResult("test_x", "", "cpu", "passed")
    >>> print(conformance_matrix([r]))
    | property | cpu |
    | --- | --- |
    | test_x | pass |

"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROPERTIES_DIR = Path(__file__).parent / "properties"
_NODE = re.compile(r"^(?P<file>[^:]+)::(?P<name>[^\[]+)(\[(?P<params>.*)\])?$")
_BLOB = re.compile(r"@reproduce_failure\([^\n]*\)")


@dataclass
class Failure:
    """What a failed property reports: its message, minimal example and how to rerun it."""

    message: str
    falsifying_example: str
    reproduce: str
    blob: str | None = None


@dataclass
class PropertyResult:
    """One property's verdict on one device (``params`` holds any other parameters)."""

    property: str
    params: str
    device: str
    outcome: str
    reason: str = ""
    duration_s: float = 0.0
    nodeid: str = ""
    failure: Failure | None = None

    @property
    def row(self) -> str:
        """The matrix row: the property, with its non-device parameters."""
        return f"{self.property}[{self.params}]" if self.params else self.property


def _split_params(params: str | None, device: str) -> str:
    if not params:
        return ""
    parts = params.split("-")
    if device in parts:
        parts.remove(device)
    return "-".join(parts)


_MARGIN = re.compile(r"^(E   ?|\s*[|+] ?)")
_ERROR = re.compile(r"^[\w.]*(Error|Exception|Timeout|Exit)\b.*?: ")


def _failure_text(report: pytest.TestReport) -> tuple[str, str, str | None]:
    """Split a failure into its message and Hypothesis' falsifying example; find the blob.

    Handles pytest's ``E`` lines and the ``|``-framed lines of an exception group (when
    Hypothesis found several distinct failures, the first is reported).
    """
    text = str(report.longrepr)
    lines = [_MARGIN.sub("", line, count=1) for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("Falsifying")]
    end = starts[0] if starts else len(lines)
    errors = [i for i in range(end) if _ERROR.match(lines[i].strip())]
    message = lines[errors[-1] : end] if errors else lines[max(0, end - 8) : end]
    example: list[str] = []
    for line in lines[end:]:
        if line.strip().startswith(("Explanation:", "You can reproduce", "Traceback")):
            break
        example.append(line)
    blob = _BLOB.search(text + "\n".join(content for _, content in report.sections))
    return (
        textwrap.dedent("\n".join(message)).strip(),
        textwrap.dedent("\n".join(example)).strip(),
        blob.group(0) if blob else None,
    )


class ReportCollector:
    """A pytest plugin recording every property's verdict (see module docstring)."""

    def __init__(self, rerun_prefix: list[str] | None = None) -> None:
        self.results: dict[str, PropertyResult] = {}
        self.rerun_prefix = rerun_prefix or ["python", "-m", "pytest"]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the decisive report of each test: a failure or skip anywhere, else the call."""
        if report.when != "call" and not (report.failed or report.skipped):
            return
        match = _NODE.match(report.nodeid)
        if match is None:
            return
        meta = dict(report.user_properties)
        device = str(meta.get("rnn_device", "")) or ALL_DEVICES
        result = PropertyResult(
            property=match["name"],
            params=_split_params(match["params"], device),
            device=device,
            outcome=report.outcome,
            duration_s=round(report.duration, 3),
            nodeid=report.nodeid,
        )
        if report.skipped:
            longrepr = report.longrepr
            result.reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
            result.reason = result.reason.removeprefix("Skipped: ")
        elif report.failed:
            message, example, blob = _failure_text(report)
            if report.when != "call":
                message = f"error in {report.when}: {message}"
            node = str(PROPERTIES_DIR / Path(match["file"]).name) + "::" + match["name"]
            if match["params"]:
                node += f"[{match['params']}]"
            command = [*self.rerun_prefix, node]
            result.failure = Failure(message, example, shlex.join(command), blob)
        previous = self.results.get(report.nodeid)
        if previous is None or previous.outcome == "passed" or result.outcome == "failed":
            self.results[report.nodeid] = result


ALL_DEVICES = "all devices"
"""The column of properties that compare devices rather than run on one."""

CELL = {"passed": "pass", "failed": "**FAIL**", "skipped": "skipped"}


def short_reason(reason: str, width: int = 60) -> str:
    """A skip reason short enough for a table cell (the report keeps the full one).

    >>> short_reason("target declares unsupported capability: autograd (gradients ...)")
    'lacks autograd'
    """
    prefix = "target declares unsupported capability: "
    if reason.startswith(prefix):
        names = [part.split(" (")[0] for part in reason[len(prefix) :].split("; ")]
        return "lacks " + ", ".join(names)
    return reason if len(reason) <= width else reason[: width - 3] + "..."


def conformance_matrix(results: list[PropertyResult]) -> str:
    """A Markdown table: one row per property, one column per device."""
    results = sorted(results, key=lambda r: r.nodeid)
    devices = sorted({r.device for r in results}, key=lambda d: (d == ALL_DEVICES, d))
    rows: dict[str, dict[str, PropertyResult]] = {}
    for r in results:
        rows.setdefault(r.row, {})[r.device] = r
    lines = ["| property | " + " | ".join(devices) + " |", "| --- |" + " --- |" * len(devices)]
    for row, by_device in rows.items():
        cells = []
        for device in devices:
            r = by_device.get(device)
            if r is None:
                cells.append("")
            elif r.outcome == "skipped":
                cells.append(f"skipped ({short_reason(r.reason)})")
            else:
                cells.append(CELL[r.outcome])
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class RunInfo:
    """What was run: target, devices, profile, seed, versions, exit status."""

    target: str
    cell_target: str
    devices: list[str]
    profile: str
    seed: int | None
    unsupported: list[str]
    versions: dict[str, str]
    command: str
    exit_code: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def summary_counts(results: list[PropertyResult]) -> dict[str, int]:
    """How many verdicts of each outcome."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def markdown_report(info: RunInfo, results: list[PropertyResult]) -> str:
    """The human-readable report: run facts, the matrix, then every failure in full."""
    counts = summary_counts(results)
    lines = [
        f"# RNN conformance report: {info.target}",
        "",
        f"- target: `{info.target}` (cell: `{info.cell_target}`)",
        f"- devices: {', '.join(info.devices)}",
        f"- Hypothesis profile: {info.profile}; seed: {info.seed}",
        f"- unsupported capabilities declared: {', '.join(info.unsupported) or 'none'}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in info.versions.items()),
        f"- command: `{info.command}`",
        f"- verdicts: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped (exit code {info.exit_code})",
        "",
        "## Conformance matrix",
        "",
        conformance_matrix(results),
    ]
    failures = [r for r in results if r.failure is not None]
    if failures:
        lines += ["", "## Failures"]
    for r in failures:
        assert r.failure is not None
        lines += [
            "",
            f"### {r.row} on {r.device}",
            "",
            "```text",
            r.failure.message or "(no message)",
            "```",
        ]
        if r.failure.falsifying_example:
            lines += ["", "Minimal example:", "", "```text", r.failure.falsifying_example, "```"]
        lines += ["", f"Reproduce: `{r.failure.reproduce}`"]
        if r.failure.blob:
            lines += ["", f"Or pin the example with `{r.failure.blob}`."]
    return "\n".join(lines) + "\n"


def write_reports(directory: str | Path, info: RunInfo, results: list[PropertyResult]) -> Path:
    """Write ``report.json`` and ``report.md`` into ``directory``; return the directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        **asdict(info),
        "summary": summary_counts(results),
        "results": [asdict(r) for r in results],
    }
    (out / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / "report.md").write_text(markdown_report(info, results))
    return out
