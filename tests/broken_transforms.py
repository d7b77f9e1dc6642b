"""Deliberately broken transforms: each must be caught by the properties or the proof.

Used as ``--rnn-transform broken_transforms:NAME`` (tests/ on the path), as a user's own
transform would be.
"""

from __future__ import annotations

from typing import Any

import torch

from rnn_conformance.numerics.families import Family
from rnn_conformance.transforms import Transform


class FallsBackToEager(Transform):
    """Claims to transform, but runs the eager module and counts nothing (a silent fallback)."""

    def __init__(self) -> None:
        super().__init__("falls-back-to-eager")

    def wrap_forward(self, module: torch.nn.Module, eager: Any, **_: Any) -> Any:
        return lambda *args: eager(module, *args)


class SpecialisesLength(Transform):
    """An artefact traced at its first call's length, run at that length ever after.

    A later call is cut, or padded with zeros, to the traced length, as an artefact
    without guards would run it: its output has the traced length, whatever the input's.
    """

    def __init__(self) -> None:
        super().__init__("specialises-length")

    def wrap_forward(
        self, module: torch.nn.Module, eager: Any, *, kwargs: dict[str, Any], cell: bool, **_: Any
    ) -> Any:
        time_axis = 1 if kwargs.get("batch_first") else 0
        traced: list[int] = []

        def forward(input: Any, hx: Any = None) -> Any:
            self.calls += 1
            if cell or not isinstance(input, torch.Tensor) or input.ndim < 2:
                return eager(module, input, hx)
            axis = time_axis if input.ndim == 3 else 0
            if not traced:
                traced.append(input.shape[axis])
            length = traced[0]
            if input.shape[axis] >= length:
                input = input.narrow(axis, 0, length)
            else:
                pad = list(input.shape)
                pad[axis] = length - input.shape[axis]
                input = torch.cat([input, input.new_zeros(pad)], dim=axis)
            return eager(module, input, hx)

        return forward


class ResetBeforeLinearGRU(Transform):
    """GRU exported as ONNX's default ``linear_before_reset=0``: r multiplies h, then W_hn.

    nn.GRU computes ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; this transform's
    artefact computes ``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)`` (onnxscript#2852).
    Only one-layer, unidirectional, sequence-first batched calls are rewritten, which is
    enough for the reference property to see it.
    """

    def __init__(self) -> None:
        super().__init__("reset-before-linear")

    def wrap_forward(
        self, module: torch.nn.Module, eager: Any, *, family: Family, cell: bool, **_: Any
    ) -> Any:
        def forward(input: Any, hx: Any = None) -> Any:
            self.calls += 1
            plain = (
                family.name == "gru"
                and not cell
                and isinstance(input, torch.Tensor)
                and input.ndim == 3
                and module.num_layers == 1
                and not module.bidirectional
                and not module.batch_first
                and module.bias
            )
            if not plain:
                return eager(module, input, hx)
            return _reset_before_linear(module, input, hx)

        return forward


def _reset_before_linear(module: Any, input: torch.Tensor, hx: Any) -> Any:
    h = input.new_zeros(input.shape[1], module.hidden_size) if hx is None else hx[0]
    w_ir, w_iz, w_in = module.weight_ih_l0.chunk(3)
    w_hr, w_hz, w_hn = module.weight_hh_l0.chunk(3)
    b_ir, b_iz, b_in = module.bias_ih_l0.chunk(3)
    b_hr, b_hz, b_hn = module.bias_hh_l0.chunk(3)
    outputs = []
    for x in input:
        r = torch.sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = torch.sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        n = torch.tanh(x @ w_in.T + b_in + (r * h) @ w_hn.T + b_hn)
        h = (1 - z) * n + z * h
        outputs.append(h)
    output = torch.stack(outputs) if outputs else input.new_zeros(0, *h.shape)
    return output, h.unsqueeze(0)
