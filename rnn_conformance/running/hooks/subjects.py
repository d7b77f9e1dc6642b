"""Every property runs once per subject, and draws for that subject.

:func:`pytest_generate_tests` parametrises the ``subject`` fixture of every property over
the session's subjects (:class:`~rnn_conformance.harness.Subject`), as PyTorch's
``@modules(module_db)`` does over its ``ModuleInfo`` entries, so a property's node id names
its subject: ``test_output_and_h_n_shapes[lstm-cpu]``. A property whose other parameters
depend on the subject (the pinned cases of its family, the kinds of bad call its state
allows) declares them with :func:`per_subject`; they are generated with the subject, never
read at import. A property that compares devices (:func:`across_devices`) runs once per
subject name, on the first device, and compares the others.

Around each property's call the strategies draw for the subject
(:func:`rnn_conformance.generation.drawing.drawing_for`): its family, and never a value its targets
declared unsupported.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet

from rnn_conformance.constants import ACROSS_DEVICES
from rnn_conformance.generation.drawing import drawing_for
from rnn_conformance.harness import Subject
from rnn_conformance.running.hooks.configure import facts_of
from rnn_conformance.running.hooks.scope import is_property

__all__ = [
    "SUBJECT_PROPERTY",
    "across_devices",
    "per_subject",
    "pytest_generate_tests",
    "pytest_runtest_call",
    "subject_of",
]

SUBJECT_PROPERTY = "rnn_subject"
"""The user property naming a report's subject (its column in the matrix)."""
DEVICE_PROPERTY = "rnn_device"


def per_subject(
    argnames: str | Sequence[str],
    values: Callable[[Subject], list[ParameterSet]],
    *,
    when_none: str = "",
) -> pytest.MarkDecorator:
    """Parametrise ``argnames`` with ``values(subject)`` for each subject.

    Each ``pytest.param`` keeps its marks, and its id follows the subject's:
    ``test_known_cases_match_reference[lstm-cpu-empty_batch]``. Where no subject of the
    session has any, the property does not apply to the session and is deselected
    (``when_none`` says why, for the marker).
    """
    return pytest.mark.rnn_per_subject(argnames, values, when_none=when_none)


across_devices = pytest.mark.rnn_across_devices
"""Mark a property that compares the selected devices: one run per subject name."""


def _ids(subject: Subject, across: bool) -> str:
    return f"{subject.name}-{ACROSS_DEVICES}" if across else subject.id


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``subject`` (and any per-subject parameters) over the session's subjects."""
    if "subject" not in metafunc.fixturenames or not is_property(metafunc.definition):
        return
    facts = facts_of(metafunc.config)
    across = metafunc.definition.get_closest_marker("rnn_across_devices") is not None
    subjects = facts.subjects_on(facts.devices[0]) if across else list(facts.subjects)
    marker = metafunc.definition.get_closest_marker("rnn_per_subject")
    if marker is None:
        ids = [_ids(subject, across) for subject in subjects]
        metafunc.parametrize("subject", subjects, ids=ids)
        return
    names, values = marker.args
    names = [names] if isinstance(names, str) else list(names)
    params = []
    for subject in subjects:
        for param in values(subject):
            if not isinstance(param, ParameterSet):
                param = pytest.param(param, id=str(param))
            params.append(
                pytest.param(
                    subject,
                    *param.values,
                    marks=param.marks,
                    id=f"{_ids(subject, across)}-{param.id}",
                )
            )
    if not params:
        # Not a skip: the property does not apply to this session's subjects at all (a
        # transform's property in an eager run); pytest_collection_modifyitems deselects it.
        reason = marker.kwargs.get("when_none") or "no subject of this session has any"
        mark = pytest.mark.rnn_not_applicable(reason)
        params = [pytest.param(None, *(None for _ in names), marks=mark, id="none")]
    metafunc.parametrize(["subject", *names], params)


def subject_of(item: pytest.Item) -> Subject | None:
    """The subject a collected property runs on, if it has one."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("subject")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Name each property's subject in its reports; deselect properties with no subject.

    A property that applies to none of the session's subjects (:func:`per_subject` with
    nothing for any of them) is deselected, which pytest counts in its summary.
    """
    inapplicable = [item for item in items if item.get_closest_marker("rnn_not_applicable")]
    if inapplicable:
        config.hook.pytest_deselected(items=inapplicable)
        items[:] = [item for item in items if item not in inapplicable]
    for item in filter(is_property, items):
        subject = subject_of(item)
        if subject is None:
            continue
        across = item.get_closest_marker("rnn_across_devices") is not None
        item.user_properties.append((SUBJECT_PROPERTY, _ids(subject, across)))
        item.user_properties.append((DEVICE_PROPERTY, ACROSS_DEVICES if across else subject.device))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Run the property with the strategies drawing for its subject."""
    subject = subject_of(item) if is_property(item) else None
    if subject is None:
        return (yield)
    with drawing_for(subject.family, module=subject.unsupported, cell=subject.cell_unsupported):
        return (yield)
