"""What a property checks: a :class:`Subject`, one value naming the family, targets and device.

A session holds a list of subjects (:mod:`rnn_conformance.running.session`); every property runs
once per subject, which it receives as the ``subject`` fixture, and asks it, never a
global, for the family, the targets and their declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import event, note

from rnn_conformance.constants import DEFAULT_TRANSFORM
from rnn_conformance.generation.capabilities import skip_reason
from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.generation.drawing import USES, Uses
from rnn_conformance.harness.devices import TF32Policy
from rnn_conformance.harness.target import Target
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import Family

__all__ = [
    "GatedValueDrawn",
    "Subject",
    "missing_capabilities",
    "observe",
    "observe_config",
]


@dataclass(frozen=True)
class Subject:
    """What one property run checks: the family, its two targets, the device, the transform.

    ``target`` is the module (nn.RNN-like) implementation and ``cell_target`` the cell
    (nn.RNNCell-like) one, each with its own declared gaps and accuracy (a cell is judged
    by what it declares, not by the module's). ``transform`` names what is applied to the
    targets before the properties see them (``eager``: nothing). ``label`` tells apart
    subjects of one family that check different targets; by default the family's name.

    >>> from rnn_conformance.numerics.families import family_named
    >>> gru = family_named("gru")
    >>> subject = Subject(
    ...     gru,
    ...     Target.from_spec(gru.module_target, gru),
    ...     Target.from_spec(gru.cell_target, gru),
    ...     "cpu",
    ...     TF32Policy(allowed=False),
    ... )
    >>> subject.id
    'gru-cpu'
    """

    family: Family
    target: Target
    cell_target: Target
    device: str
    tf32: TF32Policy
    transform: str = DEFAULT_TRANSFORM
    label: str = ""

    def __post_init__(self) -> None:
        for target in (self.target, self.cell_target):
            if target.family is not self.family:
                raise ValueError(
                    f"{target.spec} is built as {target.family.title}'s target, but the "
                    f"subject checks {self.family.title}: one family per subject"
                )

    @property
    def name(self) -> str:
        """The subject without its device: the label (the family's name by default)."""
        name = self.label or self.family.name
        if self.transform == DEFAULT_TRANSFORM:
            return name
        # compile:inductor -> compile-inductor: a colon reads as part of a pytest node id.
        return f"{name}-{self.transform.replace(':', '-')}"

    @property
    def id(self) -> str:
        """The subject's part of a property's node id: ``lstm-cpu``."""
        return f"{self.name}-{self.device}"

    @property
    def unsupported(self) -> frozenset[str]:
        """What the module target declared it lacks."""
        return self.target.unsupported

    @property
    def cell_unsupported(self) -> frozenset[str]:
        """What the cell target declared it lacks."""
        return self.cell_target.unsupported

    @property
    def transform_gaps(self) -> dict[str, str]:
        """The capabilities the transform lacks by design, each with its reason."""
        gaps: dict[str, str] = {}
        for target in (self.target, self.cell_target):
            if target.transform is not None:
                for gap in target.transform.limits(cell=target.is_cell):
                    gaps.setdefault(gap.capability, gap.reason)
        return gaps

    @property
    def activation_error(self) -> float:
        """The module target's declared tanh and sigmoid error, in units of u."""
        return self.target.activation_error

    @property
    def cell_activation_error(self) -> float:
        """The cell target's declared tanh and sigmoid error, in units of u."""
        return self.cell_target.activation_error

    def __repr__(self) -> str:
        # Shown in every falsifying example: keep it to what identifies the run.
        gaps = f", unsupported={sorted(self.unsupported)}" if self.unsupported else ""
        return (
            f"Subject({self.id!r}, {self.target.spec!r}, cell={self.cell_target.spec!r}, "
            f"tf32={self.tf32.allowed}{gaps})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def supports(self, case: RNNCase) -> bool:
        """Whether the case is within the module target's declared capabilities."""
        return not missing_capabilities(case, self.unsupported)

    def cell_supports(self, case: RNNCase) -> bool:
        """Whether the case is within the cell target's declared capabilities."""
        return not missing_capabilities(case, self.cell_unsupported)

    def unsupported_by(self, uses: Uses) -> frozenset[str]:
        """What the targets that ``uses`` names lack: the RNN's, the cell's, or either's."""
        if uses not in USES:
            raise ValueError(f"uses={uses!r} must be one of {list(USES)}")
        rnn = self.unsupported if uses != "cell" else frozenset()
        return rnn | (self.cell_unsupported if uses != "module" else frozenset())


class GatedValueDrawn(RuntimeError):
    """A property drew a case needing a capability its target declared unsupported.

    The strategies never draw one (:mod:`rnn_conformance.generation.strategies`), so this is a bug
    in the property's strategy (built for another target, or by hand without the
    declarations), not in the target: it is raised rather than run against the target.
    """


def missing_capabilities(case: RNNCase, unsupported: frozenset[str]) -> frozenset[str]:
    """The declared gaps the case runs into: its dtype, input rank or configuration."""
    needs = {"float64": case.dtype == "float64", "unbatched": not case.batched}
    gaps = frozenset(name for name, needed in needs.items() if needed) & unsupported
    return gaps | (case.config.needed_capabilities() & unsupported)


_WHO = {
    "module": "the module target",
    "cell": "the cell target",
    "both": "the module or cell target",
}


def _drawn_within(missing: frozenset[str], what: str, uses: Uses) -> None:
    if missing:
        raise GatedValueDrawn(
            f"the property drew a case needing what {_WHO[uses]} declared unsupported: "
            f"{skip_reason(missing)} (the case: {what}). The suite's strategies never draw "
            f"one for the declarations of uses={uses!r}: this property's strategy was "
            "built for other declarations, a bug in the property, not in the target"
        )


def observe(subject: Subject, case: RNNCase, *, uses: Uses = "module") -> None:
    """Start a property's example: check the case against the declarations, record it.

    The strategies never draw a value that the targets the property ``uses`` declared
    they lack (float64, unbatched input, ``bias=False``, a projection, a reverse
    direction); a case needing one anyway is a bug in the property's strategy, raised as
    :class:`GatedValueDrawn` instead of run. Then records an ``event`` (the case's
    coarse class, :meth:`RNNCase.label`: the statistics show which part of the declared
    space was drawn) and a ``note`` for reports.
    """
    _drawn_within(missing_capabilities(case, subject.unsupported_by(uses)), case.label(), uses)
    event(case.label())
    note(f"subject={subject.id}\n  {case.describe()}")


def observe_config(subject: Subject, config: RNNConfig) -> None:
    """:func:`observe` for a property of the constructor alone: check and record the config.

    A configuration the module target declared it lacks (``bias=False``, ``proj_size > 0``,
    ``bidirectional=True``) is never drawn (:class:`GatedValueDrawn` if it is); the
    ``event`` is the configuration's :meth:`~rnn_conformance.numerics.config.RNNConfig.label`.
    """
    label = config.label()
    _drawn_within(config.needed_capabilities() & subject.unsupported, label, "module")
    event(label)
    note(config.describe())
