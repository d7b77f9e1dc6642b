"""The case model: one complete call of a recurrent module, as the strategies draw it.

An :class:`RNNCase` holds a configuration, the weights, the input, the initial state and
the memory layout of the tensors, all as float64 NumPy arrays holding numbers exactly
representable in the case's dtype. Properties receive cases; the harness turns them into
tensors for the target and arrays for the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.config import RNNConfig

__all__ = ["MEMORY_LAYOUTS", "MemoryLayout", "RNNCase"]

MemoryLayout = Literal["contiguous", "transposed", "strided"]
MEMORY_LAYOUTS: tuple[MemoryLayout, ...] = ("contiguous", "transposed", "strided")


@dataclass(frozen=True)
class RNNCase:
    """One complete call of an RNN: configuration, weights, input, ``h_0`` and layout.

    ``input`` is laid out as the config says (``batch_first`` honoured; 2-D when
    ``batch_size`` is None); arrays are float64 holding ``dtype``-exact values. ``hx`` is
    ``None`` (a call without ``h_0``), an array, or a tuple of arrays for a family whose
    state has several parts (nn.LSTM's ``(h_0, c_0)``).
    :func:`rnn_conformance.generation.strategies.rnn_cases` draws them; they can also be built.

    Example:
        >>> config = RNNConfig(input_size=2, hidden_size=3)
        >>> case = RNNCase(
        ...     config,
        ...     "float32",
        ...     seq_len=4,
        ...     batch_size=None,
        ...     input=np.zeros(config.input_shape(4, None)),
        ...     hx=None,
        ...     params={k: np.zeros(s) for k, s in config.parameter_shapes().items()},
        ... )
        >>> case.batched, case.input.shape
        (False, (4, 2))
        >>> case.label()
        'tanh, unidirectional, layers=1, seq_first, unbatched, no hx, bias, float32'

    """

    config: RNNConfig
    dtype: str
    seq_len: int
    batch_size: int | None
    input: Array = field(repr=False)
    hx: Any = field(repr=False)
    params: dict[str, Array] = field(repr=False)
    memory_layout: MemoryLayout = "contiguous"

    @property
    def batched(self) -> bool:
        """True for 3-D input."""
        return self.batch_size is not None

    def describe(self) -> str:
        """A bug-report paragraph: config, dtype, shapes, hx and layout."""
        hx = "None (zeros)" if self.hx is None else f"shape {_shapes(self.hx)}"
        batch = "unbatched" if self.batch_size is None else f"batch_size={self.batch_size}"
        return (
            f"{self.config.describe()}\n  dtype={self.dtype}, seq_len={self.seq_len}, {batch}, "
            f"input shape {self.input.shape}, hx {hx}, memory layout {self.memory_layout}"
        )

    def label(self) -> str:
        """A coarse class of this case for ``hypothesis.event`` coverage statistics."""
        c = self.config
        parts = [
            *c.family.labels(c),
            "bidirectional" if c.bidirectional else "unidirectional",
            f"layers={c.num_layers}",
            "batch_first" if c.batch_first else "seq_first",
            "unbatched"
            if self.batch_size is None
            else ("empty batch" if self.batch_size == 0 else "batched"),
            "hx" if self.hx is not None else "no hx",
            "bias" if c.bias else "no bias",
            self.dtype,
        ]
        return ", ".join(parts)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints falsifying examples through this hook: show the config and
        # the values in full when small enough to paste, summarised when not.
        arrays = {"input": self.input, **_named("hx", self.hx), **self.params}
        lines = [
            f"RNNCase({self.config!r}, dtype={self.dtype!r}, seq_len={self.seq_len}, "
            f"batch_size={self.batch_size}, memory_layout={self.memory_layout!r},"
        ]
        for name, value in arrays.items():
            text = (
                "None"
                if value is None
                else np.array2string(
                    value, threshold=64, floatmode="unique", separator=", ", max_line_width=100
                )
            )
            lines.append(f"  {name}=" + text.replace("\n", "\n    ") + ",")
        printer.text("\n".join(lines) + "\n)")

    def with_(self, **changes: Any) -> RNNCase:
        """A copy with fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)


def _shapes(state: Any) -> Any:
    """A state's shape, or the shapes of its parts: ``((2, 3, 4), (2, 3, 5))``."""
    if isinstance(state, tuple | list):
        return tuple(_shapes(part) for part in state)
    return state.shape


def _named(name: str, state: Any) -> dict[str, Any]:
    """A state by name, its parts as ``name[i]``."""
    if isinstance(state, tuple | list):
        return {f"{name}[{i}]": part for i, part in enumerate(state)}
    return {name: state}
