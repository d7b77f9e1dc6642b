"""Deliberately broken GRUs, each subclassing nn.GRU (or nn.GRUCell) and breaking one thing.

A class's docstring describes its defect. Which property must catch it, with which
message, is stated once, in the catalogue ``tests/broken_catalogue.py`` (these entries run
with ``--rnn-family gru``).
"""

import torch
from dropped_between_layers import (
    forward_dropping_between_layers,
    mask_per_direction,
    same_mask_every_step,
)
from edited_parameters import forward_with_edited_parameters
from torch import nn


def _manual_forward(module, input, hx, new_state):
    """nn.GRU's forward (eval mode) in plain torch, each step ``new_state(x, h, weights)``.

    ``weights`` holds the layer-direction's ``weight_ih``, ``weight_hh`` and, with bias,
    ``bias_ih`` and ``bias_hh``.
    """
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(1)
    if batched and module.batch_first:
        x = x.transpose(0, 1)
    D = 2 if module.bidirectional else 1
    steps, batch = x.shape[:2]
    if hx is None:
        hx = x.new_zeros(D * module.num_layers, batch, module.hidden_size)
    elif not batched:
        hx = hx.unsqueeze(1)
    layer_input, finals = x, []
    for layer in range(module.num_layers):
        outs = []
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            stems = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if module.bias else ())
            weights = {stem: getattr(module, stem + suffix) for stem in stems}
            h, states = hx[layer * D + d], [None] * steps
            for t in range(steps - 1, -1, -1) if d else range(steps):
                h = new_state(layer_input[t], h, weights)
                states[t] = h
            finals.append(h)
            outs.append(torch.stack(states))
        layer_input = torch.cat(outs, dim=-1)
    output, h_n = layer_input, torch.stack(finals)
    if batched and module.batch_first:
        output = output.transpose(0, 1)
    if not batched:
        output, h_n = output.squeeze(1), h_n.squeeze(1)
    return output, h_n


def _gates(x, h, weights):
    """The three blocks of each projection: ``(gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n)``."""
    gi = x @ weights["weight_ih"].T
    gh = h @ weights["weight_hh"].T
    if "bias_ih" in weights:
        gi, gh = gi + weights["bias_ih"], gh + weights["bias_hh"]
    return gi.chunk(3, dim=-1), gh.chunk(3, dim=-1)


class ResetBeforeHiddenLinearGRU(nn.GRU):
    """Applies the reset gate to h before the hidden linear, as the original GRU paper does.

    ``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)`` instead of nn.GRU's
    ``tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (ONNX's ``linear_before_reset=0``).
    """

    def forward(self, input, hx=None):
        def step(x, h, weights):
            (i_r, i_z, i_n), (h_r, h_z, _) = _gates(x, h, weights)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            H = self.hidden_size
            hidden = (r * h) @ weights["weight_hh"][2 * H :].T
            if "bias_hh" in weights:
                hidden = hidden + weights["bias_hh"][2 * H :]
            n = torch.tanh(i_n + hidden)
            return (1 - z) * n + z * h

        return _manual_forward(self, input, hx, step)


class UnnormalisedUpdateGRU(nn.GRU):
    """Forgets the 1 - z factor, h' = n + z * h, so that h may leave [-1, 1]."""

    def forward(self, input, hx=None):
        def step(x, h, weights):
            (i_r, i_z, i_n), (h_r, h_z, h_n) = _gates(x, h, weights)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            return torch.tanh(i_n + r * h_n) + z * h

        return _manual_forward(self, input, hx, step)


class ResetUpdateSwappedGRU(nn.GRU):
    """Reads the gate rows in the order z, r, n: the reset and update gates swapped."""

    def forward(self, input, hx=None):
        def swap(name, parameter, module):
            H = module.hidden_size
            parameter.copy_(torch.cat([parameter[H : 2 * H], parameter[:H], parameter[2 * H :]]))

        return forward_with_edited_parameters(nn.GRU, self, input, hx, swap)


class FlippedUpdateGRU(nn.GRU):
    """Uses the other update convention, h' = z * n + (1 - z) * h.

    (Written as nn.GRU with the update gate's rows negated: ``sigmoid(-a) = 1 - sigmoid(a)``.)
    """

    def forward(self, input, hx=None):
        def negate_update(name, parameter, module):
            H = module.hidden_size
            parameter[H : 2 * H] = -parameter[H : 2 * H]

        return forward_with_edited_parameters(nn.GRU, self, input, hx, negate_update)


class HiddenBiasOutsideResetGRU(nn.GRU):
    """Adds b_hn outside the reset gate: n = tanh(W_in x + b_in + r * (W_hn h) + b_hn).

    (Written as nn.GRU with b_hn moved into b_in.)
    """

    def forward(self, input, hx=None):
        def move(name, parameter, module):
            if name.startswith("bias_hh"):
                H = module.hidden_size
                inputs = getattr(module, name.replace("bias_hh", "bias_ih"))
                inputs[2 * H :] += parameter[2 * H :]
                parameter[2 * H :] = 0

        return forward_with_edited_parameters(nn.GRU, self, input, hx, move)


class TupleHxGRU(nn.GRU):
    """Accepts hx as a tuple, taking its first tensor as h_0 (an LSTM-style (h_0, c_0))."""

    def forward(self, input, hx=None):
        if isinstance(hx, tuple | list):
            hx = hx[0]
        return super().forward(input, hx)


class HiddenBiasOutsideResetGRUCell(nn.GRUCell):
    """A GRUCell that adds b_hn outside the reset gate, as if r * (W_hn h) + b_hn.

    ``n = tanh(W_in x + b_in + r * W_hn h + b_hn)``, where nn.GRUCell's is
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
    """

    def forward(self, input, hx=None):
        if hx is None:
            hx = input.new_zeros(*input.shape[:-1], self.hidden_size)
        weights = {"weight_ih": self.weight_ih, "weight_hh": self.weight_hh}
        (i_r, i_z, i_n), (h_r, h_z, h_n) = _gates(input, hx, weights)
        if self.bias:
            b_ir, b_iz, b_in = self.bias_ih.chunk(3)
            b_hr, b_hz, b_hn = self.bias_hh.chunk(3)
            i_r, i_z, i_n = i_r + b_ir + b_hr, i_z + b_iz + b_hz, i_n + b_in + b_hn
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1 - z) * n + z * hx


class SameMaskEveryStepGRU(nn.GRU):
    """Keras-style recurrent dropout: one mask per sequence, reused at every time step.

    In training mode, the lower layer's output is multiplied by one dropout mask per
    sequence and element, the same at every step (torch draws a fresh one per step).
    """

    def forward(self, input, hx=None):
        return forward_dropping_between_layers(nn.GRU, self, input, hx, same_mask_every_step)


class PerDirectionMaskGRU(nn.GRU):
    """Drops the lower layer's output separately for each direction of the next layer."""

    def forward(self, input, hx=None):
        return forward_dropping_between_layers(nn.GRU, self, input, hx, mask_per_direction)


class TwoLayersByDefaultGRU(nn.GRU):
    """Defaults to num_layers=2 when the argument is omitted (nn.GRU's default is 1)."""

    def __init__(self, *args, **kwargs):
        if len(args) < 3:  # num_layers is nn.GRU's third positional argument
            kwargs.setdefault("num_layers", 2)
        super().__init__(*args, **kwargs)


class OmittedBatchFirstGRU(nn.GRU):
    """Reports nn.GRU's batch_first=False when it is omitted, but then reads input batch-first.

    As a wrapper does that records nn.GRU's default but leaves the omitted argument to a
    backend whose default is batch-first.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # batch_first is nn.GRU's fifth positional argument.
        self._reads_batch_first = args[4] if len(args) > 4 else kwargs.get("batch_first", True)

    def forward(self, input, hx=None):
        shown, self.batch_first = self.batch_first, self._reads_batch_first
        try:
            return super().forward(input, hx)
        finally:
            self.batch_first = shown
