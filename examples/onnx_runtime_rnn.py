"""An RNN run by ONNX Runtime behind nn.RNN's interface, with its gaps declared.

``OnnxRuntimeRNN`` keeps nn.RNN's constructor, parameters and ``state_dict`` (so the
suite can load weights into it), but its forward exports the module to ONNX and runs
the graph in ONNX Runtime. Needs the ``onnx`` extra (``pip install .[onnx]``)::

    rnn-conformance --impl examples.onnx_runtime_rnn:OnnxRuntimeRNN

What ONNX Runtime cannot do is declared, so those properties are skipped with the
capability named: no autograd through the session, no training-mode dropout, no
PackedSequence input, no float64 RNN kernel, and its own error types for bad calls.
Its RNN kernel's tanh is a fast approximation with an absolute error of about 3 u; that
is declared too (``rnn_conformance_activation_error``), and the suite fails it without.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn


class OnnxRuntimeRNN(nn.RNN):
    """nn.RNN whose forward runs an exported ONNX graph in ONNX Runtime (CPU)."""

    rnn_conformance_unsupported = (
        "autograd",
        "training_dropout",
        "packed_sequences",
        "float64",
        "error_contract",
    )

    # ORT's RNN kernel approximates tanh with an absolute error of up to about 3 u
    # (measured: 1.8e-7 in float32); declared so the tolerance policy accounts for it.
    rnn_conformance_activation_error = 4.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sessions = {}

    def _session(self, batched, with_hx):
        """An InferenceSession for the current weights and call signature (cached)."""
        import onnxruntime

        weights = tuple((p.data_ptr(), p._version) for p in self.parameters())
        key = (weights, batched, with_hx)
        if key not in self._sessions:
            eager = nn.RNN(**self._constructor_kwargs()).eval()
            eager.load_state_dict({k: v.detach().cpu() for k, v in self.state_dict().items()})
            steps = 2
            leading = ((1, steps) if self.batch_first else (steps, 1)) if batched else (steps,)
            x = torch.zeros(*leading, self.input_size)
            directions = 2 if self.bidirectional else 1
            h_shape = (directions * self.num_layers, *((1,) if batched else ()), self.hidden_size)
            args = (x, torch.zeros(h_shape)) if with_hx else (x,)
            time_axis, batch_axis = (1, 0) if self.batch_first else (0, 1)
            dynamic = {"input": {time_axis: "L", batch_axis: "N"} if batched else {0: "L"}}
            dynamic["output"] = dynamic["input"]
            dynamic["h_n"] = {1: "N"} if batched else {}
            if with_hx:
                dynamic["hx"] = dynamic["h_n"]
            buffer = io.BytesIO()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the exporter's notes on RNN internals
                torch.onnx.export(
                    eager,
                    args,
                    buffer,
                    input_names=["input", "hx"][: len(args)],
                    output_names=["output", "h_n"],
                    dynamic_axes=dynamic,
                    dynamo=False,
                )
            self._sessions = {key: onnxruntime.InferenceSession(buffer.getvalue())}
        return self._sessions[key]

    def _constructor_kwargs(self):
        return dict(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            nonlinearity=self.nonlinearity,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )

    def forward(self, input, hx=None):
        """Run the exported graph; empty batches (which ORT rejects) need no computation."""
        if self.training and self.dropout > 0 and self.num_layers > 1:
            raise NotImplementedError("OnnxRuntimeRNN has no training-mode dropout")
        batched = input.dim() == 3
        directions = 2 if self.bidirectional else 1
        batch = input.shape[0 if self.batch_first else 1] if batched else None
        if batch == 0:
            steps = input.shape[1 if self.batch_first else 0]
            out_shape = (0, steps) if self.batch_first else (steps, 0)
            return (
                input.new_zeros(*out_shape, directions * self.hidden_size),
                input.new_zeros(directions * self.num_layers, 0, self.hidden_size),
            )
        feeds = {"input": input.detach().cpu().float().numpy()}
        if hx is not None:
            feeds["hx"] = hx.detach().cpu().float().numpy()
        output, h_n = self._session(batched, hx is not None).run(None, feeds)
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(input)  # noqa: E731
        return as_tensor(output), as_tensor(h_n)
