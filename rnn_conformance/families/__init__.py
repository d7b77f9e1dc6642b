"""The registry of recurrent families: the one place a new family plugs in.

A family is one module in this package defining a :class:`~rnn_conformance.families.base.Family`
(see there for what it provides), named in :data:`FAMILIES` below. The suite selects one
with ``--rnn-family`` (``RNN_CONFORMANCE_FAMILY``, the runner's ``--family``).

>>> family_named("rnn").title
'nn.RNN'
>>> family_named("xlstm")
Traceback (most recent call last):
    ...
ValueError: unknown recurrent family 'xlstm'; known: rnn, lstm, gru
"""

from __future__ import annotations

from typing import Any

from rnn_conformance.families.base import Family, StepGradients
from rnn_conformance.families.elman import ELMAN
from rnn_conformance.families.gru import GRU
from rnn_conformance.families.lstm import LSTM

__all__ = [
    "DEFAULT_FAMILY",
    "FAMILIES",
    "Family",
    "StepGradients",
    "family_named",
    "family_of_torch_class",
    "select_family",
    "selected_family",
]

FAMILIES: dict[str, Family] = {family.name: family for family in (ELMAN, LSTM, GRU)}
"""Every family the suite checks, by ``--rnn-family`` name."""

DEFAULT_FAMILY = "rnn"

_selected = DEFAULT_FAMILY


def select_family(name: str) -> None:
    """Make ``name`` the family the strategies draw when none is named (the session's)."""
    global _selected
    family_named(name)
    _selected = name


def selected_family() -> str:
    """The family selected for this session (``--rnn-family``), ``rnn`` by default."""
    return _selected


def family_named(name: str) -> Family:
    """The family called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(
            f"unknown recurrent family {name!r}; known: {', '.join(FAMILIES)}"
        ) from None


def family_of_torch_class(factory: Any) -> tuple[Family, str] | None:
    """The family whose torch module or cell class ``factory`` is or subclasses, if any.

    Returns the family and which class matched (``"module"`` or ``"cell"``), so that a
    target of the wrong family is a usage error naming the right ``--rnn-family``.

    >>> import torch
    >>> family_of_torch_class(torch.nn.RNNCell)
    (<family rnn: nn.RNN>, 'cell')
    >>> family_of_torch_class(print) is None
    True
    """
    if not isinstance(factory, type):
        return None
    from rnn_conformance.target import resolve

    for family in FAMILIES.values():
        for role, spec in (("module", family.module_target), ("cell", family.cell_target)):
            if issubclass(factory, resolve(spec)):
                return family, role
    return None
