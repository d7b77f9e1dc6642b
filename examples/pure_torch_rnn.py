"""A pure-PyTorch Elman RNN behind nn.RNN's interface, and a subtly broken variant.

``LoopRNN`` re-implements nn.RNN with explicit Python loops (the manual loop of the
tutorials) and passes the suite::

    rnn-conformance --impl examples.pure_torch_rnn:LoopRNN

It declares the capabilities it does not implement, so the properties needing them
are skipped with the reason instead of failing. ``ForwardOnlyReverseRNN`` makes the
classic bidirectional mistake (the reverse direction reads the sequence forwards) and
shows what failures look like::

    rnn-conformance --impl examples.pure_torch_rnn:ForwardOnlyReverseRNN
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoopRNN(nn.Module):
    """nn.RNN's constructor, parameter names, shapes and forward, written as loops."""

    # No PackedSequence input and no nn.RNN-style argument checking in this example.
    rnn_conformance_unsupported = ("packed_sequences", "error_contract")

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        factory = {"device": device, "dtype": dtype}
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            fan_in = input_size if layer == 0 else directions * hidden_size
            for suffix in ("", "_reverse")[:directions]:
                name = f"_l{layer}{suffix}"
                shapes = {"weight_ih": (hidden_size, fan_in), "weight_hh": (hidden_size,) * 2}
                if bias:
                    shapes.update(bias_ih=(hidden_size,), bias_hh=(hidden_size,))
                for kind, shape in shapes.items():
                    self.register_parameter(
                        kind + name, nn.Parameter(torch.empty(shape, **factory))
                    )
        self.reset_parameters()

    def reset_parameters(self):
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as nn.RNN."""
        bound = 1 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def _direction(self, x, h, layer, reverse):
        name = f"_l{layer}" + ("_reverse" if reverse else "")
        w_ih, w_hh = getattr(self, "weight_ih" + name), getattr(self, "weight_hh" + name)
        b = 0
        if self.bias:
            b = getattr(self, "bias_ih" + name) + getattr(self, "bias_hh" + name)
        act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        steps = (
            range(x.shape[0] - 1, -1, -1) if self.reads_backwards(reverse) else range(x.shape[0])
        )
        outputs = [None] * x.shape[0]
        for t in steps:
            h = act(x[t] @ w_ih.T + b + h @ w_hh.T)
            outputs[t] = h
        return torch.stack(outputs), h

    def reads_backwards(self, reverse):
        """Whether a direction runs from the last step to the first."""
        return reverse

    def forward(self, input, hx=None):
        """``(output, h_n)`` for (L, N, H_in), (N, L, H_in) or unbatched (L, H_in) input."""
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        if hx is None:
            hx = x.new_zeros(directions * self.num_layers, x.shape[1], self.hidden_size)
        elif not batched:
            hx = hx.unsqueeze(1)
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                x = nn.functional.dropout(x, self.dropout, training=True)
            outputs = []
            for d in range(directions):
                out, h = self._direction(x, hx[layer * directions + d], layer, reverse=d == 1)
                outputs.append(out)
                finals.append(h)
            x = torch.cat(outputs, dim=-1)
        output, h_n = x, torch.stack(finals)
        if not batched:
            return output.squeeze(1), h_n.squeeze(1)
        return (output.transpose(0, 1) if self.batch_first else output), h_n


class ForwardOnlyReverseRNN(LoopRNN):
    """LoopRNN whose 'reverse' direction reads the sequence forwards (a classic bug)."""

    def reads_backwards(self, reverse):
        """Always forwards: the bug."""
        return False
