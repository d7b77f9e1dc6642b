"""What every property needs besides its case: the targets, their declarations, the family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import event, note

from rnn_conformance.capabilities import USES, Uses, skip_reason
from rnn_conformance.cases import RNNCase
from rnn_conformance.config import RNNConfig
from rnn_conformance.devices import TF32Policy
from rnn_conformance.families import FAMILIES, Family
from rnn_conformance.target import Target

__all__ = [
    "GatedValueDrawn",
    "Suite",
    "config_label",
    "missing_capabilities",
    "missing_config_capabilities",
    "observe",
    "observe_config",
]


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

    def unsupported_by(self, uses: Uses) -> frozenset[str]:
        """What the targets that ``uses`` names lack: the RNN's, the cell's, or either's."""
        if uses not in USES:
            raise ValueError(f"uses={uses!r} must be one of {list(USES)}")
        rnn = self.unsupported if uses != "cell" else frozenset()
        return rnn | (self.cell_unsupported if uses != "rnn" else frozenset())


class GatedValueDrawn(RuntimeError):
    """A property drew a case needing a capability its target declared unsupported.

    The strategies never draw one (:mod:`rnn_conformance.strategies`), so this is a bug
    in the property's strategy (built for another target, or by hand without the
    declarations), not in the target: it is raised rather than run against the target.
    """


def missing_capabilities(case: RNNCase, unsupported: frozenset[str]) -> frozenset[str]:
    """The declared gaps the case runs into: its dtype, input rank or configuration."""
    needs = {"float64": case.dtype == "float64", "unbatched": not case.batched}
    gaps = frozenset(name for name, needed in needs.items() if needed) & unsupported
    return gaps | missing_config_capabilities(case.config, unsupported)


def missing_config_capabilities(config: RNNConfig, unsupported: frozenset[str]) -> frozenset[str]:
    """The declared gaps the configuration runs into: ``bias=False``, ``proj_size > 0``, D=2."""
    needs = {
        "without_bias": not config.bias,
        "projection": config.proj_size > 0,
        "bidirectional": config.bidirectional,
    }
    return frozenset(name for name, needed in needs.items() if needed) & unsupported


def config_label(config: RNNConfig) -> str:
    """A coarse class of a configuration for ``hypothesis.event`` coverage statistics.

    >>> config_label(RNNConfig(2, 3, bidirectional=True, bias=False))
    'tanh, bidirectional, layers=1, no bias'
    """
    own = "nonlinearity" in config.family.options
    kind = [config.nonlinearity if own else config.family.name]
    if config.proj_size:
        kind.append("projection")
    return ", ".join(
        [
            *kind,
            "bidirectional" if config.bidirectional else "unidirectional",
            f"layers={config.num_layers}",
            "bias" if config.bias else "no bias",
        ]
    )


def _within(case: RNNCase, unsupported: frozenset[str]) -> bool:
    return not missing_capabilities(case, unsupported)


_WHO = {"rnn": "the RNN target", "cell": "the cell target", "both": "the RNN or cell target"}


def _drawn_within(missing: frozenset[str], what: str, uses: Uses) -> None:
    if missing:
        raise GatedValueDrawn(
            f"the property drew a case needing what {_WHO[uses]} declared unsupported: "
            f"{skip_reason(missing)} (the case: {what}). The suite's strategies never draw "
            f"one for the declarations of uses={uses!r}: this property's strategy was "
            "built for other declarations, a bug in the property, not in the target"
        )


def observe(suite: Suite, case: RNNCase, device: str, *, uses: Uses = "rnn") -> None:
    """Start a property's example: check the case against the declarations, record it.

    The strategies never draw a value that the targets the property ``uses`` declared
    they lack (float64, unbatched input, ``bias=False``, a projection, a reverse
    direction); a case needing one anyway is a bug in the property's strategy, raised as
    :class:`GatedValueDrawn` instead of run. Then records an ``event`` (the case's
    coarse class, :meth:`RNNCase.label`: the statistics show which part of the declared
    space was drawn) and a ``note`` for reports.
    """
    _drawn_within(missing_capabilities(case, suite.unsupported_by(uses)), case.label(), uses)
    event(case.label())
    note(f"device={device}\n  {case.describe()}")


def observe_config(suite: Suite, config: RNNConfig) -> None:
    """:func:`observe` for a property of the constructor alone: check and record the config.

    A configuration the RNN target declared it lacks (``bias=False``, ``proj_size > 0``,
    ``bidirectional=True``) is never drawn (:class:`GatedValueDrawn` if it is); the
    ``event`` is the configuration's :func:`config_label`.
    """
    label = config_label(config)
    _drawn_within(missing_config_capabilities(config, suite.unsupported), label, "rnn")
    event(label)
    note(config.describe())
