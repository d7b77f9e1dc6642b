"""Invalid calls raise as nn.RNN does and never return a result.

Each bad call below raises the exception type nn.RNN raises for it (ValueError for
wrong input rank or dtype, RuntimeError for wrong sizes, hx ranks and empty
sequences); for an hx whose dtype differs from the module's, nn.RNN's error comes from
a matrix product, so either type is accepted. No tolerance is involved.
"""

import pytest
import torch
from hypothesis import given

from rnn_conformance.harness import TORCH_DTYPES
from rnn_conformance.strategies import rnn_configs

BOTH = (ValueError, RuntimeError)


def _shapes(config, batch=3, steps=4):
    return config.input_shape(steps, batch), config.hidden_shape(batch)


def _zeros(shape, dtype=torch.float32):
    return torch.zeros(shape, dtype=dtype)


def _bump(shape, axis):
    return tuple(n + 1 if i == axis else n for i, n in enumerate(shape))


BAD_CALLS = {
    "1-D input": (lambda c: (_zeros((c.input_size,)),), ValueError),
    "4-D input": (lambda c: (_zeros((2, *_shapes(c)[0])),), ValueError),
    "wrong input feature size": (lambda c: (_zeros(_bump(_shapes(c)[0], 2)),), RuntimeError),
    "wrong unbatched feature size": (lambda c: (_zeros((4, c.input_size + 1)),), RuntimeError),
    "hx with wrong layer count": (
        lambda c: (_zeros(_shapes(c)[0]), _zeros(_bump(_shapes(c)[1], 0))),
        RuntimeError,
    ),
    "hx with wrong batch size": (
        lambda c: (_zeros(_shapes(c)[0]), _zeros(_bump(_shapes(c)[1], 1))),
        RuntimeError,
    ),
    "hx with wrong hidden size": (
        lambda c: (_zeros(_shapes(c)[0]), _zeros(_bump(_shapes(c)[1], 2))),
        RuntimeError,
    ),
    "2-D hx with batched input": (
        lambda c: (_zeros(_shapes(c)[0]), _zeros(c.hidden_shape(None))),
        RuntimeError,
    ),
    "3-D hx with unbatched input": (
        lambda c: (_zeros(c.input_shape(4, None)), _zeros(c.hidden_shape(1))),
        RuntimeError,
    ),
    "4-D hx": (lambda c: (_zeros(_shapes(c)[0]), _zeros((*_shapes(c)[1], 1))), RuntimeError),
    "float64 input to a float32 module": (
        lambda c: (_zeros(_shapes(c)[0], torch.float64),),
        ValueError,
    ),
    "integer input": (lambda c: (_zeros(_shapes(c)[0], torch.int64),), ValueError),
    "float64 hx in a float32 module": (
        lambda c: (_zeros(_shapes(c)[0]), _zeros(_shapes(c)[1], torch.float64)),
        BOTH,
    ),
    "zero-length sequence": (lambda c: (_zeros(c.input_shape(0, 3)),), RuntimeError),
    "zero-length unbatched sequence": (
        lambda c: (_zeros(c.input_shape(0, None)),),
        RuntimeError,
    ),
}


@pytest.mark.rnn_requires("error_contract")
@pytest.mark.parametrize("kind", list(BAD_CALLS))
@given(config=rnn_configs(max_input_size=8, max_hidden_size=8))
def test_invalid_calls_raise_like_nn_rnn(suite, device, kind, config):
    make_args, expected = BAD_CALLS[kind]
    module = suite.target.build(config, device=device, dtype=TORCH_DTYPES["float32"]).eval()
    args = tuple(a.to(device) for a in make_args(config))
    shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in args)
    try:
        with torch.no_grad():
            result = module(*args)
    except expected:
        return
    except Exception as exc:
        names = expected.__name__ if isinstance(expected, type) else "ValueError or RuntimeError"
        raise AssertionError(
            f"{suite.target.spec}.forward({shapes}) [{kind}] raised {type(exc).__name__}: {exc}; "
            f"nn.RNN raises {names}\n  {config.describe()}"
        ) from exc
    raise AssertionError(
        f"{suite.target.spec}.forward({shapes}) [{kind}] returned "
        f"{type(result).__name__} instead of raising like nn.RNN\n  {config.describe()}"
    )
