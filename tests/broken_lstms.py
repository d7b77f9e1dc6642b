"""Deliberately broken LSTMs, each subclassing nn.LSTM (or nn.LSTMCell) and breaking one thing.

A class's docstring describes its defect. Which property must catch it, with which
message, is stated once, in the catalogue ``tests/broken_catalogue.py`` (these entries run
with ``--rnn-family lstm``).
"""

import torch
from dropped_between_layers import (
    forward_dropping_between_layers,
    mask_per_direction,
    same_mask_every_step,
)
from edited_parameters import forward_with_edited_parameters
from torch import nn


class InputForgetSwappedLSTM(nn.LSTM):
    """Reads the gate rows in the order f, i, g, o: the input and forget gates swapped."""

    def forward(self, input, hx=None):
        def swap(name, parameter, module):
            if name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
                H = module.hidden_size
                parameter.copy_(
                    torch.cat([parameter[H : 2 * H], parameter[:H], parameter[2 * H :]])
                )

        return forward_with_edited_parameters(nn.LSTM, self, input, hx, swap)


class CellStateAsHiddenStateLSTM(nn.LSTM):
    """Returns (c_n, c_n) in place of (h_n, c_n): the cell state where h_n belongs.

    Only where the two have the same shape (proj_size == 0); a projected LSTM returns
    nn.LSTM's (h_n, c_n).
    """

    def forward(self, input, hx=None):
        output, (h_n, c_n) = super().forward(input, hx)
        if self.proj_size:
            return output, (h_n, c_n)
        return output, (c_n, c_n)


class IdentityProjectionLSTM(nn.LSTM):
    """Ignores weight_hr: projects h by keeping its first proj_size units, as if W_hr = [I 0]."""

    def forward(self, input, hx=None):
        def identity(name, parameter, module):
            if name.startswith("weight_hr"):
                parameter.copy_(
                    torch.eye(*parameter.shape, dtype=parameter.dtype, device=parameter.device)
                )

        return forward_with_edited_parameters(nn.LSTM, self, input, hx, identity)


class IgnoresCellStateLSTM(nn.LSTM):
    """Uses the given h_0 but silently starts the cell state from zeros, whatever c_0 is."""

    def forward(self, input, hx=None):
        if hx is None:
            return super().forward(input)
        h_0, c_0 = hx
        return super().forward(input, (h_0, torch.zeros_like(c_0)))


class NoForgetGateHiddenBiasLSTM(nn.LSTM):
    """Drops the forget gate's block of bias_hh (its other three gates keep theirs)."""

    def forward(self, input, hx=None):
        def drop(name, parameter, module):
            if name.startswith("bias_hh"):
                H = module.hidden_size
                parameter[H : 2 * H] = 0

        return forward_with_edited_parameters(nn.LSTM, self, input, hx, drop)


class SwappedStateLSTMCell(nn.LSTMCell):
    """Returns (c', h') instead of (h', c'): the new state's parts in the wrong order."""

    def forward(self, input, hx=None):
        h, c = super().forward(input, hx)
        return c, h


class SingleTensorHxLSTM(nn.LSTM):
    """Accepts a bare tensor hx as h_0 (c_0 zeros) instead of requiring the tuple (h_0, c_0)."""

    def forward(self, input, hx=None):
        if isinstance(hx, torch.Tensor):
            hx = (hx, hx.new_zeros(*hx.shape[:-1], self.hidden_size))
        return super().forward(input, hx)


class ExtraStatePartsLSTM(nn.LSTM):
    """Accepts an hx tuple longer than (h_0, c_0), silently ignoring the parts after c_0."""

    def forward(self, input, hx=None):
        if isinstance(hx, tuple) and len(hx) > 2:
            hx = hx[:2]
        return super().forward(input, hx)


class SameMaskEveryStepLSTM(nn.LSTM):
    """Keras-style recurrent dropout: one mask per sequence, reused at every time step.

    In training mode, the lower layer's output is multiplied by one dropout mask per
    sequence and element, the same at every step (torch draws a fresh one per step).
    """

    def forward(self, input, hx=None):
        return forward_dropping_between_layers(nn.LSTM, self, input, hx, same_mask_every_step)


class PerDirectionMaskLSTM(nn.LSTM):
    """Drops the lower layer's output separately for each direction of the next layer."""

    def forward(self, input, hx=None):
        return forward_dropping_between_layers(nn.LSTM, self, input, hx, mask_per_direction)


class NoBiasByDefaultLSTM(nn.LSTM):
    """Defaults to bias=False when the argument is omitted (nn.LSTM's default is True)."""

    def __init__(self, *args, **kwargs):
        if len(args) < 4:  # bias is nn.LSTM's fourth positional argument
            kwargs.setdefault("bias", False)
        super().__init__(*args, **kwargs)


class NoProjectionLSTM(nn.LSTM):
    """An LSTM without proj_size, which it declares: refuses any proj_size but 0."""

    rnn_conformance_unsupported = ("projection",)

    def __init__(self, *args, proj_size=0, **kwargs):
        if proj_size != 0:
            raise NotImplementedError("proj_size > 0 is not supported")
        super().__init__(*args, **kwargs)
