"""Cell targets that declare what they lack or how accurate they are.

Judged by their own declarations they conform; judged by the module target's (nothing
declared) they fail. The cell properties must use the cell's declarations.
"""

import torch
from torch import nn


class NoFloat64Cell(nn.RNNCell):
    """An RNNCell without float64 support, which it declares."""

    rnn_conformance_unsupported = ("float64",)

    def forward(self, input, hx=None):
        if input.dtype == torch.float64:
            raise TypeError("NoFloat64Cell computes in float32 only")
        return super().forward(input, hx)


class ApproximateTanhCell(nn.RNNCell):
    """An RNNCell whose tanh errs by 3 u in absolute terms, declaring 4 u (as ONNX Runtime)."""

    rnn_conformance_activation_error = 4

    def forward(self, input, hx=None):
        result = super().forward(input, hx)
        if self.nonlinearity != "tanh":
            return result
        u = torch.finfo(result.dtype).eps / 2
        # An absolute error: thousands of ulps for values near zero.
        return result + 3 * u * torch.where(result < 0, -1.0, 1.0).to(result.dtype)
