"""What a transform is: something applied to a target's modules before the properties see them.

A :class:`Transform` wraps each module a target builds so that its ``forward`` runs the
transformed artefact (compiled code, an exported program, ...) instead of the eager code,
and counts the calls that did. The harness (:class:`~rnn_conformance.harness.target.Target`)
reads that count around every call: a call after which it did not move ran no transformed
code, and fails as a :class:`~rnn_conformance.harness.target.TargetContractError` instead of
passing unchecked. A pass is a pass of transformed code.

What a transform cannot do by design is declared once, in its :attr:`Transform.gaps`, with
the reason and where it is documented; the subject's targets carry those gaps as declared
capabilities, so the properties that need them skip saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from rnn_conformance.numerics.families import Family

__all__ = ["Gap", "Transform", "TransformFinding"]


@dataclass(frozen=True)
class Gap:
    """A capability a transform lacks by design: why, and where that is documented."""

    capability: str
    reason: str
    source: str


class TransformFinding(RuntimeError):
    """The transformed artefact cannot do what the eager module does (a transform finding)."""


@dataclass(eq=False)
class Transform:
    """A transform of the targets' modules; subclasses define :meth:`wrap_forward`.

    ``name`` is what ``--transform`` takes and what the subject's id shows
    (``lstm-compile:eager-cpu``); ``gaps`` what it lacks by design, for module targets
    and for cell targets.
    """

    name: str
    gaps: tuple[Gap, ...] = ()
    cell_gaps: tuple[Gap, ...] = ()
    calls: int = field(default=0, init=False)
    miss: str = field(default="", init=False)
    """Why the last call ran no transformed code, where the transform can tell."""

    def runs(self) -> int:
        """How many calls ran transformed code so far, in this process."""
        return self.calls

    def specialised(self, module: torch.nn.Module) -> dict[str, str]:
        """The axes this transform could not keep dynamic for ``module``, and why.

        Empty by default: a transform that knows it specialised an axis (an exporter's
        constraint violation, say) says so here, in the tool's own words.
        """
        return {}

    def limits(self, *, cell: bool) -> tuple[Gap, ...]:
        """What this transform lacks by design for a module (or a cell) target."""
        return self.cell_gaps if cell else self.gaps

    def declared(self, *, cell: bool) -> frozenset[str]:
        """The capabilities this transform lacks for a module (or a cell) target."""
        return frozenset(gap.capability for gap in self.limits(cell=cell))

    def wrap(
        self, module: torch.nn.Module, *, kwargs: Mapping[str, Any], family: Family, cell: bool
    ) -> torch.nn.Module:
        """Route ``module``'s calls through the transformed artefact; returns the module.

        The module keeps its class, parameters and ``state_dict`` (the properties load
        weights and read gradients through them); only its ``forward`` is replaced, as an
        instance attribute, so its hooks still see every call.
        """
        eager = type(module).forward
        transformed = self.wrap_forward(
            module, eager, kwargs=dict(kwargs), family=family, cell=cell
        )
        object.__setattr__(module, "forward", transformed)
        return module

    def wrap_forward(
        self,
        module: torch.nn.Module,
        eager: Any,
        *,
        kwargs: dict[str, Any],
        family: Family,
        cell: bool,
    ) -> Any:
        """The replacement ``forward(*args)`` of ``module``; ``eager`` is its class's forward."""
        raise NotImplementedError
