"""Error-to-bound ratios of torch's own modules, for the families' calibration self-tests.

A ratio is the largest ``|torch - reference| / (SAFETY * bound)`` over every element of
``output`` and each part of ``h_n`` (or of every gradient): below 1 the module passes the
tolerance policy, and the self-tests ask for a wide margin below it in torch's own dtype
and for a ratio above 1 when the arithmetic is done in a lower precision than the module's.
"""

import copy

import numpy as np
import torch

from rnn_conformance.numerics.reference import forward_trace
from rnn_conformance.numerics.tolerances import (
    SAFETY,
    Precision,
    forward_error_bounds,
    gradients_and_error_bounds,
    leaves,
)


def module_and_inputs(config, steps, batch, dtype, seed):
    """torch's module of ``config``'s family (seeded init), input in [-2, 2], hx in [-1, 1]."""
    torch.manual_seed(seed)
    factory = getattr(torch.nn, config.family.title.removeprefix("nn."))
    module = factory(**config.constructor_kwargs(), dtype=dtype).eval()
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(config.input_shape(steps, batch), generator=gen, dtype=dtype) * 2 - 1) * 2
    parts = tuple(
        torch.rand(shape, generator=gen, dtype=dtype) * 2 - 1
        for shape in config.state_shapes(batch)
    )
    return module, x, parts[0] if len(parts) == 1 else parts


def _parts(state):
    return [part for _, part in leaves(state, "h")]


def _pack(parts):
    return parts[0] if len(parts) == 1 else tuple(parts)


def _worst(pairs):
    worst = 0.0
    for actual, expected, bound in pairs:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(actual.detach().double().numpy() - expected) / (SAFETY * bound)
        worst = max(worst, float(np.nan_to_num(ratio, nan=0.0, posinf=0.0).max(initial=0.0)))
    return worst


def forward_ratio(config, dtype, low_dtype=None, *, steps, batch, seed):
    """The forward ratio of torch's module in ``dtype``, computed in ``low_dtype`` if given."""
    module, x, hx = module_and_inputs(config, steps, batch, dtype, seed)
    run = module if low_dtype is None else copy.deepcopy(module).to(low_dtype)
    low = run.weight_ih_l0.dtype
    with torch.no_grad():
        out, h = run(x.to(low), _pack([part.to(low) for part in _parts(hx)]))
    output, h_n, trace = forward_trace(config, x, dict(module.named_parameters()), hx)
    bounds = forward_error_bounds(trace, Precision.of(dtype))
    return _worst(
        [
            (out, output, bounds.output),
            *zip(_parts(h), _parts(h_n), _parts(bounds.h_n), strict=True),
        ]
    )


def gradient_ratio(config, *, steps, batch, seed):
    """The ratio of torch's float32 gradients (input, hx, every parameter) to their bound."""
    module, x, hx = module_and_inputs(config, steps, batch, torch.float32, seed)
    params = dict(module.named_parameters())
    output, h_n, trace = forward_trace(config, x, params, hx)
    rng = np.random.default_rng(seed)
    seeds = [rng.uniform(-1, 1, np.shape(a)).astype(np.float32) for a in (output, *_parts(h_n))]
    exact, bounds = gradients_and_error_bounds(
        trace, forward_error_bounds(trace, Precision.of("float32")), seeds[0], _pack(seeds[1:])
    )
    state = [part.requires_grad_() for part in _parts(hx)]
    out, h = module(x.requires_grad_(), _pack(state))
    got = torch.autograd.grad(
        (out, *_parts(h)), [x, *state, *params.values()], [torch.tensor(s) for s in seeds]
    )
    want = [exact.input, *_parts(exact.hx), *exact.params.values()]
    allowed = [bounds.input, *_parts(bounds.hx), *bounds.params.values()]
    return _worst(zip(got, want, allowed, strict=True))
