"""Configure a session that runs the properties: profile, settings, header, preflight.

The Hypothesis profile is ``ci`` when ``$CI`` is set, else ``default``, unless one was
chosen. The run's settings are resolved once (:mod:`rnn_conformance.running.session`); a bad one is
a usage error naming the option. Before any worker starts, the preflight builds every
subject's default configuration: a target no property could build stops the run with one
error (exit code 6).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import pytest
import torch
from hypothesis import settings

import rnn_conformance.running.profiles  # noqa: F401 (registers the profiles)
from rnn_conformance.constants import PREFLIGHT_FAILED, default_profile
from rnn_conformance.harness import Subject
from rnn_conformance.running.options import OPTIONS, collect
from rnn_conformance.running.preflight import problem as preflight_problem
from rnn_conformance.running.run_guards import xdist_worker
from rnn_conformance.running.session import RunFacts, UsageProblem, resolve

__all__ = ["facts_of", "pytest_configure", "pytest_report_header", "use_subjects"]

_FACTS = pytest.StashKey[RunFacts]()

MARKERS = (
    "rnn_requires(*capabilities): the property needs these target capabilities "
    "(skipped, with the reason, when the target declares one unsupported)",
    "rnn_per_subject(argnames, values): parameters that depend on the subject, "
    "values(subject) -> list of pytest.param",
    "rnn_not_applicable(reason): a property none of the session's subjects has (deselected)",
)
"""The properties' markers, registered in every session that runs them."""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Load the profile and resolve the settings; a bad setting is a usage error."""
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile(default_profile())
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    given = {key: config.getoption(option.pytest_name) for key, option in OPTIONS.items()}
    try:
        facts = resolve(collect(given, style="pytest", environ=os.environ))
    except UsageProblem as exc:
        raise pytest.UsageError(str(exc)) from None
    worker = xdist_worker(config) is not None
    if getattr(config.option, "numprocesses", None) and not worker:
        # The xdist workers inherit this: one BLAS thread each in NumPy (the reference).
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(variable, "1")
    if worker:
        # Each xdist worker already has a core: intra-op threads would oversubscribe the
        # machine (measured: -n 2 slower than -n 0 on 2 cores without this).
        torch.set_num_threads(1)
    facts.tf32.apply()
    config.stash[_FACTS] = facts
    if not worker:
        _check_selection_expressions(config)
        # Once per run, before any worker starts: a target no property could build stops
        # the run here with one error, not with one identical failure per property.
        for subject in facts.subjects_on(facts.devices[0]):
            broken = preflight_problem(subject.target, subject.cell_target, facts.devices)
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


def use_subjects(config: pytest.Config, subjects: Sequence[Subject]) -> None:
    """Check ``subjects`` in this session instead of those the options name.

    For a plugin that checks several targets in one session (the self-tests' catalogue of
    broken implementations): call it from its own ``pytest_configure``, which runs after
    the suite's. Build each with :func:`rnn_conformance.running.session.subject_for`; every
    subject's device must be one of the run's devices.
    """
    facts = facts_of(config)
    for subject in subjects:
        if subject.device not in facts.devices:
            raise pytest.UsageError(
                f"subject {subject.id}: device {subject.device!r} is not one of the run's "
                f"devices {facts.devices}"
            )
    config.stash[_FACTS] = replace(facts, subjects=tuple(subjects))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The run's facts, as the runner's report states them."""
    profile = settings.get_current_profile_name()
    described = facts_of(config).describe(profile=profile)
    described["Hypothesis profile"] += f" ({settings.default.max_examples} examples)"
    return [f"rnn-conformance: {name}: {text}" for name, text in described.items()]
