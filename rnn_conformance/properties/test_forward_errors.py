"""Invalid calls raise as nn.RNN does, from a target that accepts the valid call.

Every bad call is drawn together with the valid call it spoils (same config, steps,
batch and hx, one thing wrong). The same module makes the valid call first, and it
must succeed: a target that raises on every call would otherwise "reject" every bad
call correctly without checking anything. Then the bad call must raise the exception
type nn.RNN raises for it: ValueError for a wrong input rank or dtype, RuntimeError for
wrong sizes, hx ranks and empty sequences; for an hx whose dtype differs from the
module's, nn.RNN's error comes from a matrix product, so either type is accepted. A family
adds kinds of bad hx: nn.LSTM's parts one at a time, a bare tensor and a part too many;
nn.GRU's hx passed as a tuple, which torch 2.13 rejects with AttributeError (from
``hx.dim()``), the type expected.
``NotImplementedError`` is never accepted, although it subclasses RuntimeError: it
says the target lacks a feature, not that the call is invalid.

Wrong sizes are drawn, not fixed: any size but the right one, 1 and 0 included, since
lenient implementations typically accept a size that broadcasts (1) or an empty axis
(0). nn.RNN raises RuntimeError for every wrong size, 0 and 1 included, and for every
size of an extra axis (measured on torch 2.13; these checks are Python code in
nn.RNN.forward and check_forward_args, so they do not depend on the device). The
valid calls include empty batches (N = 0), which nn.RNN accepts, except where the
error comes from a kernel (hx dtype, zero-length sequence): a kernel may skip an empty
batch, and only the CPU's was measured to raise there too, so those batches are
non-empty. No tolerance is involved. Declared gaps are not drawn, in the valid call or
the bad one: no configuration, rank or dtype the target declared it lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import dtype_names, rnn_configs
from rnn_conformance.harness import observe_config
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import Family
from rnn_conformance.running.hooks.subjects import per_subject

Arg = tuple[tuple[int, ...], str] | tuple["Arg", ...]
"""A call argument as (shape, torch dtype name), materialised as zeros on the device, or a
tuple of them (a state of several parts, nn.LSTM's ``(h_0, c_0)``)."""

BOTH = (ValueError, RuntimeError)
F32 = "float32"


@dataclass(frozen=True)
class CallPair:
    """A valid call and the bad call that differs from it in one respect."""

    kind: str
    config: RNNConfig
    valid: tuple[Arg, ...]
    bad: tuple[Arg, ...]


Expected = type[Exception] | tuple[type[Exception], ...]


@dataclass(frozen=True)
class Kind:
    """How to draw one kind of bad call, and what the family's torch module raises for it.

    ``expected`` is the exception type (or types), or a function of the family giving them;
    ``applies`` says which families have this kind of bad call.
    """

    build: Callable[..., tuple[list[Arg], list[Arg]]]
    expected: Expected | Callable[[Family], Expected]
    batched: bool = True
    empty_batch: bool = True
    requires: tuple[str, ...] = ()
    applies: Callable[[Family], bool] = lambda family: True

    def expected_for(self, family: Family) -> Expected:
        """The exception types the family's torch module raises for this kind."""
        if isinstance(self.expected, type | tuple):
            return self.expected
        return self.expected(family)


KINDS: dict[str, Kind] = {}


def kind(name, expected, *, batched=True, empty_batch=True, requires=(), applies=None):
    """Register ``build(draw, config, steps, batch) -> (valid args, bad args)`` as ``name``."""

    def register(build):
        KINDS[name] = Kind(
            build, expected, batched, empty_batch, requires, applies or (lambda family: True)
        )
        return build

    return register


def several_parts(family):
    """Whether the family's state has several parts, passed as a tuple (nn.LSTM's)."""
    return len(family.state_names) > 1


def one_part_rejecting_tuples(family):
    """Whether the family's state is one tensor and its module rejects a tuple."""
    return len(family.state_names) == 1 and bool(family.tuple_hx_errors)


def other_size(draw, right):
    """Any size but ``right``, shrinking towards 1 (broadcasts), then 0 (empty)."""
    size = draw(st.one_of(st.just(1), st.just(0), st.integers(2, right + 3)).filter(right.__ne__))
    event(f"wrong size {size if size < 2 else '>= 2'}")
    return size


def with_extra_axis(draw, shape):
    """``shape`` with one more axis, of any size (1 is the one a lenient squeeze drops)."""
    where = draw(st.integers(0, len(shape)))
    size = draw(st.integers(0, 3))
    event(f"extra axis of size {size}")
    return (*shape[:where], size, *shape[where:])


def _x(c, steps, batch, dtype=F32):
    return (c.input_shape(steps, batch), dtype)


def _hx(c, batch):
    return _state(c, [(shape, F32) for shape in c.state_shapes(batch)])


def _state(c, parts):
    return parts[0] if len(parts) == 1 else tuple(parts)


def _spoiled_hx(draw, c, batch, spoil, dtype=F32):
    """The valid hx with one part (drawn, for a state of several) spoiled by ``spoil``."""
    shapes = c.state_shapes(batch)
    part = draw(st.integers(0, len(shapes) - 1)) if len(shapes) > 1 else 0
    if len(shapes) > 1:
        event(f"spoiled {c.family.state_names[part]}_0")
    return _state(
        c,
        [(spoil(s), dtype) if i == part else (s, F32) for i, s in enumerate(shapes)],
    )


def _replace(shape, axis, size):
    return tuple(size if i == axis else n for i, n in enumerate(shape))


@kind("1-D input", ValueError)
def _(draw, c, steps, batch):
    return [_x(c, steps, batch)], [((c.input_size,), F32)]


@kind("4-D input", ValueError)
def _(draw, c, steps, batch):
    return [_x(c, steps, batch)], [(with_extra_axis(draw, c.input_shape(steps, batch)), F32)]


@kind("wrong input feature size", RuntimeError)
def _(draw, c, steps, batch):
    shape = _replace(c.input_shape(steps, batch), 2, other_size(draw, c.input_size))
    return [_x(c, steps, batch)], [(shape, F32)]


@kind("wrong unbatched feature size", RuntimeError, batched=False)
def _(draw, c, steps, batch):
    return [_x(c, steps, None)], [((steps, other_size(draw, c.input_size)), F32)]


def _wrong_hx_axis(axis):
    def build(draw, c, steps, batch):
        wrong = _spoiled_hx(draw, c, batch, lambda s: _replace(s, axis, other_size(draw, s[axis])))
        return [_x(c, steps, batch), _hx(c, batch)], [_x(c, steps, batch), wrong]

    return build


kind("hx with wrong layer count", RuntimeError)(_wrong_hx_axis(0))
kind("hx with wrong batch size", RuntimeError)(_wrong_hx_axis(1))
kind("hx with wrong hidden size", RuntimeError)(_wrong_hx_axis(2))


@kind("wrong-size hx with unbatched input", RuntimeError, batched=False)
def _(draw, c, steps, batch):
    axis = draw(st.integers(0, 1))
    wrong = _spoiled_hx(draw, c, None, lambda s: _replace(s, axis, other_size(draw, s[axis])))
    return [_x(c, steps, None), _hx(c, None)], [_x(c, steps, None), wrong]


@kind("2-D hx with batched input", RuntimeError)
def _(draw, c, steps, batch):
    wrong = _spoiled_hx(draw, c, batch, lambda s: (s[0], s[2]))
    return [_x(c, steps, batch), _hx(c, batch)], [_x(c, steps, batch), wrong]


@kind("3-D hx with unbatched input", RuntimeError, batched=False)
def _(draw, c, steps, batch):
    # (D * num_layers, 1, H) is the hx of a batch of one: a lenient target squeezes it.
    wrong = _spoiled_hx(draw, c, None, lambda s: (s[0], draw(st.integers(0, 3)), s[1]))
    return [_x(c, steps, None), _hx(c, None)], [_x(c, steps, None), wrong]


@kind("4-D hx", RuntimeError)
def _(draw, c, steps, batch):
    wrong = _spoiled_hx(draw, c, batch, lambda s: with_extra_axis(draw, s))
    return [_x(c, steps, batch), _hx(c, batch)], [_x(c, steps, batch), wrong]


@kind("input in another float dtype", ValueError)
def _(draw, c, steps, batch):
    # Not a dtype the target declared it lacks: it could refuse it for that reason.
    dtype = draw(dtype_names(("float64", "float16", "bfloat16")))
    return [_x(c, steps, batch)], [_x(c, steps, batch, dtype)]


@kind("integer or bool input", ValueError)
def _(draw, c, steps, batch):
    dtype = draw(st.sampled_from(["int64", "int32", "uint8", "bool"]))
    return [_x(c, steps, batch)], [_x(c, steps, batch, dtype)]


@kind("float64 hx in a float32 module", BOTH, empty_batch=False, requires=("float64",))
def _(draw, c, steps, batch):
    hx64 = _spoiled_hx(draw, c, batch, lambda s: s, dtype="float64")
    return [_x(c, steps, batch), _hx(c, batch)], [_x(c, steps, batch), hx64]


@kind("zero-length sequence", RuntimeError, empty_batch=False)
def _(draw, c, steps, batch):
    return [_x(c, steps, batch)], [_x(c, 0, batch)]


@kind("zero-length unbatched sequence", RuntimeError, batched=False)
def _(draw, c, steps, batch):
    return [_x(c, steps, None)], [_x(c, 0, None)]


# A state of several parts is passed as a tuple of exactly those parts. torch indexes a
# tensor as if it were the tuple: IndexError when its first axis has one entry (one layer,
# one direction), RuntimeError (a part of the wrong rank) else.
@kind(
    "hx a single tensor, not a tuple of the state's parts",
    (RuntimeError, IndexError),
    applies=several_parts,
)
def _(draw, c, steps, batch):
    first = (c.state_shapes(batch)[0], F32)
    return [_x(c, steps, batch), _hx(c, batch)], [_x(c, steps, batch), first]


@kind("hx with one part too many", RuntimeError, applies=several_parts)
def _(draw, c, steps, batch):
    parts = list(_hx(c, batch))
    return [_x(c, steps, batch), _hx(c, batch)], [_x(c, steps, batch), (*parts, parts[-1])]


# A state of one part is passed as a tensor. torch's nn.RNN and nn.GRU raise
# AttributeError (they call hx.dim() on the tuple); TypeError is accepted as well.
@kind(
    "hx a tuple, not a tensor",
    lambda family: family.tuple_hx_errors,
    applies=one_part_rejecting_tuples,
)
def _(draw, c, steps, batch):
    h = _hx(c, batch)
    parts = draw(st.integers(1, 2))
    event(f"hx a tuple of {parts}")
    return [_x(c, steps, batch), h], [_x(c, steps, batch), (h,) * parts]


@st.composite
def call_pairs(draw, name):
    """A :class:`CallPair` of kind ``name`` for a drawn config, length and batch size.

    The config is never one the target declared it lacks (``bias=False``, a projection,
    ``bidirectional=True``): it would reject the valid call for a reason of its own.
    """
    spec = KINDS[name]
    config = draw(rnn_configs(max_input_size=8, max_hidden_size=8))
    steps = draw(st.integers(1, 5))
    batch = draw(st.integers(0 if spec.empty_batch else 1, 4)) if spec.batched else None
    valid, bad = spec.build(draw, config, steps, batch)
    return CallPair(name, config, tuple(valid), tuple(bad))


def _is_leaf(arg):
    return len(arg) == 2 and isinstance(arg[1], str)


def _tensor(arg, device):
    if not _is_leaf(arg):
        return tuple(_tensor(part, device) for part in arg)
    shape, dtype = arg
    return torch.zeros(shape, dtype=getattr(torch, dtype), device=device)


def _tensors(args, device):
    return tuple(_tensor(arg, device) for arg in args)


def _describe_arg(arg):
    if not _is_leaf(arg):
        return "(" + ", ".join(_describe_arg(part) for part in arg) + ")"
    shape, dtype = arg
    return f"{tuple(shape)} {dtype}"


def _describe(args):
    return ", ".join(_describe_arg(arg) for arg in args)


def _expected_names(expected):
    if isinstance(expected, type):
        return expected.__name__
    return " or ".join(error.__name__ for error in expected)


def _requires(spec):
    # A declared lack of unbatched input makes any rejection of an unbatched call meaningless.
    return (*spec.requires, *(() if spec.batched else ("unbatched",)))


def kinds_for(subject):
    """The kinds of bad call of the subject's family, each with the capabilities it needs."""
    return [
        pytest.param(name, id=name, marks=pytest.mark.rnn_requires(*_requires(spec)))
        for name, spec in KINDS.items()
        if spec.applies(subject.family)
    ]


@pytest.mark.rnn_requires("error_contract")
@per_subject("kind", kinds_for)
@given(data=st.data())
def test_invalid_calls_raise_like_nn_rnn(subject, kind, data):
    device = subject.device
    family = subject.family
    call = data.draw(call_pairs(kind), label="call")
    observe_config(subject, call.config)
    expected = KINDS[kind].expected_for(family)
    spec, config = subject.target.spec, call.config.describe()
    module = subject.target.build(call.config, device=device, dtype=torch.float32).eval()
    try:
        with torch.no_grad():
            module(*_tensors(call.valid, device))
    except Exception as exc:
        raise AssertionError(
            f"{spec}.forward({_describe(call.valid)}) raised {type(exc).__name__}: {exc}; "
            f"it rejected a valid call, which {family.title} accepts (the valid counterpart of "
            f"[{kind}]), so its rejection of the bad call would prove nothing\n  {config}"
        ) from exc
    bad = _describe(call.bad)
    try:
        with torch.no_grad():
            result = module(*_tensors(call.bad, device))
    except NotImplementedError as exc:
        raise AssertionError(
            f"{spec}.forward({bad}) [{kind}] raised NotImplementedError: {exc}; "
            f"NotImplementedError says a feature is missing, not that the call is invalid: "
            f"{family.title} raises {_expected_names(expected)}\n  {config}"
        ) from exc
    except expected:
        return
    except Exception as exc:
        raise AssertionError(
            f"{spec}.forward({bad}) [{kind}] raised {type(exc).__name__}: {exc}; "
            f"{family.title} raises {_expected_names(expected)}\n  {config}"
        ) from exc
    raise AssertionError(
        f"{spec}.forward({bad}) [{kind}] returned {type(result).__name__} instead of "
        f"raising like {family.title} ({_expected_names(expected)}); the same module accepts "
        f"the valid call ({_describe(call.valid)})\n  {config}"
    )
