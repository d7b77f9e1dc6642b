"""The registry of recurrent families: the one place a new family plugs in.

A family is one module in this package defining a
:class:`~rnn_conformance.numerics.families.base.Family` (see there for what it provides),
named in :data:`FAMILIES` below. The registry is a leaf: it imports the families and
nothing of the rest of the suite, which asks it by name. A session checks the families its
subjects name (``--rnn-family``, a comma list or ``all``; the runner's ``--family``).

>>> family_named("rnn").title
'nn.RNN'
>>> family_named("xlstm")
Traceback (most recent call last):
    ...
ValueError: unknown recurrent family 'xlstm'; known: rnn, lstm, gru
"""

from __future__ import annotations

from rnn_conformance.numerics.families.base import Family, PinnedCase, StepGradients
from rnn_conformance.numerics.families.elman import ELMAN
from rnn_conformance.numerics.families.gru import GRU
from rnn_conformance.numerics.families.lstm import LSTM

__all__ = [
    "FAMILIES",
    "Family",
    "PinnedCase",
    "StepGradients",
    "family_named",
]

FAMILIES: dict[str, Family] = {family.name: family for family in (ELMAN, LSTM, GRU)}
"""Every family the suite checks, by ``--rnn-family`` name; the first is the default."""


def family_named(name: str | Family) -> Family:
    """The family called ``name`` (a family is returned as it is); ``ValueError`` otherwise."""
    if isinstance(name, Family):
        return name
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown recurrent family {name!r}; known: {', '.join(FAMILIES)}"
        ) from None
