"""Layouts, written once: batch_first, unbatched input, and states with several parts.

The reference and the error bounds compute time-major and batched, (L, N, F), with every
state as a tuple of parts; these helpers convert from and to the module's own layout.

>>> import numpy as np
>>> to_time_major(np.zeros((2, 5, 3)), batched=True, batch_first=True).shape
(5, 2, 3)
>>> from_time_major(np.zeros((5, 1, 3)), batched=False, batch_first=True).shape
(5, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rnn_conformance.numerics.arithmetic import Array

if TYPE_CHECKING:
    from rnn_conformance.numerics.config import RNNConfig

__all__ = [
    "from_time_major",
    "map_state",
    "output_part",
    "pack_state",
    "state_parts",
    "to_time_major",
]


def to_time_major(values: Array, *, batched: bool, batch_first: bool) -> Array:
    """The module's input or output layout to (L, N, F)."""
    if not batched:
        return values[:, None]
    return values.transpose(1, 0, 2) if batch_first else values


def from_time_major(values: Array, *, batched: bool, batch_first: bool) -> Array:
    """(..., L, N, F) back to the module's layout; leading axes are kept."""
    if not batched:
        return values[..., :, 0, :]
    return np.swapaxes(values, -3, -2) if batch_first else values


def state_parts(config: RNNConfig, hx: Any) -> tuple[Any, ...]:
    """``hx`` as a tuple with one entry per state part (``None`` for each when absent).

    A family with one part takes a tensor, one with several a tuple of them (nn.LSTM's
    ``(h_0, c_0)``); anything else is a ``ValueError``.
    """
    count = len(config.family.state_names)
    if hx is None:
        return (None,) * count
    if count == 1:
        return (hx,)
    if not isinstance(hx, tuple | list) or len(hx) != count:
        raise ValueError(
            f"{config.family.title} expects hx as a tuple of {count} tensors "
            f"({', '.join(name + '_0' for name in config.family.state_names)})"
        )
    return tuple(hx)


def pack_state(config: RNNConfig, parts: Sequence[Any]) -> Any:
    """The inverse of :func:`state_parts`: one value, or a tuple for several parts."""
    if len(parts) != len(config.family.state_names):
        raise ValueError(
            f"{config.family.title}'s state has {len(config.family.state_names)} parts, "
            f"got {len(parts)}"
        )
    return parts[0] if len(parts) == 1 else tuple(parts)


def map_state(fn: Callable[..., Any], *states: Any) -> Any:
    """``fn`` applied to a state, part by part when it is a tuple; ``None`` stays ``None``.

    With several states, ``fn`` receives their corresponding parts.

    >>> map_state(lambda h: h[:1], (np.zeros((2, 3)), np.ones((2, 4))))[1].shape
    (1, 4)
    >>> map_state(np.concatenate, None) is None
    True
    """
    if states[0] is None:
        return None
    if isinstance(states[0], tuple | list):
        return tuple(fn(*parts) for parts in zip(*states, strict=True))
    return fn(*states)


def output_part(state: Any) -> Any:
    """The part of a state that the output shows: ``h`` (the state itself, or its first part).

    >>> output_part((np.zeros(2), np.ones(3))).shape
    (2,)
    """
    return state[0] if isinstance(state, tuple | list) else state
