"""An LSTM run by ONNX Runtime's LSTM kernel behind nn.LSTM's interface, gaps declared.

``OnnxRuntimeLSTM`` keeps nn.LSTM's constructor, parameters and ``state_dict`` (so the
suite can load weights into it), but its forward builds an ONNX graph by hand, one ONNX
``LSTM`` operator per layer, and runs it in ONNX Runtime. Needs the ``onnx`` extra
(``pip install .[onnx]``)::

    rnn-conformance --family lstm --impl examples.onnx_runtime_lstm:OnnxRuntimeLSTM

Unlike ``examples/onnx_runtime_rnn.py``, nothing is exported: the adapter maps nn.LSTM's
parameters onto the operator's inputs itself, which is where such adapters go wrong.

* Gates: torch stacks the rows of ``weight_ih``/``weight_hh`` as i, f, g, o; ONNX as
  i, o, f, c (c is torch's g). ``W``, ``R`` and ``B`` are reordered accordingly.
* Biases: ONNX's ``B`` is ``Wb`` and ``Rb`` concatenated, torch's ``bias_ih`` and
  ``bias_hh`` (both reordered); with ``bias=False`` no ``B`` is given (zeros).
* Directions: ``direction="bidirectional"`` takes ``W``, ``R``, ``B``, ``initial_h`` and
  ``initial_c`` stacked forward then reverse, and its ``Y`` is (L, 2, N, H); it is
  transposed and reshaped to torch's (L, N, 2 * H) before the next layer reads it.
* Layers: layer ``k`` reads ``initial_h``/``initial_c`` rows ``k * D`` to ``(k + 1) * D``
  of ``h_0``/``c_0``; each layer's ``Y_h``/``Y_c`` are concatenated into ``h_n``/``c_n``,
  layer-major as torch has them. ``hx=None`` omits ``initial_h``/``initial_c`` (zeros).
* Layouts: the graph is sequence-first and batched; ``batch_first`` input is transposed
  and unbatched (L, H_in) input made a batch of one around it. Empty batches, which ORT
  rejects, need no computation.

The weights are inputs of the graph, fed at every call, so one session per module and
call signature serves whatever ``load_state_dict`` put there.

What ONNX Runtime cannot do is declared, so those properties are skipped with the
capability named: no autograd through the session, no training-mode dropout, no
PackedSequence input, no float64 (ORT's CPU LSTM kernel: "LSTM operator does not support
double yet"), and its own error types for bad calls. float16 and bfloat16 modules are
computed in float32. The ONNX LSTM operator has no projection of ``h``, so ``proj_size > 0``
raises ``NotImplementedError`` at construction and the ``projection`` capability is
declared unsupported. ORT's kernel computes tanh and the sigmoid by fast approximations with
absolute errors of up to about 3.5 u; that is declared (``rnn_conformance_activation_error``),
and the suite fails the adapter without it (``tests/test_examples.py``). The approximate
tanh also exceeds 1 (by up to 2**-22) for some arguments in [8.23, 9), so ``h`` can
leave nn.LSTM's [-1, 1]: a true finding, not a gap.

``TorchGateOrderLSTM`` is the classic bug, for the suite to catch: torch's gate rows
passed to ONNX unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

TORCH_TO_ONNX_GATES = (0, 3, 1, 2)
"""For each ONNX gate (i, o, f, c), the index of the same gate in torch's (i, f, g, o)."""


class OnnxRuntimeLSTM(nn.LSTM):
    """nn.LSTM whose forward runs ONNX ``LSTM`` operators in ONNX Runtime (CPU)."""

    rnn_conformance_unsupported = (
        "autograd",
        "training_dropout",
        "packed_sequences",
        "float64",
        "error_contract",
        "projection",
    )

    # ORT's LSTM kernel approximates tanh and the sigmoid. Measured on ~10^8 float32
    # arguments (ORT 1.32), beyond the 2 u |value| the policy allows any activation: tanh
    # (the g gate and tanh(c)) errs by up to 3.46 u absolute, the sigmoid by up to 2.95 u.
    rnn_conformance_activation_error = 3.5

    gate_order = TORCH_TO_ONNX_GATES
    """Which torch gate each ONNX gate reads (a subclass may get this wrong)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # nn.LSTM's own argument checks come first
        if self.proj_size:
            raise NotImplementedError(
                f"{type(self).__name__}: proj_size={self.proj_size} is not supported; the ONNX "
                "LSTM operator has no projection of h (use proj_size=0)"
            )
        self._sessions = {}

    def _session(self, with_hx):
        """An InferenceSession for this configuration and call signature (cached)."""
        if with_hx not in self._sessions:
            import onnxruntime

            model = lstm_graph(
                self.input_size,
                self.hidden_size,
                self.num_layers,
                bidirectional=self.bidirectional,
                bias=self.bias,
                with_hx=with_hx,
            )
            options = onnxruntime.SessionOptions()
            # ONNX Runtime 1.18's GatherSliceToSplitFusion gives two nodes one name on
            # this graph and then rejects it; the optimisation is not what is under test.
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
            self._sessions[with_hx] = onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[with_hx]

    def _onnx_weights(self):
        """Each layer's ``W``, ``R`` and ``B``: gates reordered, directions stacked."""
        suffixes = ["", "_reverse"][: 2 if self.bidirectional else 1]

        def gates(name):
            torch_gates = np.split(getattr(self, name).detach().cpu().float().numpy(), 4)
            return np.concatenate([torch_gates[g] for g in self.gate_order])

        feeds = {}
        for layer in range(self.num_layers):
            names = [f"l{layer}{suffix}" for suffix in suffixes]
            feeds[f"W{layer}"] = np.stack([gates(f"weight_ih_{n}") for n in names])
            feeds[f"R{layer}"] = np.stack([gates(f"weight_hh_{n}") for n in names])
            if self.bias:
                feeds[f"B{layer}"] = np.stack(
                    [np.concatenate([gates(f"bias_ih_{n}"), gates(f"bias_hh_{n}")]) for n in names]
                )
        return feeds

    def forward(self, input, hx=None):
        """Run the graph on time-major batched input; unbatched and batch_first around it."""
        if isinstance(input, nn.utils.rnn.PackedSequence):
            raise NotImplementedError(f"{type(self).__name__} takes no PackedSequence")
        if self.training and self.dropout > 0 and self.num_layers > 1:
            raise NotImplementedError(f"{type(self).__name__} has no training-mode dropout")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if hx is not None:
            hx = tuple(h if batched else h.unsqueeze(1) for h in hx)
        directions = 2 if self.bidirectional else 1
        steps, batch = x.shape[:2]
        if batch == 0:
            output = x.new_zeros(steps, 0, directions * self.hidden_size)
            h_n = x.new_zeros(directions * self.num_layers, 0, self.hidden_size)
            c_n = h_n.clone()
        else:
            feeds = {"input": x.detach().cpu().float().numpy(), **self._onnx_weights()}
            if hx is not None:
                feeds["h_0"], feeds["c_0"] = (h.detach().cpu().float().numpy() for h in hx)
            results = self._session(hx is not None).run(["output", "h_n", "c_n"], feeds)
            output, h_n, c_n = (
                torch.from_numpy(np.ascontiguousarray(r)).to(input) for r in results
            )
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output, h_n, c_n = output.squeeze(1), h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


class TorchGateOrderLSTM(OnnxRuntimeLSTM):
    """Passes torch's gate rows (i, f, g, o) to ONNX unchanged, which reads them as i, o, f, c."""

    gate_order = (0, 1, 2, 3)


def lstm_graph(input_size, hidden_size, num_layers, *, bidirectional, bias, with_hx):
    """The ONNX model: ``num_layers`` chained ``LSTM`` operators, weights as graph inputs.

    Inputs ``input`` (L, N, H_in), ``W{k}``, ``R{k}``, ``B{k}`` (when ``bias``) and, when
    ``with_hx``, ``h_0`` and ``c_0`` (num_layers * D, N, H); outputs ``output``
    (L, N, D * H), ``h_n`` and ``c_n`` (num_layers * D, N, H), as nn.LSTM lays them out.
    """
    from onnx import TensorProto, helper

    directions = 2 if bidirectional else 1
    float_input = lambda name, shape: helper.make_tensor_value_info(  # noqa: E731
        name, TensorProto.FLOAT, shape
    )
    inputs = [float_input("input", ["L", "N", input_size])]
    if with_hx:
        inputs += [
            float_input(n, [num_layers * directions, "N", hidden_size]) for n in ("h_0", "c_0")
        ]
    nodes = []
    constant = lambda name, values: nodes.append(  # noqa: E731
        helper.make_node(
            "Constant",
            [],
            [name],
            value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values),
        )
    )
    constant("merge_directions", [0, 0, -1])  # (L, N, D, H) -> (L, N, D * H)
    if with_hx:
        constant("axes", [0])
    layer_input, h_parts, c_parts = "input", [], []
    for layer in range(num_layers):
        size = input_size if layer == 0 else directions * hidden_size
        inputs.append(float_input(f"W{layer}", [directions, 4 * hidden_size, size]))
        inputs.append(float_input(f"R{layer}", [directions, 4 * hidden_size, hidden_size]))
        operands = [layer_input, f"W{layer}", f"R{layer}"]
        operands.append(f"B{layer}" if bias else "")
        if bias:
            inputs.append(float_input(f"B{layer}", [directions, 8 * hidden_size]))
        if with_hx:
            # Layer k's rows k * D ... (k + 1) * D of h_0 and c_0.
            constant(f"start{layer}", [layer * directions])
            constant(f"end{layer}", [(layer + 1) * directions])
            for state in ("h", "c"):
                nodes.append(
                    helper.make_node(
                        "Slice",
                        [f"{state}_0", f"start{layer}", f"end{layer}", "axes"],
                        [f"{state}_0_l{layer}"],
                    )
                )
            operands += ["", f"h_0_l{layer}", f"c_0_l{layer}"]  # no sequence_lens
        nodes.append(
            helper.make_node(
                "LSTM",
                operands,
                [f"Y{layer}", f"h_n_l{layer}", f"c_n_l{layer}"],
                hidden_size=hidden_size,
                direction="bidirectional" if bidirectional else "forward",
            )
        )
        # Y is (L, D, N, H); torch's output is (L, N, D * H), forward half first.
        nodes.append(
            helper.make_node("Transpose", [f"Y{layer}"], [f"Yt{layer}"], perm=[0, 2, 1, 3])
        )
        layer_output = "output" if layer == num_layers - 1 else f"out{layer}"
        nodes.append(
            helper.make_node("Reshape", [f"Yt{layer}", "merge_directions"], [layer_output])
        )
        layer_input = layer_output
        h_parts.append(f"h_n_l{layer}")
        c_parts.append(f"c_n_l{layer}")
    nodes.append(helper.make_node("Concat", h_parts, ["h_n"], axis=0))
    nodes.append(helper.make_node("Concat", c_parts, ["c_n"], axis=0))
    outputs = [
        float_input("output", ["L", "N", directions * hidden_size]),
        float_input("h_n", [num_layers * directions, "N", hidden_size]),
        float_input("c_n", [num_layers * directions, "N", hidden_size]),
    ]
    graph = helper.make_graph(nodes, "nn_lstm", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8  # readable by the oldest supported ONNX Runtime (1.18)
    return model
