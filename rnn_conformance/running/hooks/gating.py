"""Skip properties a target cannot take part in, saying why.

A property needing a capability (``@pytest.mark.rnn_requires``) that its subject's targets
declared unsupported is skipped with the capability named; so is a property listed in the
skips file (``--rnn-skips``), whose patterns matching nothing are warned about.
"""

from __future__ import annotations

import warnings

import pytest

from rnn_conformance.generation.capabilities import CAPABILITIES, skip_reason
from rnn_conformance.harness import Subject
from rnn_conformance.running.hooks.configure import facts_of
from rnn_conformance.running.hooks.scope import is_property
from rnn_conformance.running.hooks.subjects import subject_of

__all__ = ["pytest_collection_modifyitems"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip properties needing undeclared capabilities or listed in the skips file."""
    facts = facts_of(config)
    used: set[str] = set()
    for item in filter(is_property, items):
        subject = subject_of(item)
        unsupported = (
            subject.unsupported | subject.cell_unsupported if subject is not None else frozenset()
        )
        needed = {name for mark in item.iter_markers("rnn_requires") for name in mark.args}
        unknown = needed - CAPABILITIES.keys()
        if unknown:
            raise pytest.UsageError(f"{item.nodeid} requires unknown capabilities {unknown}")
        missing = needed & unsupported
        if missing:
            item.add_marker(pytest.mark.skip(reason=_reason(subject, missing)))
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


def _reason(subject: Subject | None, missing: set[str]) -> str:
    """Why the property is skipped: the transform's declared limit, or the target's gap."""
    by_transform = {} if subject is None else subject.transform_gaps
    if subject is not None and missing <= by_transform.keys():
        return f"{subject.transform} declares unsupported capability: " + "; ".join(
            f"{name} ({by_transform[name]})" for name in sorted(missing)
        )
    return skip_reason(missing)
