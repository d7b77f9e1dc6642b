"""Recording a target's calls and constructions while a property's example runs.

A :class:`CallRecorder` is one more observer of :mod:`rnn_conformance.harness.target_calls`: it
keeps CPU copies, since the target may change or free its tensors after the call and the
script is written only once the example has failed. :data:`BUILDS` keeps constructions for
the properties that call only the constructor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.utils.rnn import PackedSequence

MAX_CALLS = 24
"""Calls recorded per example; later ones (gradcheck makes hundreds) are only counted."""


@dataclass(frozen=True)
class RecordedTensor:
    """A CPU copy of a call's tensor argument, with where and how it was passed."""

    tensor: torch.Tensor
    device: str
    contiguous: bool


@dataclass(frozen=True)
class RecordedPacked:
    """A CPU copy of a ``PackedSequence`` argument, with the device its data was on."""

    packed: PackedSequence
    device: str


@dataclass
class RecordedCall:
    """One call of a target: how the module was built, its weights, mode and arguments."""

    spec: str
    built_with: dict[str, Any]
    state: dict[str, torch.Tensor]
    training: bool
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    returned: bool = False


def _copy(value: Any) -> Any:
    if isinstance(value, PackedSequence):
        parts = (None if p is None else p.detach().to("cpu", copy=True) for p in value)
        return RecordedPacked(PackedSequence(*parts), str(value.data.device))
    if isinstance(value, torch.Tensor):
        return RecordedTensor(
            value.detach().to("cpu", copy=True), str(value.device), value.is_contiguous()
        )
    if isinstance(value, tuple | list):
        return type(value)(_copy(part) for part in value)
    return value


class CallRecorder:
    """An observer keeping copies of a target's calls.

    See :mod:`rnn_conformance.harness.target_calls` for observers.
    """

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self.dropped = 0
        """Calls beyond :data:`MAX_CALLS`, or that could not be copied: not recorded."""
        self.problem = ""
        """Why the latest call that could not be copied could not."""

    def before_call(
        self, spec: str, built_with: Mapping[str, Any], module: Any, args: tuple, kwargs: dict
    ) -> None:
        """Copy the call's constructor arguments, weights, mode and arguments."""
        if len(self.calls) >= MAX_CALLS:
            self.dropped += 1
            return
        try:
            state = {
                name: value.detach().to("cpu", copy=True)
                for name, value in module.state_dict().items()
                if isinstance(value, torch.Tensor)
            }
            self.calls.append(
                RecordedCall(
                    spec,
                    dict(built_with),
                    state,
                    bool(getattr(module, "training", False)),
                    _copy(tuple(args)),
                    _copy(dict(kwargs)),
                )
            )
        except Exception as exc:  # a record is a bonus: never let it change the verdict
            self.dropped += 1
            self.problem = f"{type(exc).__name__}: {exc}"

    def after_call(self, spec: str, module: Any, result: Any) -> None:
        """Mark the latest call as returned (a call that raised stays unmarked)."""
        if self.calls and self.calls[-1].spec == spec:
            self.calls[-1].returned = True


@dataclass(frozen=True)
class RecordedBuild:
    """One construction of a target: its constructor arguments, device and dtype."""

    spec: str
    kwargs: dict[str, Any]
    device: str
    dtype: Any


def _current_test() -> str:
    """The node id of the test pytest is running now (``PYTEST_CURRENT_TEST``), or ``""``."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


class BuildLog:
    """An always-on observer keeping the current test's constructions (at most ``limit``).

    For properties without a Hypothesis record (the constructor-error property is
    parametrised only): its failure gets a script from the constructions of that test,
    told apart by ``PYTEST_CURRENT_TEST``.

    >>> log = BuildLog()
    >>> log.before_build("torch.nn:RNN", {"input_size": 1}, "cpu", "torch.float32")
    >>> [build.kwargs for build in log.of_current_test()]
    [{'input_size': 1}]
    """

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self.test: str | None = None
        self.builds: list[RecordedBuild] = []

    def before_build(self, spec: str, kwargs: Mapping[str, Any], device: Any, dtype: Any) -> None:
        """Keep the construction, forgetting those of earlier tests."""
        test = _current_test()
        if test != self.test:
            self.test, self.builds = test, []
        if len(self.builds) < self.limit:
            self.builds.append(RecordedBuild(spec, dict(kwargs), str(device), dtype))

    def of_current_test(self) -> list[RecordedBuild]:
        """The constructions of the test running now."""
        return list(self.builds) if self.test == _current_test() else []


BUILDS = BuildLog()
"""The log :mod:`rnn_conformance.running.failures` registers as an observer in each session."""
