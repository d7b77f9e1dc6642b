"""The configuration of one ``nn.RNN`` and the facts that follow from it.

An :class:`RNNConfig` is what the config strategy draws and what every property
receives. It knows nn.RNN's constructor arguments, its parameter names in
registration order, and the shapes of ``output`` and ``h_n`` for any input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "Nonlinearity",
    "RNNConfig",
]

Nonlinearity = Literal["tanh", "relu"]


@dataclass(frozen=True)
class RNNConfig:
    """Constructor arguments of one ``torch.nn.RNN``, frozen and hashable.

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

    @property
    def num_directions(self) -> int:
        """``D`` in nn.RNN's shape table: 2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    def constructor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``nn.RNN(**kwargs)`` (without device and dtype).

        >>> RNNConfig(2, 3).constructor_kwargs()["hidden_size"]
        3
        """
        return asdict(self)

    def describe(self) -> str:
        """One line naming every knob, for failure reports and ``event()`` labels."""
        return (
            f"RNN(input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, nonlinearity={self.nonlinearity!r}, "
            f"bias={self.bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
            f"bidirectional={self.bidirectional})"
        )

    def layer_input_size(self, layer: int) -> int:
        """Feature size that layer ``layer`` consumes: input_size, then D * hidden_size."""
        return self.input_size if layer == 0 else self.num_directions * self.hidden_size

    def parameter_names(self) -> list[str]:
        """nn.RNN's parameter names in registration order.

        Layer-major, direction-minor; within a direction ``weight_ih``, ``weight_hh``,
        then (if ``bias``) ``bias_ih``, ``bias_hh``.
        """
        return list(self.parameter_shapes())

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Map each parameter name to its shape, in registration order."""
        shapes: dict[str, tuple[int, ...]] = {}
        hidden = self.hidden_size
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes["weight_ih" + suffix] = (hidden, self.layer_input_size(layer))
                shapes["weight_hh" + suffix] = (hidden, hidden)
                if self.bias:
                    shapes["bias_ih" + suffix] = (hidden,)
                    shapes["bias_hh" + suffix] = (hidden,)
        return shapes

    def input_shape(self, seq_len: int, batch_size: int | None) -> tuple[int, ...]:
        """Shape of ``input``: (L, H_in) unbatched, (L, N, H_in) or (N, L, H_in) batched."""
        if batch_size is None:
            return (seq_len, self.input_size)
        if self.batch_first:
            return (batch_size, seq_len, self.input_size)
        return (seq_len, batch_size, self.input_size)

    def output_shape(self, seq_len: int, batch_size: int | None) -> tuple[int, ...]:
        """Shape of ``output``: like the input's, with D * hidden_size features."""
        features = self.num_directions * self.hidden_size
        if batch_size is None:
            return (seq_len, features)
        if self.batch_first:
            return (batch_size, seq_len, features)
        return (seq_len, batch_size, features)

    def hidden_shape(self, batch_size: int | None) -> tuple[int, ...]:
        """Shape of ``h_0`` and ``h_n``: (D * num_layers, [N,] H), whatever batch_first is."""
        layers = self.num_directions * self.num_layers
        if batch_size is None:
            return (layers, self.hidden_size)
        return (layers, batch_size, self.hidden_size)
