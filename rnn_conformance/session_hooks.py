"""The pytest hooks of a session that runs the properties.

The package's pytest plugin registers this module only in sessions whose arguments reach
:mod:`rnn_conformance.properties`, and each hook acts only on the properties, never on
other tests of the same session. The hooks:

* load the Hypothesis profile (``ci`` when ``CI`` is set, else ``default``) unless one
  was chosen, and resolve the run's settings (:mod:`rnn_conformance.session`); a bad
  setting is a usage error naming the option;
* print the run's facts in the header;
* parametrise every property by device, skip properties needing capabilities the target
  declared unsupported or listed in the skips file, with the reason;
* mark the known failures of the xfails file (:mod:`rnn_conformance.xfails`)
  ``xfail(strict=True)`` with their reasons, so that a fixed one fails the run;
* fail a property that outlives ``--rnn-timeout`` (a hanging target);
* attach to each report the structured facts the runner's report is made of
  (:mod:`rnn_conformance.failures`).

Profiles: ``dev`` (10 examples), ``default`` (100), ``ci`` (derandomized, ``print_blob``,
no database) and ``thorough`` (1000).
"""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import Phase, settings

from rnn_conformance.capabilities import CAPABILITIES, declare_unsupported, skip_reason
from rnn_conformance.failures import failure_details, record_examples, wants_repro_scripts
from rnn_conformance.families import select_family
from rnn_conformance.harness import Suite
from rnn_conformance.options import OPTIONS, collect
from rnn_conformance.preflight import PREFLIGHT_FAILED
from rnn_conformance.preflight import problem as preflight_problem
from rnn_conformance.run_guards import xdist_worker
from rnn_conformance.session import RunFacts, UsageProblem, resolve
from rnn_conformance.xfails import XfailEntry

__all__ = [
    "PROFILES",
    "PropertyTimeout",
    "devices_of",
    "facts_of",
    "known_failure_text",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "suite",
]

PROPERTIES_DIR = Path(__file__).resolve().parent / "properties"

# No per-example deadline: building an RNN and a first call on a new shape take
# unpredictable time (allocator warm-up, xdist load), and a deadline would make the suite
# flaky; hangs are caught by --rnn-timeout instead. No explain phase: its line tracer
# swallowed the exception that --rnn-timeout raises inside a hanging target (measured: a
# looping forward under gradcheck never stopped), and the lines it prints point into the
# suite, not into the implementation under test.
_PHASES = tuple(phase for phase in Phase if phase.name != "explain")
PROFILES = {
    "dev": settings(max_examples=10, deadline=None, phases=_PHASES),
    "default": settings(max_examples=100, deadline=None, phases=_PHASES),
    "ci": settings(
        max_examples=100,
        deadline=None,
        phases=_PHASES,
        derandomize=True,
        database=None,
        print_blob=True,
    ),
    "thorough": settings(max_examples=1000, deadline=None, phases=_PHASES),
}
"""The suite's Hypothesis profiles by name."""

for _name, _profile in PROFILES.items():
    settings.register_profile(_name, _profile)

_FACTS = pytest.StashKey[RunFacts]()
DEVICE_PROPERTY = "rnn_device"
FAILURE_PROPERTY = "rnn_failure"
SKIP_PROPERTY = "rnn_skip_reason"
KNOWN_FAILURE_PROPERTY = "rnn_known_failure"
XFAIL_PROPERTY = "rnn_xfailed"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the profile and resolve the settings; a bad setting is a usage error."""
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile("ci" if _on_ci() else "default")
    config.addinivalue_line(
        "markers",
        "rnn_requires(*capabilities): the property needs these target capabilities "
        "(skipped, with the reason, when the target declares one unsupported)",
    )
    given = {key: config.getoption(option.pytest_name) for key, option in OPTIONS.items()}
    try:
        facts = resolve(collect(given, style="pytest", environ=os.environ))
    except UsageProblem as exc:
        raise pytest.UsageError(str(exc)) from None
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        # The xdist workers inherit this: one BLAS thread each in NumPy (the reference).
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(variable, "1")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each xdist worker already has a core: intra-op threads would oversubscribe the
        # machine (measured: -n 2 slower than -n 0 on 2 cores without this).
        torch.set_num_threads(1)
    facts.suite.tf32.apply()
    # The properties' strategies draw configurations of the selected family.
    select_family(facts.family.name)
    declare_unsupported(rnn=facts.suite.unsupported, cell=facts.suite.cell_unsupported)
    config.stash[_FACTS] = facts
    if xdist_worker(config) is None:
        _check_selection_expressions(config)
        # Once per run, before any worker starts: a target no property could build stops
        # the run here with one error, not with one identical failure per property.
        broken = preflight_problem(facts.suite.target, facts.suite.cell_target, facts.devices)
        if broken is not None:
            pytest.exit(broken, returncode=PREFLIGHT_FAILED)


def _check_selection_expressions(config: pytest.Config) -> None:
    """A malformed ``-k`` or ``-m`` is a usage error here, before xdist's workers start.

    In a worker pytest's own usage error arrives as an xdist INTERNALERROR; the runner
    always uses workers.
    """
    for flag, name in (("-k", "keyword"), ("-m", "markexpr")):
        expression = getattr(config.option, name, "") or ""
        if not expression:
            continue
        try:
            from _pytest.mark.expression import Expression

            Expression.compile(expression)
        except ImportError:  # pragma: no cover - pytest moved it: its workers will say
            return
        except Exception as exc:
            raise pytest.UsageError(
                f"{flag} {expression!r} is not a valid expression: {exc} (names joined by "
                "and, or, not; a name may not contain spaces)"
            ) from None


def facts_of(config: pytest.Config) -> RunFacts:
    """The resolved settings of this run."""
    return config.stash[_FACTS]


def devices_of(config: pytest.Config) -> list[str]:
    """The devices this run checks, in order."""
    return facts_of(config).devices


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The run's facts, as the runner's report states them."""
    profile = settings.get_current_profile_name()
    described = facts_of(config).describe(profile=profile)
    described["Hypothesis profile"] += f" ({settings.default.max_examples} examples)"
    return [f"rnn-conformance: {name}: {text}" for name, text in described.items()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every property that takes ``device`` once per selected device."""
    if "device" in metafunc.fixturenames and _in_properties(metafunc.definition.path):
        devices = devices_of(metafunc.config)
        metafunc.parametrize("device", devices, ids=devices)


@pytest.fixture(scope="session")
def suite(request: pytest.FixtureRequest) -> Suite:
    """The resolved targets, TF32 policy and declarations of this run."""
    return facts_of(request.config).suite


def _in_properties(path: Path | str) -> bool:
    return PROPERTIES_DIR in Path(path).resolve().parents


def _is_property(item: pytest.Item) -> bool:
    return _in_properties(item.path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip properties needing undeclared capabilities or in the skips file; mark xfails.

    The known failures of the xfails file are marked ``xfail(strict=True)``.
    """
    facts = facts_of(config)
    unsupported = facts.suite.unsupported | facts.suite.cell_unsupported
    used: set[str] = set()
    known = _KnownFailures(facts)
    for item in filter(_is_property, items):
        record_examples(getattr(item, "obj", None))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "device" in callspec.params:
            # Travels with the report (also from xdist workers) for the conformance matrix.
            item.user_properties.append((DEVICE_PROPERTY, callspec.params["device"]))
        known.mark(item)
        needed = {name for mark in item.iter_markers("rnn_requires") for name in mark.args}
        unknown = needed - CAPABILITIES.keys()
        if unknown:
            raise pytest.UsageError(f"{item.nodeid} requires unknown capabilities {unknown}")
        missing = needed & unsupported
        if missing:
            item.add_marker(pytest.mark.skip(reason=skip_reason(missing)))
        for pattern in facts.skips:
            if pattern in item.nodeid:
                used.add(pattern)
                item.add_marker(pytest.mark.skip(reason=f"listed in the skips file as {pattern!r}"))
    for pattern in facts.skips:
        if pattern not in used:
            warnings.warn(
                pytest.PytestConfigWarning(
                    f"skips file: {pattern!r} matches no collected property"
                ),
                stacklevel=1,
            )
    known.warn()


class _KnownFailures:
    """Applies the xfails file's entries to the collected properties.

    See :mod:`rnn_conformance.xfails` for the scoping rules. Problems that only the
    collected properties reveal (a pattern matching nothing, a dtype scope on a property
    whose dtype is drawn) are warnings, not usage errors: pytest-xdist collects in its
    workers, where a usage error is an internal error; and an entry that does not apply
    leaves the property's own verdict standing, so nothing is hidden.
    """

    def __init__(self, facts: RunFacts) -> None:
        self.entries = facts.xfails
        self.devices = facts.devices
        self.matched: set[XfailEntry] = set()
        self.drawn_dtype: dict[XfailEntry, list[str]] = {}

    def _applies(self, entry: XfailEntry, item: pytest.Item) -> bool:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "device" in params:
            on_device = entry.applies_on_device(str(params["device"]))
        else:  # compares the selected devices: covered when one of them matches
            on_device = any(entry.applies_on_device(device) for device in self.devices)
        if not on_device:
            return False
        if "dtype" not in entry.scopes:
            return True
        if "dtype" not in params:
            self.drawn_dtype.setdefault(entry, []).append(item.nodeid)
            return False
        return entry.applies_to_dtype(str(params["dtype"]))

    def mark(self, item: pytest.Item) -> None:
        """Mark ``item`` xfail(strict=True) if entries apply to it, with their reasons."""
        applying = []
        for entry in self.entries:
            if entry.matches(item.nodeid):
                self.matched.add(entry)
                if self._applies(entry, item):
                    applying.append(entry)
        if not applying:
            return
        # Plain data: it travels with the reports, also from xdist workers.
        known = [
            {"where": entry.where, "entry": entry.text, "reason": entry.reason}
            for entry in applying
        ]
        item.user_properties.append((KNOWN_FAILURE_PROPERTY, known))
        item.add_marker(pytest.mark.xfail(strict=True, reason=known_failure_text(known)))

    def warn(self) -> None:
        """Warn about entries matching nothing, and dtype scopes that cannot apply."""
        for entry in self.entries:
            if entry not in self.matched:
                _entry_warning(entry, f"{entry.pattern!r} matches no collected property")
        for entry, nodeids in self.drawn_dtype.items():
            dtypes = ",".join(entry.scopes["dtype"])
            _entry_warning(
                entry,
                f"[dtype={dtypes}] does not apply to {', '.join(nodeids)}: not parametrised "
                "by dtype (it draws its cases' dtype inside Hypothesis, or has none), where "
                "an xfail would hide failures at every dtype, so it runs as usual. Xfail "
                "the whole property without [dtype=...], or, for float64, declare the "
                "capability float64 unsupported, so that no float64 case is drawn",
            )


def _entry_warning(entry: XfailEntry, message: str) -> None:
    # Attributed to the entry's own file and line, where the fix belongs.
    warnings.warn_explicit(
        pytest.PytestConfigWarning(f"xfails file {entry.where}: {message}"),
        category=pytest.PytestConfigWarning,
        filename=entry.path,
        lineno=entry.line,
    )


def known_failure_text(known: list[dict[str, str]]) -> str:
    """The reason of an xfail from the xfails file: each entry's reason, file and line.

    >>> known_failure_text([{"where": "x.txt:3", "entry": "test_a", "reason": "bug 7"}])
    "bug 7 (known failure: x.txt:3 'test_a')"
    """
    return "; ".join(
        f"{entry['reason']} (known failure: {entry['where']} {entry['entry']!r})" for entry in known
    )


class PropertyTimeout(BaseException):
    """A property exceeded ``--rnn-timeout``.

    A BaseException, so that neither the target's own ``except Exception`` nor
    Hypothesis' shrinking (which would re-run the hanging call) can swallow it.
    """


# After the first alarm, re-raise this often until the property has stopped: code that
# swallows one exception (a line tracer, a bare except in the target) cannot hold the run.
_REPEAT_S = 1.0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a property that runs longer than ``--rnn-timeout`` (a hanging target)."""
    facts = facts_of(item.config)
    limit = facts.timeout
    if (
        not _is_property(item)
        or not limit
        or not hasattr(signal, "SIGALRM")
        or threading.current_thread() is not threading.main_thread()
    ):
        return (yield)

    def expire(signum: int, frame: Any) -> None:
        raise PropertyTimeout(
            f"{item.name} ran longer than {facts.timeout_option}={limit:g} s: the target "
            f"may hang ({facts.timeout_option}=0 disables the limit)"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit, _REPEAT_S)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach a failure's message, minimal example and target frame, or a skip's reason.

    Runs outside pytest's own xfail handling (``tryfirst``), so it sees the final verdict:
    a known failure that failed is xfailed, one that passed is a strict XPASS failure.
    """
    report = yield
    if not _is_property(item):
        return report
    known = dict(item.user_properties).get(KNOWN_FAILURE_PROPERTY)
    if report.skipped and hasattr(report, "wasxfail"):
        details = failure_details(call.excinfo.value) if call.excinfo is not None else {}
        report.user_properties.append((XFAIL_PROPERTY, details.get("message", "")))
    elif report.failed and call.excinfo is None and known is not None and call.when == "call":
        report.user_properties.append(
            (
                FAILURE_PROPERTY,
                {
                    "message": "XPASS (strict): the known failure no longer fails: "
                    f"{known_failure_text(known)}. The property passed: if the bug is "
                    "fixed, remove the entry from the xfails file",
                    "example": "",
                    "raised_at": "",
                },
            )
        )
    elif report.failed and call.excinfo is not None:
        details = failure_details(call.excinfo.value, scripts=wants_repro_scripts())
        report.user_properties.append((FAILURE_PROPERTY, details))
    elif report.skipped:
        reason = ""
        if call.excinfo is not None:
            reason = str(getattr(call.excinfo.value, "msg", call.excinfo.value))
        else:
            marker = item.get_closest_marker("skip")
            if marker is not None:
                reason = str(marker.kwargs.get("reason", marker.args[0] if marker.args else ""))
        report.user_properties.append((SKIP_PROPERTY, reason))
    return report
