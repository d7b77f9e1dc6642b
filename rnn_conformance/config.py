"""The configuration of one recurrent module and the facts that follow from it.

An :class:`RNNConfig` is what the config strategy draws and what every property receives.
It names the family (``rnn``, see :mod:`rnn_conformance.families`) and the constructor
arguments, and knows the parameter names in registration order and the shapes of
``output`` and of each part of ``h_n`` for any input.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from rnn_conformance.families import Family, family_named
from rnn_conformance.parameters import parameter_name

__all__ = [
    "Nonlinearity",
    "RNNConfig",
]

Nonlinearity = Literal["tanh", "relu"]


@dataclass(frozen=True)
class RNNConfig:
    """Constructor arguments of one recurrent module, frozen and hashable.

    ``nonlinearity`` is nn.RNN's own argument and ``proj_size`` nn.LSTM's; a family that
    does not take one requires its default. Invalid family arguments raise ``ValueError``.

    Example:
        >>> cfg = RNNConfig(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
        >>> cfg.num_directions
        2
        >>> cfg.output_shape(seq_len=5, batch_size=7)
        (5, 7, 8)
        >>> cfg.hidden_shape(batch_size=7)
        (4, 7, 4)
        >>> cfg.parameter_names()[:4]
        ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']

    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    nonlinearity: Nonlinearity = "tanh"
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    proj_size: int = 0
    family_name: str = "rnn"

    def __post_init__(self) -> None:
        self.family.check(self)

    def __repr__(self) -> str:
        # Evaluable and short: a family's unused arguments (at their defaults) are left out.
        shown = [
            f"{name}={value!r}"
            for name, value in self.constructor_kwargs().items()
            if name in _FIELDS
        ]
        if self.family_name != "rnn":
            shown.append(f"family_name={self.family_name!r}")
        return f"RNNConfig({', '.join(shown)})"

    @property
    def family(self) -> Family:
        """The recurrent family (:mod:`rnn_conformance.families`) this config belongs to."""
        return family_named(self.family_name)

    @property
    def num_directions(self) -> int:
        """``D`` in the shape tables: 2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    def constructor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the family's module, in its signature's order.

        Without device and dtype.

        >>> list(RNNConfig(2, 3).constructor_kwargs())  # doctest: +NORMALIZE_WHITESPACE
        ['input_size', 'hidden_size', 'num_layers', 'nonlinearity', 'bias', 'batch_first',
         'dropout', 'bidirectional']
        """
        family = self.family_kwargs()
        kwargs: dict[str, Any] = {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
        }
        if "nonlinearity" in family:
            kwargs["nonlinearity"] = family.pop("nonlinearity")
        kwargs.update(
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )
        return {**kwargs, **family}

    def family_kwargs(self) -> dict[str, Any]:
        """The family's own constructor arguments (``nonlinearity`` for nn.RNN)."""
        return self.family.family_kwargs(self)

    def cell_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the family's cell with this config's sizes."""
        return self.family.cell_kwargs(self)

    def describe(self) -> str:
        """One line naming every knob, for failure reports and ``event()`` labels."""
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.constructor_kwargs().items())
        return f"{self.family.title.removeprefix('nn.')}({kwargs})"

    def with_(self, **changes: Any) -> RNNConfig:
        """A copy with fields replaced (``dataclasses.replace``), validated again."""
        return replace(self, **changes)

    def layer_input_size(self, layer: int) -> int:
        """Feature size that layer ``layer`` consumes: input_size, then D * output size."""
        return self.input_size if layer == 0 else self.num_directions * self.output_size

    @property
    def output_size(self) -> int:
        """Features per direction in ``output``: the size of the state's first part."""
        return self.state_sizes[0]

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """Feature size of each part of the state (``h``, then ``c`` for nn.LSTM)."""
        return self.family.state_sizes(self)

    def parameter_names(self) -> list[str]:
        """Parameter names in registration order: layer-major, direction-minor."""
        return list(self.parameter_shapes())

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Map each parameter name to its shape, in registration order."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.num_layers):
            layer_shapes = self.family.direction_parameters(self, layer)
            for direction in range(self.num_directions):
                for stem, shape in layer_shapes.items():
                    shapes[parameter_name(stem, layer=layer, direction=direction)] = shape
        return shapes

    def input_shape(self, seq_len: int, batch_size: int | None) -> tuple[int, ...]:
        """Shape of ``input``: (L, H_in) unbatched, (L, N, H_in) or (N, L, H_in) batched."""
        return self._sequence_shape(seq_len, batch_size, self.input_size)

    def output_shape(self, seq_len: int, batch_size: int | None) -> tuple[int, ...]:
        """Shape of ``output``: like the input's, with D * output size features."""
        return self._sequence_shape(seq_len, batch_size, self.num_directions * self.output_size)

    def _sequence_shape(
        self, seq_len: int, batch_size: int | None, features: int
    ) -> tuple[int, ...]:
        if batch_size is None:
            return (seq_len, features)
        if self.batch_first:
            return (batch_size, seq_len, features)
        return (seq_len, batch_size, features)

    def hidden_shape(self, batch_size: int | None, part: int = 0) -> tuple[int, ...]:
        """Shape of a part of ``h_0``/``h_n``: (D * num_layers, [N,] size).

        Whatever batch_first is.
        """
        layers = self.num_directions * self.num_layers
        size = self.state_sizes[part]
        if batch_size is None:
            return (layers, size)
        return (layers, batch_size, size)

    def state_shapes(self, batch_size: int | None) -> tuple[tuple[int, ...], ...]:
        """:meth:`hidden_shape` of every state part."""
        return tuple(self.hidden_shape(batch_size, part) for part in range(len(self.state_sizes)))


_FIELDS = {f.name for f in fields(RNNConfig)}
