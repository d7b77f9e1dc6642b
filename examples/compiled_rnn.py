"""nn.RNN through the PyTorch compiler (``torch.compile``), checked like any target.

TorchScript cannot script nn.RNN on current PyTorch (``torch.jit.script(nn.RNN(...))``
fails with "'RecursiveScriptModule' object has no attribute 'forward'" on torch 2.13),
so this example checks the compiler stack that replaced it: ``CompiledRNN`` keeps
nn.RNN's parameters and ``state_dict`` and routes forward through ``torch.compile``::

    rnn-conformance --impl examples.compiled_rnn:CompiledRNN

The ``eager`` backend checks TorchDynamo's capture of nn.RNN (graph breaks, guards,
argument handling) without paying for code generation on every drawn configuration;
set ``RNN_COMPILE_BACKEND=inductor`` to check generated kernels as well (slow: one
compilation per configuration).
"""

from __future__ import annotations

import os

import torch
from torch import nn

BACKEND = os.environ.get("RNN_COMPILE_BACKEND", "eager")


class CompiledRNN(nn.RNN):
    """nn.RNN whose forward runs through ``torch.compile``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._compiled = torch.compile(super().forward, backend=BACKEND, dynamic=True)

    def forward(self, input, hx=None):
        """nn.RNN.forward, compiled."""
        return self._compiled(input, hx)
