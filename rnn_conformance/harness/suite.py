"""What every property needs besides its case: the targets, their declarations, the family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import assume, event, note

from rnn_conformance.cases import RNNCase
from rnn_conformance.config import RNNConfig
from rnn_conformance.devices import TF32Policy
from rnn_conformance.families import FAMILIES, Family
from rnn_conformance.target import Target

__all__ = ["Suite", "missing_capabilities", "observe", "observe_config"]


@dataclass(frozen=True)
class Suite:
    """What every property needs besides its case: the targets, TF32 policy, capabilities.

    ``family`` is the recurrent family checked (:mod:`rnn_conformance.families`);
    ``cell_target`` is the nn.RNNCell-like implementation for the cell properties;
    ``unsupported`` the capabilities the target declared it lacks
    (see :mod:`rnn_conformance.capabilities`); ``activation_error`` its declared tanh
    accuracy (see :mod:`rnn_conformance.tolerances`). The ``cell_`` fields are the cell
    target's own declarations: a cell is judged by what it declares, not by the RNN's.
    """

    target: Target
    tf32: TF32Policy
    cell_target: Target | None = None
    unsupported: frozenset[str] = frozenset()
    activation_error: float = 0.0
    cell_unsupported: frozenset[str] = frozenset()
    cell_activation_error: float = 0.0
    family: Family = FAMILIES["rnn"]

    def __repr__(self) -> str:
        # Shown in every falsifying example: keep it to what identifies the run.
        gaps = f", unsupported={sorted(self.unsupported)}" if self.unsupported else ""
        cell = f", cell={self.cell_target.spec!r}" if self.cell_target is not None else ""
        return f"Suite({self.target.spec!r}{cell}, tf32={self.tf32.allowed}{gaps})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def supports(self, case: RNNCase) -> bool:
        """Whether the case is within the RNN target's declared capabilities."""
        return _within(case, self.unsupported)

    def cell_supports(self, case: RNNCase) -> bool:
        """Whether the case is within the cell target's declared capabilities."""
        return _within(case, self.cell_unsupported)


def missing_capabilities(case: RNNCase, unsupported: frozenset[str]) -> frozenset[str]:
    """The declared gaps the case runs into: its dtype, input rank or configuration."""
    needs = {"float64": case.dtype == "float64", "unbatched": not case.batched}
    gaps = frozenset(name for name, needed in needs.items() if needed) & unsupported
    return gaps | missing_config_capabilities(case.config, unsupported)


def missing_config_capabilities(config: RNNConfig, unsupported: frozenset[str]) -> frozenset[str]:
    """The declared gaps the configuration runs into: ``bias=False``, ``proj_size > 0``."""
    needs = {"without_bias": not config.bias, "projection": config.proj_size > 0}
    return frozenset(name for name, needed in needs.items() if needed) & unsupported


def _within(case: RNNCase, unsupported: frozenset[str]) -> bool:
    return not missing_capabilities(case, unsupported)


def observe(
    suite: Suite, case: RNNCase, device: str, *, uses: Literal["rnn", "cell", "both"] = "rnn"
) -> None:
    """Start a property's example: gate, then record the case for Hypothesis.

    Rejects (``assume``) a case outside what the targets the property ``uses`` declared
    they support (float64, unbatched, bias=False); otherwise records an ``event`` for
    coverage statistics and a ``note`` for reports.
    """
    assume(uses == "cell" or suite.supports(case))
    assume(uses == "rnn" or suite.cell_supports(case))
    event(case.label())
    note(f"device={device}\n  {case.describe()}")


def observe_config(suite: Suite, config: RNNConfig) -> None:
    """:func:`observe` for a property of the constructor alone: gate the configuration.

    Rejects (``assume``) a configuration the RNN target declared it lacks (``bias=False``,
    ``proj_size > 0``), so that a declared gap is not reported as a wrong parameter list.
    """
    assume(not missing_config_capabilities(config, suite.unsupported))
    note(config.describe())
