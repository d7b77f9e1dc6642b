"""torch's modules and cells that refuse every gateable capability, and declare it.

Each class is the family's torch class, except that it raises ``NotImplementedError``,
as TorchRL's python LSTM does for ``bidirectional=True``, for whatever needs a capability
of :data:`rnn_conformance.generation.capabilities.DRAWN_CAPABILITIES` (float64, unbatched input,
``bias=False``, a projection, a reverse direction), and declares exactly those
capabilities unsupported. Declared, the gaps are never drawn: such a target passes every
property that still applies. A drawn gated value would reach the refusal and fail the
property, whatever the harness's own check of the drawn case says.
"""

import torch
from torch import nn

from rnn_conformance.generation.capabilities import DRAWN_CAPABILITIES

CELL_GAPS = ("float64", "unbatched", "without_bias")
"""The gateable capabilities a cell has: it has no projection and no reverse direction."""


def _refuse(what):
    raise NotImplementedError(f"{what} is not supported")


def _check_constructor(kwargs, base):
    if kwargs.get("dtype") == torch.float64:
        _refuse("float64")
    if kwargs.get("bias", True) is False:
        _refuse("bias=False")
    # nn.LSTM's projection; nn.RNN's and nn.GRU's rejection of proj_size is their own.
    if kwargs.get("proj_size", 0) and base is nn.LSTM:
        _refuse("proj_size > 0")
    if kwargs.get("bidirectional", False):
        _refuse("bidirectional=True")


def _check_input(module, input, unbatched_rank):
    if isinstance(input, torch.Tensor):
        if input.dim() == unbatched_rank:
            _refuse("unbatched input")
        if input.dtype == torch.float64:
            _refuse("float64 input")
    if any(p.dtype == torch.float64 for p in module.parameters()):
        _refuse("float64")


def _gapped_module(base):
    class Gapped(base):
        rnn_conformance_unsupported = DRAWN_CAPABILITIES

        def __init__(self, *args, **kwargs):
            _check_constructor(kwargs, base)
            super().__init__(*args, **kwargs)

        def _apply(self, fn, *args, **kwargs):
            result = super()._apply(fn, *args, **kwargs)
            if any(p.dtype == torch.float64 for p in self.parameters()):
                _refuse("float64 (moved)")
            return result

        def forward(self, input, hx=None):
            _check_input(self, input, unbatched_rank=2)
            return super().forward(input, hx)

    Gapped.__name__ = Gapped.__qualname__ = f"Gapped{base.__name__}"
    Gapped.__doc__ = f"{base.__name__} refusing, and declaring, every gateable capability."
    return Gapped


def _gapped_cell(base):
    class Gapped(base):
        rnn_conformance_unsupported = CELL_GAPS

        def __init__(self, *args, **kwargs):
            _check_constructor(kwargs, base)
            super().__init__(*args, **kwargs)

        def forward(self, input, hx=None):
            _check_input(self, input, unbatched_rank=1)
            return super().forward(input, hx)

    Gapped.__name__ = Gapped.__qualname__ = f"Gapped{base.__name__}"
    Gapped.__doc__ = f"{base.__name__} refusing, and declaring, its gateable capabilities."
    return Gapped


GappedRNN = _gapped_module(nn.RNN)
GappedLSTM = _gapped_module(nn.LSTM)
GappedGRU = _gapped_module(nn.GRU)
GappedRNNCell = _gapped_cell(nn.RNNCell)
GappedLSTMCell = _gapped_cell(nn.LSTMCell)
GappedGRUCell = _gapped_cell(nn.GRUCell)

TARGETS = {
    "rnn": ("gapped_targets:GappedRNN", "gapped_targets:GappedRNNCell"),
    "lstm": ("gapped_targets:GappedLSTM", "gapped_targets:GappedLSTMCell"),
    "gru": ("gapped_targets:GappedGRU", "gapped_targets:GappedGRUCell"),
}
"""Each family's gapped module and cell, as ``--rnn-impl`` and ``--rnn-cell-impl`` specs."""


class NoBidirectionalLSTM(nn.LSTM):
    """nn.LSTM refusing ``bidirectional=True``, as TorchRL's python LSTM does, and declaring it."""

    rnn_conformance_unsupported = ("bidirectional",)

    def __init__(self, *args, **kwargs):
        if kwargs.get("bidirectional", False):
            raise NotImplementedError(
                "Bidirectional LSTMs are not supported yet in this implementation."
            )
        super().__init__(*args, **kwargs)
