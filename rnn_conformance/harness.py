"""Running one :class:`~rnn_conformance.strategies.RNNCase` on the target and the reference.

This is the only module of the property layer that turns NumPy cases into tensors and
back; property bodies call :func:`run_target` and :func:`run_reference` and then state
their claim. The basic contract (return types, dtype, device, shapes) is checked here
on every call, so a target that breaks it fails every property with one short message
pointing at the shape property instead of an unreadable cascade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from hypothesis import assume, event, note

from rnn_conformance.backprop import Gradients
from rnn_conformance.config import RNNConfig
from rnn_conformance.devices import TF32Policy
from rnn_conformance.families import FAMILIES, Family
from rnn_conformance.reference import Array, ForwardTrace, as_float64, rnn_forward_trace
from rnn_conformance.cases import MemoryLayout, RNNCase
from rnn_conformance.target import Target, TargetContractError
from rnn_conformance.tolerances import (
    ForwardBounds,
    Precision,
    assert_within,
    forward_error_bounds,
    gradients_and_error_bounds,
)

__all__ = [
    "CELL_PARAMETERS",
    "TORCH_DTYPES",
    "Expected",
    "Suite",
    "TargetRun",
    "assert_runs_agree",
    "batch_axis",
    "build_cell",
    "build_module",
    "case_tensors",
    "cell_params",
    "check_result",
    "compare_with_reference",
    "hidden_axes",
    "layer_params",
    "missing_capabilities",
    "observe",
    "output_at_step",
    "output_axes",
    "precision_for",
    "reference_gradients",
    "reference_trace",
    "run_cell_target",
    "run_reference",
    "run_target",
    "run_target_gradients",
    "time_axis",
    "to_tensor",
]

TORCH_DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}

OUTPUT_AXES = {
    (True, False): ("step", "batch", "unit"),
    (True, True): ("batch", "step", "unit"),
    (False, False): ("step", "unit"),
    (False, True): ("step", "unit"),
}
HIDDEN_AXES = {True: ("layer*direction", "batch", "unit"), False: ("layer*direction", "unit")}


@dataclass(frozen=True)
class Suite:
    """What every property needs besides its case: the targets, TF32 policy, capabilities.

    ``family`` is the recurrent family checked (:mod:`rnn_conformance.families`);
    ``cell_target`` is the nn.RNNCell-like implementation for the cell properties;
    ``unsupported`` the capabilities the target declared it lacks
    (see :mod:`rnn_conformance.capabilities`); ``activation_error`` its declared tanh
    accuracy (see :mod:`rnn_conformance.tolerances`). The ``cell_`` fields are the cell
    target's own declarations: a cell is judged by what it declares, not by the RNN's.
    """

    target: Target
    tf32: TF32Policy
    cell_target: Target | None = None
    unsupported: frozenset[str] = frozenset()
    activation_error: float = 0.0
    cell_unsupported: frozenset[str] = frozenset()
    cell_activation_error: float = 0.0
    family: Family = FAMILIES["rnn"]

    def __repr__(self) -> str:
        # Shown in every falsifying example: keep it to what identifies the run.
        gaps = f", unsupported={sorted(self.unsupported)}" if self.unsupported else ""
        cell = f", cell={self.cell_target.spec!r}" if self.cell_target is not None else ""
        return f"Suite({self.target.spec!r}{cell}, tf32={self.tf32.allowed}{gaps})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def supports(self, case: RNNCase) -> bool:
        """Whether the case is within the RNN target's declared capabilities."""
        return _within(case, self.unsupported)

    def cell_supports(self, case: RNNCase) -> bool:
        """Whether the case is within the cell target's declared capabilities."""
        return _within(case, self.cell_unsupported)


def missing_capabilities(case: RNNCase, unsupported: frozenset[str]) -> frozenset[str]:
    """The declared gaps the case runs into: its dtype, input rank or ``bias=False``."""
    needs = {
        "float64": case.dtype == "float64",
        "unbatched": not case.batched,
        "without_bias": not case.config.bias,
    }
    return frozenset(name for name, needed in needs.items() if needed) & unsupported


def _within(case: RNNCase, unsupported: frozenset[str]) -> bool:
    return not missing_capabilities(case, unsupported)


def to_tensor(
    values: Any, *, dtype: str, device: str, memory_layout: MemoryLayout = "contiguous"
) -> torch.Tensor:
    """Make a tensor with ``values`` on ``device`` in ``dtype`` and the given memory layout.

    ``transposed`` stores the data with its axes reversed and returns a permuted view;
    ``strided`` stores every value at every other position of its last axis. Both are
    non-contiguous views holding exactly the same values.

    >>> to_tensor(np.ones((2, 3)), dtype="float32", device="cpu", memory_layout="strided").stride()
    (6, 2)
    """
    array = np.asarray(values, dtype=np.float64)
    torch_dtype = TORCH_DTYPES[dtype]
    if memory_layout == "contiguous" or array.ndim == 0:
        return torch.tensor(array, dtype=torch_dtype, device=device)
    if memory_layout == "transposed":
        order = tuple(reversed(range(array.ndim)))
        stored = torch.tensor(
            np.ascontiguousarray(array.transpose(order)), dtype=torch_dtype, device=device
        )
        return stored.permute(order)
    if memory_layout == "strided":
        wide = np.zeros((*array.shape[:-1], 2 * array.shape[-1]))
        wide[..., ::2] = array
        return torch.tensor(wide, dtype=torch_dtype, device=device)[..., ::2]
    raise ValueError(f"unknown memory layout {memory_layout!r}")


def case_tensors(case: RNNCase, device: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Turn a drawn case into the tensors to call an RNN with: ``(input, hx)``.

    ``input`` and ``hx`` (None when the case has none, i.e. "call without h_0") are
    made on ``device`` in the case's dtype (``case.dtype``: ``torch.float32``, ...) and
    memory layout (``case.memory_layout``: contiguous, or a non-contiguous view with the
    same values; see :func:`to_tensor`), in the layout nn.RNN expects for the case's
    ``batch_first`` and batching. The values are exactly ``case.input`` and ``case.hx``
    (drawn representable in the dtype), so the reference sees the same numbers. Load
    ``case.params`` into the module with the same dtype.

    >>> from rnn_conformance.known_cases import bidirectional_two_layer_batch_first_with_hx
    >>> case = bidirectional_two_layer_batch_first_with_hx()
    >>> x, hx = case_tensors(case, "cpu")
    >>> x.shape, x.dtype, hx.shape
    (torch.Size([3, 5, 3]), torch.float32, torch.Size([4, 3, 4]))
    >>> rnn = torch.nn.RNN(**case.config.constructor_kwargs())
    >>> _ = rnn.load_state_dict({k: torch.tensor(v, dtype=x.dtype) for k, v in case.params.items()})
    >>> output, h_n = rnn(x, hx)
    >>> output.shape, h_n.shape
    (torch.Size([3, 5, 8]), torch.Size([4, 3, 4]))
    """
    layout = {"dtype": case.dtype, "device": device, "memory_layout": case.memory_layout}
    hx = None if case.hx is None else to_tensor(case.hx, **layout)
    return to_tensor(case.input, **layout), hx


@dataclass(frozen=True)
class TargetRun:
    """One forward call of the target, with the results as float64 arrays."""

    output: Array
    h_n: Array
    output_tensor: torch.Tensor
    h_n_tensor: torch.Tensor


def observe(
    suite: Suite, case: RNNCase, device: str, *, uses: Literal["rnn", "cell", "both"] = "rnn"
) -> None:
    """Start a property's example: gate, then record the case for Hypothesis.

    Rejects (``assume``) a case outside what the targets the property ``uses`` declared
    they support (float64, unbatched, bias=False); otherwise records an ``event`` for
    coverage statistics and a ``note`` for reports.
    """
    assume(uses == "cell" or suite.supports(case))
    assume(uses == "rnn" or suite.cell_supports(case))
    event(case.label())
    note(f"device={device}\n  {case.describe()}")


def build_module(suite: Suite, case: RNNCase, device: str) -> torch.nn.Module:
    """Construct the target for ``case`` with the case's weights loaded, in eval mode."""
    dtype = TORCH_DTYPES[case.dtype]
    module = suite.target.build(case.config, device=device, dtype=dtype)
    suite.target.load(module, case.params, device=device, dtype=dtype)
    return module.eval()


def _same_device(tensor: torch.Tensor, device: str) -> bool:
    wanted = torch.device(device)
    if tensor.device.type != wanted.type:
        return False
    return wanted.index is None or tensor.device.index in (wanted.index, None)


def check_result(
    suite: Suite,
    case: RNNCase,
    device: str,
    output: torch.Tensor,
    h_n: torch.Tensor,
    *,
    seq_len: int | None = None,
    batch_size: int | str | None = "case",
) -> None:
    """Check dtype, device and the shapes of nn.RNN's table; raise TargetContractError."""
    steps = case.seq_len if seq_len is None else seq_len
    batch = case.batch_size if batch_size == "case" else batch_size
    expected = {
        "output": case.config.output_shape(steps, batch),  # type: ignore[arg-type]
        "h_n": case.config.hidden_shape(batch),  # type: ignore[arg-type]
    }
    for name, tensor in (("output", output), ("h_n", h_n)):
        problems = []
        if tuple(tensor.shape) != expected[name]:
            problems.append(f"shape {tuple(tensor.shape)}, expected {expected[name]}")
        if tensor.dtype != TORCH_DTYPES[case.dtype]:
            problems.append(f"dtype {tensor.dtype}, expected {TORCH_DTYPES[case.dtype]}")
        if not _same_device(tensor, device):
            problems.append(f"device {tensor.device}, expected {device}")
        if problems:
            raise TargetContractError(
                f"{suite.target.spec} returned {name} with "
                + "; ".join(problems)
                + f" for input shape {case.config.input_shape(steps, batch)}"  # type: ignore[arg-type]
                + " (nn.RNN's shape table; see test_output_and_h_n_shapes)"
            )


def run_target(
    suite: Suite,
    case: RNNCase,
    device: str,
    *,
    module: torch.nn.Module | None = None,
    pass_hx: bool = True,
    check: bool = True,
) -> TargetRun:
    """Build (unless given), then call the target on the case's input and hx, no grad.

    ``pass_hx=False`` omits the hx argument entirely, as a user calling ``rnn(x)`` would.
    ``check=False`` skips :func:`check_result` (for the property that states it).
    """
    module = build_module(suite, case, device) if module is None else module
    x, hx = case_tensors(case, device)
    args: list[Any] = [x, hx] if pass_hx else [x]
    with torch.no_grad():
        output, h_n = suite.target.forward(module, *args)
    if check:
        check_result(suite, case, device, output, h_n)
    return TargetRun(as_float64(output), as_float64(h_n), output, h_n)


@dataclass(frozen=True)
class Expected:
    """The reference's ``(output, h_n)`` for a case and their error bounds."""

    output: Array
    h_n: Array
    bounds: ForwardBounds


def precision_for(suite: Suite, case: RNNCase, device: str, *, cell: bool = False) -> Precision:
    """The rounding the tolerance policy assumes for this case on this device.

    ``cell=True`` uses the cell target's declared accuracy instead of the RNN target's.
    """
    declared = suite.cell_activation_error if cell else suite.activation_error
    return Precision.of(case.dtype, tf32=suite.tf32.widens(device), activation_error=declared)


def reference_trace(case: RNNCase) -> tuple[Array, Array, ForwardTrace]:
    """The reference's ``(output, h_n, trace)`` for the case."""
    return rnn_forward_trace(
        case.input,
        case.params,
        case.hx,
        nonlinearity=case.config.nonlinearity,
        batch_first=case.config.batch_first,
    )


def run_reference(case: RNNCase, precision: Precision) -> Expected:
    """Run the NumPy reference on the case and compute the error bounds for ``precision``."""
    output, h_n, trace = reference_trace(case)
    bounds = forward_error_bounds(
        trace, precision, batched=case.batched, batch_first=case.config.batch_first
    )
    return Expected(output, h_n, bounds)


def output_axes(case: RNNCase) -> tuple[str, ...]:
    """Names of ``output``'s axes for this case's layout, for mismatch reports."""
    return OUTPUT_AXES[(case.batched, case.config.batch_first)]


def hidden_axes(case: RNNCase) -> tuple[str, ...]:
    """Names of ``h_n``'s axes."""
    return HIDDEN_AXES[case.batched]


def time_axis(case: RNNCase) -> int:
    """The axis of the case's ``input`` and ``output`` that indexes time."""
    return 1 if (case.batched and case.config.batch_first) else 0


def batch_axis(config: RNNConfig) -> int:
    """The axis of a batched ``input`` or ``output`` that indexes the batch (h_n's is 1)."""
    return 0 if config.batch_first else 1


def output_at_step(case: RNNCase, output: Array, step: int) -> Array:
    """``output`` at time ``step`` for every batch element: (N, D*H), or (D*H,) unbatched."""
    return np.take(output, step, axis=time_axis(case))


def layer_params(
    params: dict[str, Array], layer: int, *, directions: tuple[int, ...] = (0, 1)
) -> dict[str, Array]:
    """One layer's parameters (of the given directions) renamed as a one-layer RNN's."""
    renamed = {}
    for name, value in params.items():
        for direction, suffix in ((1, "_reverse"), (0, "")):
            if name.endswith(f"_l{layer}{suffix}"):
                if direction in directions:
                    renamed[name.replace(f"_l{layer}{suffix}", f"_l0{suffix}")] = value
                break
    return renamed


def compare_with_reference(suite: Suite, case: RNNCase, device: str, run: TargetRun) -> float:
    """Assert the run matches the reference within the policy; return the worst ratio."""
    precision = precision_for(suite, case, device)
    expected = run_reference(case, precision)
    context = (
        f"{suite.target.spec} on {device} differs from the float64 reference by more than "
        f"the tolerance policy allows ({precision.label}; see rnn_conformance.tolerances)\n"
        f"  {case.describe()}"
    )
    return _assert_output_and_h_n(case, run, expected, expected.bounds, 1.0, context)


def assert_runs_agree(
    suite: Suite,
    case: RNNCase,
    device: str,
    first: TargetRun,
    second: TargetRun,
    *,
    claim: str,
) -> float:
    """Assert two runs of the target on equivalent calls agree within twice the bound.

    Both runs must be in ``case``'s layout. Each is within one bound of the exact
    result, hence the factor 2 (see rnn_conformance.tolerances).
    """
    expected = run_reference(case, precision_for(suite, case, device))
    context = f"{claim} does not hold for {suite.target.spec} on {device}\n  {case.describe()}"
    return _assert_output_and_h_n(case, first, second, expected.bounds, 2.0, context)


def _assert_output_and_h_n(
    case: RNNCase,
    actual: TargetRun,
    expected: TargetRun | Expected,
    bounds: ForwardBounds,
    factor: float,
    context: str,
) -> float:
    """Compare output and h_n under the policy; return the worst error / allowed ratio."""
    axes = {"output": output_axes(case), "h_n": hidden_axes(case)}
    return max(
        assert_within(
            getattr(actual, name),
            getattr(expected, name),
            getattr(bounds, name),
            what=name,
            axes=axes[name],
            factor=factor,
            context=context,
        )
        for name in ("output", "h_n")
    )


def run_target_gradients(
    suite: Suite,
    case: RNNCase,
    device: str,
    grad_output: Array,
    grad_h_n: Array,
    *,
    module: torch.nn.Module | None = None,
) -> dict[str, Array]:
    """Gradients of ``sum(grad_output * output) + sum(grad_h_n * h_n)`` by the target's autograd.

    Keys: ``input``, ``hx`` (when the case has one) and every parameter name. A gradient
    that autograd cannot reach (``None``) is a :class:`TargetContractError`.
    """
    module = build_module(suite, case, device) if module is None else module
    x, hx = case_tensors(case, device)
    leaves = {"input": x.requires_grad_()}
    if hx is not None:
        leaves["hx"] = hx.requires_grad_()
    leaves.update(dict(module.named_parameters()))
    output, h_n = suite.target.forward(module, x, hx)
    check_result(suite, case, device, output, h_n)
    seeds = (
        to_tensor(grad_output, dtype=case.dtype, device=device),
        to_tensor(grad_h_n, dtype=case.dtype, device=device),
    )
    try:
        grads = torch.autograd.grad((output, h_n), list(leaves.values()), seeds, allow_unused=True)
    except RuntimeError as exc:
        raise TargetContractError(
            f"{suite.target.spec}: autograd through forward failed: {exc}"
        ) from exc
    missing = [name for name, grad in zip(leaves, grads, strict=True) if grad is None]
    if missing:
        raise TargetContractError(
            f"{suite.target.spec}: (output, h_n) does not depend on {missing} under autograd "
            "(detached, or not registered as parameters)"
        )
    return {name: as_float64(grad) for name, grad in zip(leaves, grads, strict=True)}


def reference_gradients(
    case: RNNCase, precision: Precision, grad_output: Array, grad_h_n: Array
) -> tuple[dict[str, Array], dict[str, Array]]:
    """The reference's gradients (as :func:`run_target_gradients`) and their error bounds."""
    _, _, trace = reference_trace(case)
    layout = {"batched": case.batched, "batch_first": case.config.batch_first}
    forward = forward_error_bounds(trace, precision, **layout)
    exact, bounds = gradients_and_error_bounds(
        trace, forward, grad_output, grad_h_n, precision, bias=case.config.bias, **layout
    )

    def flatten(g: Gradients) -> dict[str, Array]:
        hx = {} if case.hx is None else {"hx": g.hx}
        return {"input": g.input, **hx, **g.params}

    return flatten(exact), flatten(bounds)


CELL_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def cell_params(case: RNNCase) -> dict[str, Array]:
    """The case's layer-0 forward weights under nn.RNNCell's parameter names."""
    return {
        name: case.params[f"{name}_l0"] for name in CELL_PARAMETERS if f"{name}_l0" in case.params
    }


def build_cell(suite: Suite, case: RNNCase, device: str) -> torch.nn.Module:
    """Construct the cell target for the case's sizes with its layer-0 weights, eval mode."""
    if suite.cell_target is None:
        raise TargetContractError("no cell target configured (--rnn-cell-impl)")
    c = case.config
    dtype = TORCH_DTYPES[case.dtype]
    module = suite.cell_target.build_with(
        dict(
            input_size=c.input_size,
            hidden_size=c.hidden_size,
            bias=c.bias,
            nonlinearity=c.nonlinearity,
        ),
        device=device,
        dtype=dtype,
    )
    suite.cell_target.load(module, cell_params(case), device=device, dtype=dtype)
    return module.eval()


def run_cell_target(
    suite: Suite,
    case: RNNCase,
    device: str,
    x: Array,
    h: Array | None,
    *,
    module: torch.nn.Module | None = None,
) -> Array:
    """One step of the cell target on ``x`` ((N, H_in) or (H_in,)) from ``h`` (or None)."""
    module = build_cell(suite, case, device) if module is None else module
    assert suite.cell_target is not None
    args: list[Any] = [to_tensor(x, dtype=case.dtype, device=device)]
    args.append(None if h is None else to_tensor(h, dtype=case.dtype, device=device))
    with torch.no_grad():
        result = suite.cell_target.call(module, *args)
    expected = (*x.shape[:-1], case.config.hidden_size)
    if tuple(result.shape) != expected or result.dtype != TORCH_DTYPES[case.dtype]:
        raise TargetContractError(
            f"{suite.cell_target.spec} returned {tuple(result.shape)} {result.dtype} for input "
            f"{x.shape}, expected {expected} {TORCH_DTYPES[case.dtype]}"
        )
    return as_float64(result)
