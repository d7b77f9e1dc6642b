"""The broken gated families' dropout trick: torch's own layers, run one at a time.

Outside training mode with dropout between layers the broken classes are torch's module.
Inside it, each layer-direction runs as torch's single-layer, unidirectional module on that
layer-direction's parameters (``torch.func.functional_call``, so gradients reach the
module's parameters), and ``between_layers`` decides what each direction of the next layer
reads of the lower layer's output.
"""

import torch
from torch.nn.utils.rnn import PackedSequence


def same_mask_every_step(output, p, num_directions):
    """Keras-style: one mask per sequence and element, the same at every time step."""
    keep = torch.nn.functional.dropout(torch.ones_like(output[:1]), p, training=True)
    return [output * keep] * num_directions


def mask_per_direction(output, p, num_directions):
    """A separately dropped copy of the output for each direction of the next layer."""
    dropout = torch.nn.functional.dropout
    return [dropout(output, p, training=True) for _ in range(num_directions)]


def forward_dropping_between_layers(torch_class, module, input, hx, between_layers):
    """``torch_class.forward`` of ``module``, with ``between_layers`` as its training dropout.

    ``between_layers(output, p, num_directions)`` turns a lower layer's time-major output
    ``(L, N, D*H)`` into one input for each direction of the next layer.
    """
    dropping = module.training and module.dropout > 0 and module.num_layers > 1
    if not dropping or isinstance(input, PackedSequence):
        return torch_class.forward(module, input, hx)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(1)
    if batched and module.batch_first:
        x = x.transpose(0, 1)
    if hx is not None and not batched:
        hx = _map(lambda h: h.unsqueeze(1), hx)
    D = 2 if module.bidirectional else 1
    own = {"proj_size": module.proj_size} if getattr(module, "proj_size", 0) else {}
    inputs, finals, output = [x] * D, [], x
    for layer in range(module.num_layers):
        if layer:
            inputs = between_layers(output, module.dropout, D)
        single = torch_class(
            inputs[0].shape[-1],
            module.hidden_size,
            bias=module.bias,
            device=x.device,
            dtype=x.dtype,
            **own,
        )
        outs = []
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            params = {
                name: getattr(module, name.replace("_l0", suffix))
                for name, _ in single.named_parameters()
            }
            seq = inputs[d].flip(0) if d else inputs[d]
            h = None if hx is None else _map(lambda h, k=layer * D + d: h[k : k + 1], hx)
            out, h_n = torch.func.functional_call(single, params, (seq, h))
            outs.append(out.flip(0) if d else out)
            finals.append(h_n)
        output = torch.cat(outs, dim=-1)
    h_n = _map(lambda *parts: torch.cat(parts), *finals)
    if batched and module.batch_first:
        output = output.transpose(0, 1)
    if not batched:
        output, h_n = output.squeeze(1), _map(lambda h: h.squeeze(1), h_n)
    return output, h_n


def _map(function, *states):
    """``function`` on a state (one tensor) or on each part of states alike ((h, c))."""
    if isinstance(states[0], tuple):
        return tuple(function(*parts) for parts in zip(*states, strict=True))
    return function(*states)
