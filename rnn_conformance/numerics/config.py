"""The configuration of one recurrent module and the facts that follow from it.

An :class:`RNNConfig` is what the config strategy draws and what every property receives.
It holds the :class:`~rnn_conformance.numerics.families.Family` itself, the constructor arguments
every family shares, and the family's own arguments as data the family declares
(:attr:`Family.options <rnn_conformance.numerics.families.Family.options>`). It is the one place
shapes come from: the parameter names in registration order and the shapes of ``input``,
``output`` and each part of ``h_n``, derived from the family's state sizes and
per-direction parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnn_conformance.numerics.families import FAMILIES, Family, family_named
from rnn_conformance.numerics.parameters import parameter_name

__all__ = ["SHARED_ARGUMENTS", "RNNConfig"]

SHARED_ARGUMENTS = (
    "input_size",
    "hidden_size",
    "num_layers",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
)
"""The constructor arguments of every family, in nn.RNNBase's order."""


@dataclass(frozen=True, init=False)
class RNNConfig:
    """Constructor arguments of one recurrent module, frozen and hashable.

    ``family`` is a :class:`~rnn_conformance.numerics.families.Family` or its registered name
    (nn.RNN's by default); any other keyword is one of the family's own arguments
    (``nonlinearity`` for nn.RNN, ``proj_size`` for nn.LSTM), which default to the
    family's defaults. An argument the family does not take, or a bad value, raises
    ``ValueError``.

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
        >>> RNNConfig(3, 5, family="lstm", proj_size=2).state_sizes
        (2, 5)

    """

    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    family: Family
    options: tuple[tuple[str, Any], ...]
    """The family's own arguments, every one of them, in the family's order."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        family: str | Family = "rnn",
        **options: Any,
    ) -> None:
        kind = family_named(family)
        kind.check_options(options)
        values = {**kind.options, **options}
        shared = dict(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            family=kind,
            options=tuple((name, values[name]) for name in kind.options),
        )
        for name, value in shared.items():
            object.__setattr__(self, name, value)
        kind.check(self)

    def __repr__(self) -> str:
        # Evaluable, and every argument shown: a falsifying example names the whole module.
        shown = [f"{name}={value!r}" for name, value in self.constructor_kwargs().items()]
        if self.family is not FAMILIES["rnn"]:
            shown.append(f"family={self.family.name!r}")
        return f"RNNConfig({', '.join(shown)})"

    def option(self, name: str) -> Any:
        """The value of the family's own argument ``name``; ``KeyError`` if it has none."""
        for key, value in self.options:
            if key == name:
                return value
        raise KeyError(f"{self.family.title} takes no {name} argument")

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
        kwargs: dict[str, Any] = {}
        for name in SHARED_ARGUMENTS:
            kwargs[name] = getattr(self, name)
            if name == self.family.options_after:
                kwargs.update(self.family_kwargs())
        return kwargs

    def family_kwargs(self) -> dict[str, Any]:
        """The family's own constructor arguments (``nonlinearity`` for nn.RNN)."""
        return dict(self.options)

    def cell_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the family's cell with this config's sizes."""
        return self.family.cell_kwargs(self)

    def needed_capabilities(self) -> frozenset[str]:
        """The capabilities this configuration needs.

        Capability names are those of :mod:`rnn_conformance.generation.capabilities`.

        ``without_bias``, ``bidirectional``, and what the family's own arguments need
        (nn.LSTM's ``projection``).

        >>> sorted(RNNConfig(2, 3, bias=False, family="lstm", proj_size=1).needed_capabilities())
        ['projection', 'without_bias']
        """
        shared = {"without_bias": not self.bias, "bidirectional": self.bidirectional}
        needed = frozenset(name for name, needs in shared.items() if needs)
        return needed | self.family.needed_capabilities(self)

    def describe(self) -> str:
        """One line naming every knob, for failure reports and ``event()`` labels."""
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.constructor_kwargs().items())
        return f"{self.family.title.removeprefix('nn.')}({kwargs})"

    def label(self) -> str:
        """A coarse class of the configuration for ``hypothesis.event`` statistics.

        >>> RNNConfig(2, 3, bidirectional=True, bias=False).label()
        'tanh, bidirectional, layers=1, no bias'
        """
        return ", ".join(
            [
                *self.family.labels(self),
                "bidirectional" if self.bidirectional else "unidirectional",
                f"layers={self.num_layers}",
                "bias" if self.bias else "no bias",
            ]
        )

    def with_(self, **changes: Any) -> RNNConfig:
        """A copy with arguments replaced, validated again.

        Another ``family`` starts from that family's defaults for its own arguments.
        """
        family = family_named(changes.pop("family", self.family))
        shared = {name: changes.pop(name, getattr(self, name)) for name in SHARED_ARGUMENTS}
        own = self.family_kwargs() if family is self.family else {}
        return RNNConfig(**shared, family=family, **{**own, **changes})

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
            stems = self.family.direction_parameters(self, self.layer_input_size(layer))
            for direction in range(self.num_directions):
                for stem, shape in stems.items():
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
