"""Attach to each property's report the structured facts the runner's report is made of.

A failure's message, minimal example, where the target raised and its standalone script
(:mod:`rnn_conformance.running.failures`); a skip's reason; a known failure's observed message; a
strict XPASS's explanation.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from rnn_conformance.running.failures import failure_details, wants_repro_scripts
from rnn_conformance.running.hooks.known_failures import KNOWN_FAILURE_PROPERTY, known_failure_text
from rnn_conformance.running.hooks.scope import is_property
from rnn_conformance.running.hooks.subjects import subject_of

__all__ = ["FAILURE_PROPERTY", "SKIP_PROPERTY", "XFAIL_PROPERTY", "pytest_runtest_makereport"]

FAILURE_PROPERTY = "rnn_failure"
SKIP_PROPERTY = "rnn_skip_reason"
XFAIL_PROPERTY = "rnn_xfailed"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach a failure's message, minimal example and target frame, or a skip's reason.

    Runs outside pytest's own xfail handling (``tryfirst``), so it sees the final verdict:
    a known failure that failed is xfailed, one that passed is a strict XPASS failure.
    """
    report = yield
    if not is_property(item):
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
        subject = subject_of(item)
        transformed = subject is not None and subject.target.transform is not None
        details = failure_details(
            call.excinfo.value,
            # A script replays the calls on the target as built, without the transform:
            # it would not reproduce a transform's failure, and would say so misleadingly.
            scripts=wants_repro_scripts() and not transformed,
            family=None if subject is None else subject.family,
        )
        if transformed and wants_repro_scripts():
            details["repro_note"] = (
                f"no standalone script yet for a failure under {subject.transform}: the "
                "scripts replay the calls on the untransformed target; "
                "examples/findings/ holds torch-only reproductions of the transforms' findings"
            )
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
