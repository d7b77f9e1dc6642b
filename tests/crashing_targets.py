"""Targets that kill their own process, or change it for good, on some calls only.

For the self-tests of the run guards (tests/test_run_guards.py): each is torch's module
except for one kind of call, so that exactly the properties reaching that call must fail
and every other property must still pass.
"""

import ctypes
import os

import torch
from torch import nn


def _segfault():
    # Reads address 0: a real SIGSEGV, as a kernel bug gives, not a Python exception.
    ctypes.string_at(0)


def _expected_hx_shape(module, input):
    batched = input.dim() == 3
    batch = input.shape[0 if module.batch_first else 1] if batched else None
    layers = module.num_layers * (2 if module.bidirectional else 1)
    return (layers, batch, module.hidden_size) if batched else (layers, module.hidden_size)


class SegfaultOnMalformedHxRNN(nn.RNN):
    """Segfaults when hx's shape is not the one its input calls for; nn.RNN otherwise."""

    def forward(self, input, hx=None):
        tensors = isinstance(input, torch.Tensor) and isinstance(hx, torch.Tensor)
        if tensors and input.dim() in (2, 3) and hx.shape != _expected_hx_shape(self, input):
            _segfault()
        return super().forward(input, hx)


class SegfaultOnEmptyBatchRNN(nn.RNN):
    """Segfaults on a batch of zero sequences; nn.RNN otherwise."""

    def forward(self, input, hx=None):
        batched = isinstance(input, torch.Tensor) and input.dim() == 3
        if batched and input.shape[0 if self.batch_first else 1] == 0:
            _segfault()
        return super().forward(input, hx)


class ExitsOnUnbatchedInputRNN(nn.RNN):
    """Ends its process with os._exit(3) on unbatched (2-D) input; nn.RNN otherwise."""

    def forward(self, input, hx=None):
        if isinstance(input, torch.Tensor) and input.dim() == 2:
            os._exit(3)
        return super().forward(input, hx)


class FlushesDenormalsRNN(nn.RNN):
    """Turns on flush-to-zero for the whole process in its first training-free call."""

    def forward(self, input, hx=None):
        torch.set_flush_denormal(True)
        return super().forward(input, hx)


class NoDeviceOrDtypeRNN(nn.RNN):
    """nn.RNN with a constructor that takes no device= or dtype= (as Opacus' DPRNN)."""

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
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers=num_layers,
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
        )
