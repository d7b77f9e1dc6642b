"""Collecting property verdicts during a run and writing the conformance report.

:class:`ReportCollector` is a pytest plugin object: it records every property's verdict
per device (xdist workers' reports included) from the structured facts the suite's hooks
attach to each report (:mod:`rnn_conformance.running.hooks`): for a failure its message,
the minimal example, the frame of the target where it raised, the ``@reproduce_failure``
decorator when Hypothesis offered one, and a command that reruns exactly that property.
A known failure of the xfails file (:mod:`rnn_conformance.running.xfails`) that failed is its own
verdict, ``xfailed``, with its reason and the message it failed with; one that passed is
a failure (strict XPASS) whose message says that the known failure no longer fails.
Nothing is read from pytest's or Hypothesis' printed text. :func:`conformance_matrix`
renders one row per property and one column per selected device; :func:`write_reports`
writes ``report.json`` and ``report.md``, which state the same run facts as the console.

Example:
    >>> r = PropertyResult("test_x", "", "cpu", "passed")
    >>> print(conformance_matrix([r], ["cpu"]))
    | property | cpu |
    | --- | --- |
    | test_x | pass |

"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rnn_conformance.constants import ACROSS_DEVICES, PROPERTIES_DIR

__all__ = [
    "ACROSS_DEVICES",
    "Failure",
    "PropertyResult",
    "ReportCollector",
    "RunInfo",
    "conformance_matrix",
    "known_failures",
    "known_reason",
    "label_transform_findings",
    "markdown_report",
    "short_reason",
    "summary_counts",
    "write_repro_scripts",
    "write_reports",
]

_NODE = re.compile(r"^(?P<file>[^:]+)::(?P<name>[^\[]+)(\[(?P<params>.*)\])?$")
# The decorator is Python source that Hypothesis' documentation tells users to paste.
_BLOB = re.compile(r"@reproduce_failure\([^\n]*\)")


@dataclass
class Failure:
    """What a failed property reports: message, minimal example, target frame, rerun."""

    message: str
    minimal_example: str
    reproduce: str
    raised_at: str = ""
    blob: str | None = None
    repro: str = ""
    """The standalone reproduction script, relative to the report's directory, if any."""
    repro_command: str = ""
    """How to run it: ``python repro/<name>.py [module:attr]``."""
    repro_note: str = ""
    """Why no script was written, if none was."""
    repro_source: str = field(default="", repr=False)
    """The script itself (written to ``repro/`` by :func:`write_reports`, not to the JSON)."""


@dataclass
class PropertyResult:
    """One property's verdict on one subject (``params`` holds any other parameters).

    ``subject`` is the subject's id (``lstm-cpu``, its column in the matrix) and ``device``
    its device; a property comparing devices has ``name-across devices`` and
    :data:`ACROSS_DEVICES`.
    """

    property: str
    params: str
    device: str
    outcome: str
    reason: str = ""
    duration_s: float = 0.0
    nodeid: str = ""
    failure: Failure | None = None
    known_failure: list[dict[str, str]] = field(default_factory=list)
    """The xfails file's entries for this property here (``where``, ``entry``, ``reason``)."""
    observed: str = ""
    """For an xfailed verdict: the message the known failure failed with."""
    subject: str = ""
    transform_finding: bool = False
    """A failure under a transform where the same subject untransformed passed."""

    @property
    def row(self) -> str:
        """The matrix row: the property, with its parameters other than the subject."""
        return f"{self.property}[{self.params}]" if self.params else self.property

    @property
    def where(self) -> str:
        """The subject, as lists of skips and failures name it."""
        return self.subject or self.device


def _split_params(params: str | None, subject: str) -> str:
    """The node id's parameters without the subject's id, which leads them.

    >>> _split_params("lstm-cpu-empty_batch", "lstm-cpu")
    'empty_batch'
    """
    if not params:
        return ""
    if subject and params.startswith(subject):
        return params[len(subject) :].removeprefix("-")
    return params


def _blob(report: pytest.TestReport) -> str | None:
    """The ``@reproduce_failure(...)`` decorator Hypothesis printed for this failure, if any."""
    texts = [str(report.longrepr), *(content for _, content in report.sections)]
    found = _BLOB.search("\n".join(texts))
    return found.group(0) if found else None


class ReportCollector:
    """A pytest plugin recording every property's verdict (see module docstring)."""

    def __init__(
        self,
        rerun_prefix: list[str] | None = None,
        *,
        environment: dict[str, str] | None = None,
        directory: str | None = None,
    ) -> None:
        self.results: dict[str, PropertyResult] = {}
        self.rerun_prefix = rerun_prefix or ["python", "-m", "pytest"]
        self.environment = dict(environment or {})
        """Variables the rerun command sets (``PYTHONPATH``, the suite's settings)."""
        self.directory = directory
        """The directory the rerun command starts in (relative paths in it are from there)."""
        self.facts: Any = None
        self.warnings: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        """Keep the run's resolved settings (:class:`rnn_conformance.running.session.RunFacts`)."""
        hooks = config.pluginmanager.get_plugin("rnn_conformance.running.hooks.configure")
        if hooks is not None:
            self.facts = hooks.facts_of(config)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the decisive report of each test: a failure or skip anywhere, else the call."""
        if report.when != "call" and not (report.failed or report.skipped):
            return
        match = _NODE.match(report.nodeid)
        if match is None:
            return
        facts = dict(report.user_properties)
        device = str(facts.get("rnn_device", ACROSS_DEVICES))
        subject = str(facts.get("rnn_subject", ""))
        result = PropertyResult(
            property=match["name"],
            params=_split_params(match["params"], subject),
            device=device,
            subject=subject,
            outcome=report.outcome,
            duration_s=round(report.duration, 3),
            nodeid=report.nodeid,
            known_failure=list(facts.get("rnn_known_failure") or []),
        )
        if report.skipped and hasattr(report, "wasxfail"):
            result.outcome = "xfailed"
            result.reason = known_reason(result.known_failure) or str(report.wasxfail)
            result.observed = str(facts.get("rnn_xfailed", ""))
        elif report.skipped:
            result.reason = str(facts.get("rnn_skip_reason", ""))
        elif report.failed:
            details = facts.get("rnn_failure") or {}
            message = details.get("message") or "(the failure carried no message)"
            if report.when != "call":
                message = f"error in {report.when}: {message}"
            node = str(PROPERTIES_DIR / Path(match["file"]).name) + "::" + match["name"]
            if match["params"]:
                node += f"[{match['params']}]"
            # A crash would take a lone pytest process with it: rerun it in a worker.
            isolate = ["-n", "1"] if details.get("crash") else []
            result.failure = Failure(
                message=message,
                minimal_example=details.get("example", ""),
                reproduce=self.rerun_command([*self.rerun_prefix, *isolate, node]),
                raised_at=details.get("raised_at", ""),
                blob=_blob(report),
                repro_source=details.get("repro", ""),
                repro_note=details.get("repro_note", "")
                or (
                    "no standalone script: the target's process crashed, leaving no record"
                    if details.get("crash")
                    else ""
                ),
            )
        previous = self.results.get(report.nodeid)
        if previous is None or previous.outcome == "passed" or result.outcome == "failed":
            self.results[report.nodeid] = result

    def rerun_command(self, command: list[str]) -> str:
        """``command`` as a shell line that works from a new shell: directory, variables.

        >>> ReportCollector(environment={"PYTHONPATH": "/src"}, directory="/w").rerun_command(
        ...     ["python", "-m", "pytest", "x.py"])
        'cd /w && env PYTHONPATH=/src python -m pytest x.py'
        """
        variables = [f"{name}={value}" for name, value in self.environment.items()]
        line = shlex.join(["env", *variables, *command]) if variables else shlex.join(command)
        return f"cd {shlex.quote(self.directory)} && {line}" if self.directory else line

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str) -> None:
        """Keep the suite's warnings about its skips and xfails files for the report."""
        text = str(warning_message.message)
        if text.startswith(("skips file", "xfails file")) and text not in self.warnings:
            self.warnings.append(text)


def known_reason(known: list[dict[str, str]]) -> str:
    """The reasons of the xfails entries that apply, for tables and lists.

    >>> known_reason([{"where": "x.txt:3", "entry": "test_a", "reason": "bug 7"}])
    'bug 7'
    """
    return "; ".join(entry["reason"] for entry in known)


CELL = {"passed": "pass", "failed": "**FAIL**", "skipped": "skipped"}


def short_reason(reason: str, width: int = 60) -> str:
    """A skip reason short enough for a table cell (reports also list the full reasons).

    >>> short_reason("target declares unsupported capability: autograd (gradients ...)")
    'lacks autograd'
    """
    prefix = "target declares unsupported capability: "
    if reason.startswith(prefix):
        names = [part.split(" (")[0] for part in reason[len(prefix) :].split("; ")]
        return "lacks " + ", ".join(names)
    return reason if len(reason) <= width else reason[: width - 3] + "..."


def _cell(result: PropertyResult | None) -> str:
    if result is None:
        return ""
    if result.outcome == "skipped":
        return f"skipped ({short_reason(result.reason)})"
    if result.outcome == "xfailed":
        return f"xfail ({short_reason(result.reason)})"
    if result.outcome == "failed" and result.known_failure:
        return "**FAIL** (XPASS: known failure passed)"
    if result.outcome == "failed" and result.transform_finding:
        return "**FAIL** (transform finding)"
    return CELL[result.outcome]


def label_transform_findings(results: list[PropertyResult], subjects: list[dict[str, Any]]) -> None:
    """Label the failures under a transform whose untransformed subject passed that property.

    Such a failure is the transform's (the exporter's, the compiler's), not the module's:
    the same property on the same target, family and device passed in this run.

    >>> same = {"family": "gru", "device": "cpu", "target": "torch.nn:GRU"}
    >>> subjects = [
    ...     {"id": "gru-cpu", "transform": "eager", **same},
    ...     {"id": "gru-export-cpu", "transform": "export", **same},
    ... ]
    >>> eager = PropertyResult("test_x", "", "cpu", "passed", nodeid="a", subject="gru-cpu")
    >>> export = PropertyResult("test_x", "", "cpu", "failed", nodeid="b", subject="gru-export-cpu")
    >>> label_transform_findings([eager, export], subjects)
    >>> export.transform_finding
    True
    """
    key = lambda s: (s["family"], s["device"], s["target"])  # noqa: E731
    eager = {key(s): s["id"] for s in subjects if s["transform"] == "eager"}
    eager_of = {
        s["id"]: eager[key(s)] for s in subjects if s["transform"] != "eager" and key(s) in eager
    }
    verdicts = {(r.subject, r.row): r.outcome for r in results}
    for result in results:
        untransformed = eager_of.get(result.subject)
        if result.outcome == "failed" and untransformed is not None:
            result.transform_finding = verdicts.get((untransformed, result.row)) == "passed"


def conformance_matrix(
    results: list[PropertyResult], subjects: list[str], devices: list[str] | None = None
) -> str:
    """A Markdown table: one row per property, one column per subject (``lstm-cpu``).

    Properties that compare devices (subject ``name-across devices``) get a column of their
    own when several devices were selected; with one device their verdict stands in that
    subject's column.

    >>> r = PropertyResult("test_x", "", "cpu", "passed", nodeid="a", subject="gru-cpu")
    >>> print(conformance_matrix([r], ["rnn-cpu", "gru-cpu"]))
    | property | rnn-cpu | gru-cpu |
    | --- | --- | --- |
    | test_x |  | pass |
    """
    results = sorted(results, key=lambda r: r.nodeid)
    columns = list(subjects)
    single = devices[0] if devices and len(devices) == 1 else None

    def column(r: PropertyResult) -> str:
        if r.device == ACROSS_DEVICES and single is not None:
            return r.subject.removesuffix(ACROSS_DEVICES) + single
        return r.subject or r.device

    for r in results:
        if column(r) not in columns:
            columns.append(column(r))
    rows: dict[str, dict[str, PropertyResult]] = {}
    for r in results:
        rows.setdefault(r.row, {})[column(r)] = r
    lines = ["| property | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for row, by_subject in rows.items():
        cells = [_cell(by_subject.get(name)) for name in columns]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def skip_reasons(results: list[PropertyResult]) -> list[str]:
    """One line per skipped verdict with its full reason."""
    return [
        f"{r.row} on {r.where}: {r.reason}"
        for r in sorted(results, key=lambda r: r.nodeid)
        if r.outcome == "skipped"
    ]


def known_failures(results: list[PropertyResult]) -> list[str]:
    """One line per xfailed verdict: its reason, where it is listed, and how it failed."""
    lines = []
    for r in sorted(results, key=lambda r: r.nodeid):
        if r.outcome != "xfailed":
            continue
        listed = ", ".join(f"{entry['where']} {entry['entry']!r}" for entry in r.known_failure)
        line = f"{r.row} on {r.where}: {r.reason}"
        if listed:
            line += f" (listed in {listed})"
        if r.observed:
            line += f"; fails with: {r.observed.splitlines()[0]}"
        lines.append(line)
    return lines


@dataclass
class RunInfo:
    """What was run (the same facts the console header shows) and how it ended."""

    facts: dict[str, str]
    target: str
    """Every subject's module target, comma-separated (the report's title)."""
    devices: list[str]
    profile: str
    seed: int | None
    subjects: list[dict[str, Any]]
    """Each subject: its id, family, device, targets and their declarations."""
    versions: dict[str, str]
    command: str
    exit_code: int = 0
    interrupted: bool = False
    wall_time_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    families: list[str] = field(default_factory=list)
    """The recurrent families checked (``--family``): ``["rnn"]``."""
    warnings: list[str] = field(default_factory=list)
    """The suite's warnings about the skips and xfails files."""


def summary_counts(results: list[PropertyResult]) -> dict[str, int]:
    """How many verdicts of each outcome."""
    counts = {"passed": 0, "failed": 0, "xfailed": 0, "skipped": 0}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def summary_line(info: RunInfo, results: list[PropertyResult]) -> str:
    """Verdict counts, wall time and how the run ended."""
    counts = summary_counts(results)
    xfailed = f"{counts['xfailed']} xfailed (known failures), " if counts["xfailed"] else ""
    line = (
        f"{counts['passed']} passed, {counts['failed']} failed, {xfailed}"
        f"{counts['skipped']} skipped in {info.wall_time_s:.1f} s (exit code {info.exit_code})"
    )
    if info.interrupted:
        line += "; INTERRUPTED: the run was stopped before every property ran"
    return line


def markdown_report(info: RunInfo, results: list[PropertyResult]) -> str:
    """The human-readable report: run facts, the matrix, skips and every failure in full."""
    lines = [f"# RNN conformance report: {info.target}", ""]
    if info.interrupted:
        lines += ["**Interrupted**: this report is partial.", ""]
    lines += [f"- {name}: {text}" for name, text in info.facts.items()]
    lines += [
        f"- command: `{info.command}`",
        f"- verdicts: {summary_line(info, results)}",
        "",
        "## Conformance matrix",
        "",
        conformance_matrix(results, [s["id"] for s in info.subjects], info.devices),
    ]
    skipped = skip_reasons(results)
    if skipped:
        lines += ["", "## Skipped", ""] + [f"- {line}" for line in skipped]
    known = known_failures(results)
    if known:
        lines += ["", "## Known failures (xfailed)", ""] + [f"- {line}" for line in known]
    if info.warnings:
        lines += ["", "## Warnings", ""] + [f"- {line}" for line in info.warnings]
    failures = [r for r in results if r.failure is not None]
    if failures:
        lines += ["", "## Failures"]
    for r in failures:
        assert r.failure is not None
        lines += ["", f"### {r.row} on {r.where}", ""]
        if r.transform_finding:
            lines += [
                "A transform finding: the same property passed on this target untransformed.",
                "",
            ]
        if r.failure.raised_at:
            lines += [f"Raised in the target at `{r.failure.raised_at}`.", ""]
        lines += ["```text", r.failure.message, "```"]
        if r.failure.minimal_example:
            lines += ["", "Minimal example:", "", "```text", r.failure.minimal_example, "```"]
        lines += ["", f"Reproduce: `{r.failure.reproduce}`"]
        if r.failure.repro:
            lines += [
                "",
                f"Standalone reproduction: {r.failure.repro} (`{r.failure.repro_command}`): "
                "imports only torch and the target's module; exits 1 while the bug is there.",
            ]
        elif r.failure.repro_note:
            lines += ["", f"Standalone reproduction: none ({r.failure.repro_note})."]
        if r.failure.blob:
            lines += ["", f"Or pin the example with `{r.failure.blob}`."]
    return "\n".join(lines) + "\n"


REPRO_DIR = "repro"
"""The subdirectory of the report's directory holding the standalone reproduction scripts."""
# rnn_conformance.repro.templates.REPRO_MARK, not imported: that package imports torch, which
# the runner must not load before pytest starts.
_REPRO_MARK = "# Standalone reproduction of an rnn-conformance failure"


def write_repro_scripts(directory: str | Path, results: list[PropertyResult]) -> list[Path]:
    r"""Write each failure's standalone script to ``directory/repro/``; return the paths.

    One file per failing property, named after it (:func:`rnn_conformance.repro.script_name`),
    with its parameters and device in the name when it fails in several places. Sets each
    failure's ``repro`` and ``repro_command``. Scripts of an earlier run are removed.

    >>> import tempfile
    >>> f = Failure("m", "", "", repro_source="# Standalone reproduction of ...\n")
    >>> r = PropertyResult("test_x", "", "cpu", "failed", failure=f)
    >>> [p.name for p in write_repro_scripts(tempfile.mkdtemp(), [r])], f.repro
    (['test_x.py'], 'repro/test_x.py')
    """
    from rnn_conformance.repro import script_name

    folder = Path(directory) / REPRO_DIR
    if folder.is_dir():
        for old in folder.glob("*.py"):
            if old.read_text(errors="replace").startswith(_REPRO_MARK):
                old.unlink()
    failed = [r for r in results if r.failure is not None]
    counts: dict[str, int] = {}
    for r in failed:
        counts[r.property] = counts.get(r.property, 0) + 1
    written = []
    for r in sorted(failed, key=lambda r: r.nodeid):
        assert r.failure is not None
        if not r.failure.repro_source:
            continue
        params = _NODE.match(r.nodeid)
        several = counts[r.property] > 1 and params is not None and params["params"]
        name = script_name(r.property, params["params"] if several else "")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(r.failure.repro_source)
        r.failure.repro = f"{REPRO_DIR}/{name}"
        r.failure.repro_command = f"python {REPRO_DIR}/{name} [module:attr]"
        written.append(path)
    return written


def _result_payload(result: PropertyResult) -> dict[str, Any]:
    payload = asdict(result)
    if payload.get("failure"):
        payload["failure"].pop("repro_source", None)
    return payload


def write_reports(directory: str | Path, info: RunInfo, results: list[PropertyResult]) -> Path:
    """Write ``report.json``, ``report.md`` and ``repro/*.py`` into ``directory``; return it."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    write_repro_scripts(out, results)
    payload = {
        **asdict(info),
        "summary": summary_counts(results),
        "results": [_result_payload(r) for r in results],
    }
    (out / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / "report.md").write_text(markdown_report(info, results))
    return out
