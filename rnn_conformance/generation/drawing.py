"""What the strategies draw for: the family and the declared gaps of the running property.

The suite's properties are decorated once, at import, with strategies such as
``rnn_cases()``; which family those draw, and which values they must never draw (the
capabilities the targets declared unsupported), belong to the subject the property runs
on. The session enters :func:`drawing_for` around each property's call with its subject's
family and declarations; a strategy given no ``family`` or ``unsupported`` reads them here
when it draws. Outside the suite's properties nothing is entered: nn.RNN's family, and
nothing gated.

>>> from rnn_conformance.numerics.families import family_named
>>> current_family().name
'rnn'
>>> with drawing_for(family_named("gru"), module={"float64"}):
...     current_family().name, sorted(current_unsupported("both"))
('gru', ['float64'])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from rnn_conformance.numerics.families import FAMILIES, Family

__all__ = ["USES", "Uses", "current_family", "current_unsupported", "drawing_for"]

Uses = Literal["module", "cell", "both"]
"""Which targets a property calls: the module target, the cell target, or both."""

USES: tuple[Uses, ...] = ("module", "cell", "both")


@dataclass(frozen=True)
class _Drawing:
    family: Family
    module: frozenset[str]
    cell: frozenset[str]


_current: ContextVar[_Drawing | None] = ContextVar("rnn_conformance_drawing", default=None)


@contextmanager
def drawing_for(
    family: Family, *, module: Iterable[str] = (), cell: Iterable[str] = ()
) -> Iterator[None]:
    """Draw for ``family`` and the module and cell targets' declared gaps within this block."""
    token = _current.set(_Drawing(family, frozenset(module), frozenset(cell)))
    try:
        yield
    finally:
        _current.reset(token)


def current_family() -> Family:
    """The family of the running property's subject; nn.RNN's outside the suite."""
    drawing = _current.get()
    return FAMILIES["rnn"] if drawing is None else drawing.family


def current_unsupported(uses: Uses = "module") -> frozenset[str]:
    """What the running property's targets that ``uses`` names declared unsupported.

    ``"module"`` the module target's, ``"cell"`` the cell target's, ``"both"`` either's: a
    property calling both targets may draw only what both support.
    """
    if uses not in USES:
        raise ValueError(f"uses={uses!r} must be one of {list(USES)}")
    drawing = _current.get()
    if drawing is None:
        return frozenset()
    if uses == "both":
        return drawing.module | drawing.cell
    return drawing.module if uses == "module" else drawing.cell
