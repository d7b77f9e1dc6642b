"""Deliberately broken RNNs, each subclassing nn.RNN (or nn.RNNCell) and breaking one thing.

A class's docstring describes its defect. Which property must catch it, with which
message, is stated once, in the catalogue ``tests/broken_catalogue.py``.
"""

import copy

import torch
from torch import nn


class HiddenStateBatchFirstRNN(nn.RNN):
    """Applies batch_first to h_n too (a common misreading of the docs)."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        if self.batch_first and h_n.dim() == 3:
            h_n = h_n.transpose(0, 1)
        return output, h_n


class BFloat16InsideRNN(nn.RNN):
    """Computes in bfloat16 inside a float32 module and casts the results back."""

    def forward(self, input, hx=None):
        if input.dtype != torch.float32:
            return super().forward(input, hx)
        low = copy.deepcopy(self).to(torch.bfloat16)
        output, h_n = nn.RNN.forward(low, input.bfloat16(), None if hx is None else hx.bfloat16())
        return output.float(), h_n.float()


class Float32InsideRNN(nn.RNN):
    """Computes in float32 inside a float64 module and casts the results back."""

    def forward(self, input, hx=None):
        if input.dtype != torch.float64:
            return super().forward(input, hx)
        low = copy.deepcopy(self).float()
        output, h_n = nn.RNN.forward(low, input.float(), None if hx is None else hx.float())
        return output.double(), h_n.double()


class IgnoresHxRNN(nn.RNN):
    """Silently starts from zeros whatever hx is given."""

    def forward(self, input, hx=None):
        return super().forward(input)


class UnreversedReverseRNN(nn.RNN):
    """Runs the 'reverse' direction forward in time: the classic bidirectional bug."""

    def forward(self, input, hx=None):
        if not self.bidirectional:
            return super().forward(input, hx)
        return _manual_forward(self, input, hx, reverse_time=False)


class PerturbedHiddenStateRNN(nn.RNN):
    """h_n is recomputed separately and differs from output's last step by one ulp."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        return output, torch.nextafter(h_n, torch.full_like(h_n, 2.0))


class WrongStackingRNN(nn.RNN):
    """Seed-article bug: feeds the layer-0 input x[t] to every layer (only for I == D*H)."""

    def forward(self, input, hx=None):
        return _manual_forward(self, input, hx, reverse_time=True, stack_input=False)


class ReturnsOutputOnlyRNN(nn.RNN):
    """Returns a bare tensor instead of an (output, h_n) pair."""

    def forward(self, input, hx=None):
        return super().forward(input, hx)[0]


def _manual_forward(
    module,
    input,
    hx,
    *,
    reverse_time,
    stack_input=True,
    act=None,
    truncate=False,
    between_layers=None,
):
    """nn.RNN's forward in plain torch, with the bug its keyword arguments ask for.

    ``between_layers(output, num_directions)`` turns a lower layer's time-major output
    into the next layer's input for each direction (default: the output, unchanged).
    """
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(1 if not module.batch_first else 0)
    if module.batch_first:
        x = x.transpose(0, 1)
    D = 2 if module.bidirectional else 1
    steps, batch = x.shape[:2]
    if hx is None:
        hx = x.new_zeros(D * module.num_layers, batch, module.hidden_size)
    elif not batched:
        hx = hx.unsqueeze(1)
    if act is None:
        act = torch.tanh if module.nonlinearity == "tanh" else torch.relu
    layer_input, finals = x, []
    direction_inputs = [x] * D
    for layer in range(module.num_layers):
        if layer > 0:
            direction_inputs = (
                [layer_input] * D if between_layers is None else between_layers(layer_input, D)
            )
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(module, "weight_ih" + sfx), getattr(module, "weight_hh" + sfx)
            b = 0
            if module.bias:
                b = getattr(module, "bias_ih" + sfx) + getattr(module, "bias_hh" + sfx)
            seq = x if (not stack_input) else direction_inputs[d]
            order = range(steps - 1, -1, -1) if (d and reverse_time) else range(steps)
            h, states = hx[layer * D + d], [None] * steps
            for t in order:
                h = act(seq[t] @ w_ih.T + b + (h.detach() if truncate else h) @ w_hh.T)
                states[t] = h
            finals.append(h)
            outs.append(torch.stack(states))
        layer_input = torch.cat(outs, dim=-1)
    output, h_n = layer_input, torch.stack(finals)
    if module.batch_first:
        output = output.transpose(0, 1)
    if not batched:
        output = output.squeeze(1 if not module.batch_first else 0)
        h_n = h_n.squeeze(1)
    return output, h_n


class NarrowInitRNN(nn.RNN):
    """Initialises from U(-k/2, k/2) instead of U(-k, k)."""

    def reset_parameters(self):
        k = 0.5 / self.hidden_size**0.5
        for weight in self.parameters():
            nn.init.uniform_(weight, -k, k)


class NormalInitRNN(nn.RNN):
    """Initialises from a normal distribution with U(-k, k)'s variance, clipped to [-k, k]."""

    def reset_parameters(self):
        k = 1 / self.hidden_size**0.5
        for weight in self.parameters():
            with torch.no_grad():
                weight.normal_(0, k / 3**0.5).clamp_(-k, k)


class MutatesInputRNN(nn.RNN):
    """Scales its input in place (a classic fused-kernel bug)."""

    def forward(self, input, hx=None):
        result = super().forward(input, hx)
        input.mul_(1.0)
        input.add_(0.0 if input.numel() == 0 else 1e-3)
        return result


class LeaksFutureRNN(nn.RNN):
    """Adds a trace of the next step's output to each step (non-causal smoothing)."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        if self.bidirectional:
            return output, h_n
        axis = 1 if (self.batch_first and input.dim() == 3) else 0
        if output.shape[axis] > 1:
            nxt = torch.roll(output, -1, dims=axis).narrow(axis, 0, output.shape[axis] - 1)
            head = output.narrow(axis, 0, output.shape[axis] - 1) + 1e-3 * nxt
            output = torch.cat([head, output.narrow(axis, output.shape[axis] - 1, 1)], dim=axis)
        return output, h_n


class ReshapeNotTransposeRNN(nn.RNN):
    """Converts batch_first input with reshape instead of transpose (scrambles the data)."""

    def forward(self, input, hx=None):
        if not (self.batch_first and input.dim() == 3):
            return super().forward(input, hx)
        batch, steps = input.shape[:2]
        self.batch_first = False
        try:
            output, h_n = super().forward(input.reshape(steps, batch, input.shape[-1]), hx)
        finally:
            self.batch_first = True
        return output.reshape(batch, steps, output.shape[-1]), h_n


class UnbatchedStepsAsBatchRNN(nn.RNN):
    """Treats unbatched (L, H_in) input as L sequences of length 1, each starting from hx."""

    def forward(self, input, hx=None):
        if input.dim() != 2:
            return super().forward(input, hx)
        steps = input.shape[0]
        if hx is not None:
            hx = hx.unsqueeze(1).expand(-1, steps, -1).contiguous()
        output, h_n = super().forward(input.unsqueeze(1 if self.batch_first else 0), hx)
        return output.squeeze(1 if self.batch_first else 0), h_n[:, -1]


class StatefulWhenHxMissingRNN(nn.RNN):
    """Starts from the previous call's h_n when hx is omitted (a 'stateful' RNN)."""

    def forward(self, input, hx=None):
        previous = getattr(self, "_last_h_n", None)
        if (
            hx is None
            and previous is not None
            and previous.shape[1:] == (self._hidden_shape(input)[1:])
        ):
            hx = previous
        output, h_n = super().forward(input, hx)
        self._last_h_n = h_n.detach()
        return output, h_n

    def _hidden_shape(self, input):
        batch = () if input.dim() == 2 else (input.shape[0 if self.batch_first else 1],)
        return (self.num_layers * (2 if self.bidirectional else 1), *batch, self.hidden_size)


class IgnoresFactoryDtypeRNN(nn.RNN):
    """Drops the dtype factory argument: parameters are always float32."""

    def __init__(self, *args, dtype=None, **kwargs):
        super().__init__(*args, **kwargs)


class KeepProbabilityDropoutRNN(nn.RNN):
    """Exposes dropout as a keep probability (TensorFlow 1's keep_prob), i.e. 1 - p."""

    def __init__(self, *args, dropout=0.0, **kwargs):
        super().__init__(*args, dropout=dropout, **kwargs)
        self.dropout = 1.0 - dropout


class ClampsDropoutRNN(nn.RNN):
    """Clamps dropout into [0, 1] instead of rejecting it."""

    def __init__(self, *args, dropout=0.0, **kwargs):
        super().__init__(*args, dropout=min(max(float(dropout), 0.0), 1.0), **kwargs)


class LeakyReluRNN(nn.RNN):
    """Uses leaky_relu for nonlinearity='relu' (negative outputs leak through)."""

    def forward(self, input, hx=None):
        if self.nonlinearity != "relu":
            return super().forward(input, hx)
        leaky = torch.nn.functional.leaky_relu
        return _manual_forward(self, input, hx, reverse_time=True, act=leaky)


class NondeterministicRNN(nn.RNN):
    """Adds a one-ulp random perturbation, like a kernel with unordered atomic reductions."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        flips = torch.rand(output.shape, device=output.device) < 0.5
        toward = torch.where(flips, 2.0, -2.0).to(output.dtype)
        return torch.where(flips, torch.nextafter(output, toward), output), h_n


class TruncatedBPTTRNN(nn.RNN):
    """Detaches the hidden state between steps: right values, truncated gradients."""

    def forward(self, input, hx=None):
        if not torch.is_grad_enabled():
            return super().forward(input, hx)
        return _manual_forward(self, input, hx, reverse_time=True, truncate=True)


class DirectionMajorHxRNN(nn.RNN):
    """Reads h_0 and writes h_n direction-major (all forward layers, then all reverse)."""

    def forward(self, input, hx=None):
        if not self.bidirectional or self.num_layers == 1:
            return super().forward(input, hx)
        L = self.num_layers
        to_layer_major = [d * L + k for k in range(L) for d in range(2)]
        if hx is not None:
            hx = hx[to_layer_major]
        output, h_n = super().forward(input, hx)
        to_direction_major = [k * 2 + d for d in range(2) for k in range(L)]
        return output, h_n[to_direction_major]


class BatchMeanLeakRNN(nn.RNN):
    """Adds a trace of the batch mean to every output (like a stray normalisation)."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        if input.dim() == 3 and output.numel():
            axis = 0 if self.batch_first else 1
            output = output + 1e-3 * output.mean(dim=axis, keepdim=True)
        return output, h_n


class LenientHxRNN(nn.RNN):
    """Broadcasts a 2-D hx over the batch instead of rejecting it."""

    def forward(self, input, hx=None):
        if input.dim() == 3 and hx is not None and hx.dim() == 2:
            batch = input.shape[0 if self.batch_first else 1]
            hx = hx.unsqueeze(1).expand(-1, batch, -1).contiguous()
        return super().forward(input, hx)


class DropoutOnLastLayerRNN(nn.RNN):
    """Also applies dropout to the last layer's output in training mode."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        if self.training and self.num_layers > 1:
            output = torch.nn.functional.dropout(output, self.dropout, training=True)
        return output, h_n


class PaddedEndHnRNN(nn.RNN):
    """For PackedSequence input, runs the padded batch and takes h_n at the padded end."""

    def forward(self, input, hx=None):
        if not isinstance(input, torch.nn.utils.rnn.PackedSequence):
            return super().forward(input, hx)
        rnn = torch.nn.utils.rnn
        padded, lengths = rnn.pad_packed_sequence(input, batch_first=self.batch_first)
        output, h_n = super().forward(padded, hx)
        # Re-packed as the input was packed, so that h_n is its one defect.
        packed = rnn.pack_padded_sequence(
            output,
            lengths,
            batch_first=self.batch_first,
            enforce_sorted=input.sorted_indices is None,
        )
        return packed, h_n


class NoHiddenBiasCell(nn.RNNCell):
    """An RNNCell that forgets bias_hh."""

    def forward(self, input, hx=None):
        if hx is None:
            hx = input.new_zeros(*input.shape[:-1], self.hidden_size)
        pre = input @ self.weight_ih.T + hx @ self.weight_hh.T
        if self.bias:
            pre = pre + self.bias_ih
        return torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)


class HangingRNN(nn.RNN):
    """Never returns from forward (a deadlocked kernel)."""

    def forward(self, input, hx=None):
        while True:
            pass


class NotImplementedForwardRNN(nn.RNN):
    """A stub whose forward always raises NotImplementedError (a RuntimeError subclass)."""

    def forward(self, input, hx=None):
        raise NotImplementedError("RNN.forward is not implemented yet")


class RejectsEverythingRNN(nn.RNN):
    """Raises nn.RNN's exception for every invalid call, and RuntimeError for valid ones too."""

    def forward(self, input, hx=None):
        super().forward(input, hx)
        raise RuntimeError("this configuration is not supported")


class RejectsEveryConstructionRNN(nn.RNN):
    """Raises ValueError for any constructor arguments, valid ones included."""

    def __init__(self, *args, **kwargs):
        raise ValueError("this configuration is not supported")


class NotImplementedForBadCallsRNN(nn.RNN):
    """Reports every invalid call as NotImplementedError instead of nn.RNN's exception."""

    def forward(self, input, hx=None):
        try:
            return super().forward(input, hx)
        except (ValueError, RuntimeError) as exc:
            raise NotImplementedError(f"unsupported input: {exc}") from exc


class BroadcastsHxBatchRNN(nn.RNN):
    """Broadcasts an hx of batch size 1 over the batch (NumPy-style) instead of rejecting it."""

    def forward(self, input, hx=None):
        if (
            isinstance(input, torch.Tensor)
            and input.dim() == 3
            and hx is not None
            and hx.dim() == 3
            and hx.shape[1] == 1
        ):
            batch = input.shape[0 if self.batch_first else 1]
            hx = hx.expand(-1, batch, -1).contiguous()
        return super().forward(input, hx)


class BroadcastsInputFeatureRNN(nn.RNN):
    """Broadcasts input with one feature over input_size instead of rejecting it."""

    def forward(self, input, hx=None):
        if isinstance(input, torch.Tensor) and input.dim() in (2, 3) and input.shape[-1] == 1:
            input = input.expand(*input.shape[:-1], self.input_size)
        return super().forward(input, hx)


class NoReducedPrecisionRNN(nn.RNN):
    """Raises for float16 and bfloat16 (a float32/float64-only kernel) without declaring it."""

    def forward(self, input, hx=None):
        if isinstance(input, torch.Tensor) and input.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(f"RNN kernel supports float32 and float64 only, got {input.dtype}")
        return super().forward(input, hx)


class DeclaredNoReducedPrecisionRNN(NoReducedPrecisionRNN):
    """NoReducedPrecisionRNN with its gap declared: skipped, not failed."""

    rnn_conformance_unsupported = ("float16", "bfloat16")


class _DropoutVariantRNN(nn.RNN):
    """Runs nn.RNN, except in training mode with dropout, where _dropped decides the inputs."""

    def forward(self, input, hx=None):
        if not (self.training and self.dropout > 0 and self.num_layers > 1):
            return super().forward(input, hx)
        if not isinstance(input, torch.Tensor):
            return super().forward(input, hx)
        return _manual_forward(self, input, hx, reverse_time=True, between_layers=self._dropped)


class SameMaskEveryStepRNN(_DropoutVariantRNN):
    """Keras-style recurrent dropout: one mask per sequence, reused at every time step."""

    def _dropped(self, output, num_directions):
        keep = torch.ones_like(output[:1])
        mask = torch.nn.functional.dropout(keep, self.dropout, training=True)
        return [output * mask] * num_directions


class PerDirectionMaskRNN(_DropoutVariantRNN):
    """Drops the lower layer's output separately for each direction of the next layer."""

    def _dropped(self, output, num_directions):
        dropout = torch.nn.functional.dropout
        return [dropout(output, self.dropout, training=True) for _ in range(num_directions)]


class NoTrainingDropoutRNN(nn.RNN):
    """Ignores dropout in training mode: every layer reads the lower layer's output whole.

    It keeps and exposes ``dropout`` as given, but computes as if it were 0.
    """

    def forward(self, input, hx=None):
        p, self.dropout = self.dropout, 0.0
        try:
            return super().forward(input, hx)
        finally:
            self.dropout = p


class BatchFirstByDefaultRNN(nn.RNN):
    """Defaults to batch_first=True when the argument is omitted (nn.RNN's default is False)."""

    def __init__(self, *args, **kwargs):
        if len(args) < 6:  # batch_first is nn.RNN's sixth positional argument
            kwargs.setdefault("batch_first", True)
        super().__init__(*args, **kwargs)


class DoubleByDefaultRNN(nn.RNN):
    """Creates its parameters in float64 when no dtype is given, whatever the default dtype."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dtype", torch.float64)
        super().__init__(*args, **kwargs)


class Float32PackedHnRNN(nn.RNN):
    """For float64 PackedSequence input, returns h_n in float32 (a kernel's packed path)."""

    def forward(self, input, hx=None):
        output, h_n = super().forward(input, hx)
        if isinstance(input, torch.nn.utils.rnn.PackedSequence) and h_n.dtype == torch.float64:
            return output, h_n.float()
        return output, h_n


class AcceptsZeroLayersRNN(nn.RNN):
    """Treats num_layers=0 as one layer instead of rejecting it."""

    def __init__(self, *args, num_layers=1, **kwargs):
        super().__init__(*args, num_layers=max(num_layers, 1), **kwargs)
