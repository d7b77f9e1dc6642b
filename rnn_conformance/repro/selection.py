"""Choosing the recorded call to write: the first whose script shows the failure.

Each candidate script is run in this process, once with the target and once with torch's
class: it is kept only if it fails for the one and passes for the other, so a written
script is never a false alarm.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

from rnn_conformance.repro.recording import RecordedBuild
from rnn_conformance.repro.replay import (
    family_of,
    largest_bound,
    reference_results,
    role_of,
    why_unusable,
)
from rnn_conformance.repro.scripts import render_build, render_call


@dataclass
class Reproduction:
    """A generated script (``source``), or why none was written (``note``)."""

    source: str = ""
    note: str = ""
    tried: int = 0
    """How many recorded calls were tried."""


def build_reproduction(
    builds: list[RecordedBuild], prop: str, message: str, family: Any
) -> Reproduction:
    """A script for a failure about constructions alone: the first that reproduces.

    ``family`` is the property's subject's: its torch classes are the oracle.

    >>> from rnn_conformance.numerics.families import family_named
    >>> build_reproduction([], "test_x", "", family_named("rnn")).note.startswith("no standalone")
    True
    """
    from rnn_conformance.harness.target import resolve

    if not builds:
        return Reproduction(
            note="no standalone script: no record of the target's calls or constructions"
        )
    for tried, build in enumerate(builds, start=1):
        role = (
            "module" if build.spec != family.cell_target and "num_layers" in build.kwargs else None
        )
        oracle_spec = family.module_target if role else family.cell_target
        if resolve(build.spec) is resolve(oracle_spec):
            continue
        source = render_build(prop, message, build, oracle_spec)
        if _exit_code(source, build.spec)[0] == 1 and _exit_code(source, oracle_spec)[0] == 0:
            return Reproduction(source=source, tried=tried)
    return Reproduction(
        note=f"no standalone script: none of the {len(builds)} constructions of the target in "
        "this property is accepted or rejected differently from torch's class",
        tried=len(builds),
    )


def _oracle_raises(source: str) -> bool:
    """Whether the script's oracle (torch's class) raises for its call."""
    namespace: dict[str, Any] = {"__name__": "rnn_conformance_repro"}
    try:
        exec(compile(source, "<repro>", "exec"), namespace)
        return isinstance(namespace["oracle"](), Exception)
    except Exception:
        return False


def _exit_code(source: str, spec: str) -> tuple[int, str]:
    """Run the script's ``main(spec)`` in this process; its exit code and printed text."""
    namespace: dict[str, Any] = {"__name__": "rnn_conformance_repro"}
    printed = io.StringIO()
    from rnn_conformance.harness import float_state

    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "<repro>", "exec"), namespace)
            code = namespace["main"](spec)
    except Exception as exc:
        return 2, f"{type(exc).__name__}: {exc}"
    finally:
        if float_state.flushes_subnormals():  # the target may switch it on again
            float_state.restore_gradual_underflow()
    return int(code), printed.getvalue()


def reproduction(context: Any) -> Reproduction:
    """The script for a failure's record (attached by :mod:`rnn_conformance.running.failures`).

    ``context`` has ``property``, ``calls`` (:class:`RecordedCall`), ``dropped``,
    ``arguments`` (the property's, ``suite`` and ``device`` among them) and ``message``.

    >>> from rnn_conformance.repro.replay import FailureContext
    >>> reproduction(FailureContext("test_x", calls=[])).note.startswith("no standalone script")
    True
    """
    from rnn_conformance.harness.target import resolve

    calls = list(context.calls)
    if not calls:
        return Reproduction(
            note="no standalone script: the minimal example made no call of the target "
            "through the suite's announced calls (the constructor-error property, for one, "
            "calls the constructor directly; a crash leaves no record in the run's process)"
        )
    family = family_of(context)
    reasons: list[str] = []
    tried = 0
    for call in calls:
        role = role_of(context, call)
        oracle_spec = family.cell_target if role == "cell" else family.module_target
        oracle = resolve(oracle_spec)
        try:
            target_factory = resolve(call.spec)
        except Exception:
            return Reproduction(note=f"no standalone script: {call.spec} cannot be imported")
        if target_factory is oracle:
            # torch's own class cannot be its own oracle: the reference's values instead.
            expected = reference_results(context, call) if role == "module" else None
            if expected is None or why_unusable(context, call, oracle) is not None:
                reasons.append("the target is torch's class and the reference cannot run it")
                continue
            tried += 1
            try:
                bound = largest_bound(context, call, role)
                source = render_call(context, call, role, bound, expected)
            except Exception as exc:
                reasons.append(f"it could not be written ({type(exc).__name__}: {exc})")
                continue
            if _exit_code(source, call.spec)[0] == 1:
                return Reproduction(source=source, tried=tried)
            continue
        reason = why_unusable(context, call, oracle)
        if reason is not None:
            reasons.append(reason)
            continue
        tried += 1
        try:
            bound = largest_bound(context, call, role)
            source = render_call(context, call, role, bound)
        except Exception as exc:  # a record the script cannot express
            reasons.append(f"it could not be written ({type(exc).__name__}: {exc})")
            continue
        if bound is None and not _oracle_raises(source):
            reasons.append("the tolerance policy cannot bound its results")
            continue
        broken, _ = _exit_code(source, call.spec)
        fixed, printed = _exit_code(source, oracle_spec)
        if broken == 1 and fixed == 0:
            return Reproduction(source=source, tried=tried)
        if fixed != 0:
            reasons.append(f"torch's {oracle_spec} does not pass it ({printed.strip()[:200]})")
    dropped = f", and {context.dropped} more not recorded" if context.dropped else ""
    why = "; ".join(sorted(set(reasons)))
    return Reproduction(
        note=f"no standalone script: none of the {len(calls)} recorded calls of the target in "
        f"the minimal example{dropped} differs, on its own, from torch's module built and "
        "called the same way (the property's claim is about something else: gradients, "
        "dropout's randomness, initialisation, or a relation between calls)"
        + (f"; skipped calls: {why}" if why else ""),
        tried=tried,
    )
