"""The toy leaky family's module and cell, in plain torch behind nn.RNN's interface.

``h' = (1 - leak) * h + leak * tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)``, with the
leak a constructor argument of the module (after ``num_layers``, where nn.RNN takes its
``nonlinearity``) and of the cell. Everything else is nn.RNN's: parameter names, shapes
and U(-1/sqrt(H), 1/sqrt(H)) initialisation, stacked layers, both directions,
``batch_first``, unbatched input, ``hx``, PackedSequence input, inverted dropout between
layers in training mode (a fresh mask for every element of every step, which both
directions of the next layer read), any float dtype, and nn.RNN's exceptions for bad
constructor arguments and calls. Those come from subclassing ``torch.nn.RNNBase`` (in
mode ``RNN_TANH``, for its parameters, constructor checks and ``check_forward_args``) and
``torch.nn.RNNCellBase``; the recurrence itself is written here, step by step.

These are the family's default targets (``ToyLeaky.module_target``/``cell_target``), so
they are also what the properties ask for the exception types a call should raise.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

__all__ = ["ToyLeakyCell", "ToyLeakyRNN"]


def _checked_leak(leak: object) -> float:
    """The leak as a float; TypeError for a non-number, ValueError outside (0, 1]."""
    if isinstance(leak, bool) or not isinstance(leak, numbers.Real):
        raise TypeError(f"leak should be a real number, got: {type(leak).__name__}")
    if not 0.0 < leak <= 1.0:  # NaN included
        raise ValueError(f"leak should be in (0, 1], got {leak!r}")
    return float(leak)


def _leaky_step(x: Tensor, h: Tensor, w_ih, w_hh, b_ih, b_hh, leak: float) -> Tensor:
    """One step on a batch: ``(1 - leak) * h + leak * tanh(W_ih x + b_ih + W_hh h + b_hh)``."""
    n = torch.tanh(F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh))
    return (1.0 - leak) * h + leak * n


class ToyLeakyRNN(nn.RNNBase):
    """The toy leaky family's module: nn.RNN with ``leak`` in place of ``nonlinearity``."""

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        leak=1.0,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        leak = _checked_leak(leak)
        super().__init__(
            "RNN_TANH",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )
        self.leak = leak

    def extra_repr(self) -> str:
        """nn.RNN's, with the leak."""
        return super().extra_repr() + ("" if self.leak == 1.0 else f", leak={self.leak}")

    def _weights(self, layer: int, reverse: bool) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        stems = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        # getattr, not _flat_weights: torch.func.functional_call substitutes attributes.
        return tuple(
            getattr(self, stem + suffix) if self.bias or stem.startswith("weight") else None
            for stem in stems
        )

    def _direction(self, steps, sizes, h, layer, reverse):
        """Run one direction over ``steps`` (one (b_t, F) tensor per step) from ``h``.

        ``sizes[t]`` is how many sequences are still running at step t (a PackedSequence's
        batch sizes, non-increasing): the first ``sizes[t]`` rows of the state step, the
        others keep their state (ended, forwards; not yet begun, in reverse).
        """
        weights = self._weights(layer, reverse)
        outputs = [None] * len(steps)
        order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
        for t in order:
            b = sizes[t]
            new = _leaky_step(steps[t], h[:b], *weights, self.leak)
            outputs[t] = new
            h = new if b == h.shape[0] else torch.cat([new, h[b:]])
        return outputs, h

    def forward(self, input, hx=None):
        """``(output, h_n)`` as nn.RNN's, for padded or packed input."""
        self._update_flat_weights()
        directions = 2 if self.bidirectional else 1
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            max_batch = int(batch_sizes[0])
            sizes = [int(b) for b in batch_sizes]
        else:
            # nn.RNN.forward's own checks, in its order.
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor instead"
                )
            batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(batch_dim)
                if hx is not None:
                    if hx.dim() != 2:
                        raise RuntimeError(
                            f"For unbatched 2-D input, hx should also be 2-D but got "
                            f"{hx.dim()}-D tensor"
                        )
                    hx = hx.unsqueeze(1)
            elif hx is not None and hx.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor"
                )
            data, batch_sizes, sorted_indices, unsorted_indices = input, None, None, None
            max_batch = input.size(batch_dim)
        if hx is None:
            shape = (self.num_layers * directions, max_batch, self.hidden_size)
            hx = torch.zeros(shape, dtype=data.dtype, device=data.device)
        else:
            hx = self.permute_hidden(hx, sorted_indices)
        self.check_forward_args(data, hx, batch_sizes)

        if packed:
            sequence = data  # (sum of batch sizes, F)
        else:
            sequence = data.transpose(0, 1) if self.batch_first else data  # (L, N, F)
            if sequence.shape[0] == 0:
                raise RuntimeError("the input sequence must have at least one step")
            sizes = [max_batch] * sequence.shape[0]

        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                # One dropped tensor, read by both directions: a fresh mask per element.
                sequence = F.dropout(sequence, self.dropout, training=True)
            steps = sequence.split(sizes) if packed else sequence.unbind(0)
            outputs = []
            for d in range(directions):
                h0 = hx[layer * directions + d]
                out, h = self._direction(steps, sizes, h0, layer, reverse=d == 1)
                outputs.append(torch.cat(out) if packed else torch.stack(out))
                finals.append(h)
            sequence = torch.cat(outputs, dim=-1)
        h_n = torch.stack(finals)

        if packed:
            output = PackedSequence(sequence, batch_sizes, sorted_indices, unsorted_indices)
            return output, self.permute_hidden(h_n, unsorted_indices)
        output = sequence.transpose(0, 1) if self.batch_first else sequence
        if not batched:
            return output.squeeze(batch_dim), h_n.squeeze(1)
        return output, h_n


class ToyLeakyCell(nn.RNNCellBase):
    """The toy leaky family's cell: nn.RNNCell with ``leak`` in place of ``nonlinearity``."""

    def __init__(self, input_size, hidden_size, bias=True, leak=1.0, device=None, dtype=None):
        leak = _checked_leak(leak)
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.leak = leak

    def forward(self, input, hx=None):
        """One step, ``h'``, for (N, H_in) or unbatched (H_in,) input, as nn.RNNCell."""
        if input.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            h = torch.zeros(x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
        else:
            h = hx if batched else hx.unsqueeze(0)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        new = _leaky_step(x, h, *weights, self.leak)
        return new if batched else new.squeeze(0)
