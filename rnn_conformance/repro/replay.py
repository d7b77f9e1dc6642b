"""Which recorded calls a script can replay against torch's class, and within what tolerance.

A call is replayable when torch's module (or cell) of the family, built with the same
arguments and loaded with the same weights, computes the same function: no dropout's
random masks, the same weights' names, one dtype. The tolerance is the suite's own policy
(:mod:`rnn_conformance.numerics.tolerances`) for that very call, so a script fails exactly where
the property did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pad_packed_sequence

from rnn_conformance.repro.recording import RecordedCall, RecordedPacked, RecordedTensor


@dataclass
class FailureContext:
    """What :func:`reproduction` knows about the failure: the record and the property."""

    property: str
    calls: list[RecordedCall]
    dropped: int = 0
    arguments: dict[str, Any] = field(default_factory=dict)
    message: str = ""


# -- which calls a script can show ----------------------------------------------------


def _suite(context: FailureContext) -> Any:
    return context.arguments.get("subject")


def family_of(context: FailureContext) -> Any:
    """The family of the property's subject."""
    return _suite(context).family


def device_of(context: FailureContext) -> str:
    """The device the property ran on: its subject's (a property takes no ``device``)."""
    device = context.arguments.get("device") or getattr(_suite(context), "device", None)
    return str(device or "cpu")


def role_of(context: FailureContext, call: RecordedCall) -> str:
    """``"module"`` or ``"cell"``: which of torch's classes is the call's oracle."""
    suite = _suite(context)
    target = getattr(suite, "target", None)
    cell = getattr(suite, "cell_target", None)
    if target is not None and call.spec == target.spec:
        return "module"
    if cell is not None and call.spec == cell.spec:
        return "cell"
    return "module" if "num_layers" in call.built_with else "cell"


def _floating(state: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
    return [value for value in state.values() if value.is_floating_point()]


def call_dtype(call: RecordedCall) -> torch.dtype:
    """The dtype the call computes in: its weights', else its input's, else the default."""
    weights = _floating(call.state)
    if weights:
        return weights[0].dtype
    for arg in _tensor_leaves(call.args):
        if arg.tensor.is_floating_point():
            return arg.tensor.dtype
    return torch.get_default_dtype()


def _tensor_leaves(value: Any) -> list[RecordedTensor]:
    if isinstance(value, RecordedTensor):
        return [value]
    if isinstance(value, tuple | list):
        return [leaf for part in value for leaf in _tensor_leaves(part)]
    if isinstance(value, dict):
        return [leaf for part in value.values() for leaf in _tensor_leaves(part)]
    return []


def why_unusable(context: FailureContext, call: RecordedCall, oracle: Any) -> str | None:
    """Why this call cannot be replayed against torch's module, or ``None``."""
    dropout = float(call.built_with.get("dropout", 0) or 0)
    if call.training and dropout > 0 and int(call.built_with.get("num_layers", 1)) > 1:
        return "it is a training-mode call with dropout, whose masks are random"
    names = _oracle_state_names(oracle, call)
    if names is None or set(call.state) != set(names):
        return "torch's class does not take its constructor arguments or weights' names"
    dtype = call_dtype(call)
    if any(value.dtype != dtype for value in _floating(call.state)):
        return "its weights have several dtypes"
    return None


def _oracle_state_names(oracle: Any, call: RecordedCall) -> list[str] | None:
    """The ``state_dict`` names of torch's module built like the call's (``None``: it fails)."""
    try:
        with torch.device("meta"):
            return list(oracle(**call.built_with).state_dict())
    except Exception:
        return None


# -- the tolerance --------------------------------------------------------------------


def as_numpy(value: Any) -> Any:
    """Recorded tensors (nested in tuples) as float64 arrays, for the reference."""
    from rnn_conformance.numerics.reference import as_float64

    if isinstance(value, RecordedTensor):
        return as_float64(value.tensor)
    if isinstance(value, tuple | list):
        return tuple(as_numpy(part) for part in value)
    return value


def config_of(family: Any, built_with: Mapping[str, Any], role: str) -> Any:
    """The reference's ``RNNConfig`` for the constructor arguments (a cell's: one layer)."""
    from rnn_conformance.numerics.config import SHARED_ARGUMENTS, RNNConfig

    fields = {*SHARED_ARGUMENTS, *family.options}
    given = {name: value for name, value in built_with.items() if name in fields}
    if role == "cell":
        given = {
            name: given[name]
            for name in ("input_size", "hidden_size", "bias", *family.cell_options)
            if name in given
        }
    return RNNConfig(**given, family=family)


def largest_bound(context: FailureContext, call: RecordedCall, role: str) -> float | None:
    """The largest element of the policy's bound on this call's results (unscaled).

    For a ``PackedSequence``, the largest over its sequences, each run alone; for a cell,
    that of a one-step, one-layer module with its weights. ``None`` if torch's module would
    reject the call (then no values are compared).
    """
    from rnn_conformance.numerics.reference import forward_trace
    from rnn_conformance.numerics.tolerances import Precision, forward_error_bounds, leaves

    family = family_of(context)
    suite = _suite(context)
    device = device_of(context)
    dtype = str(call_dtype(call)).removeprefix("torch.")
    declared = getattr(
        suite, "cell_activation_error" if role == "cell" else "activation_error", 0.0
    )
    tf32 = bool(suite is not None and suite.tf32.widens(device))
    precision = Precision.of(dtype, tf32=tf32, activation_error=declared or 0.0)
    config = config_of(family, call.built_with, role)
    params = {
        name: as_numpy(RecordedTensor(value, "cpu", True)) for name, value in call.state.items()
    }
    args = list(call.args) + [None] * (2 - len(call.args))
    x, hx = args[0], args[1]
    runs: list[tuple[Any, Any]] = []
    if role == "cell":
        params = {f"{name}_l0": value for name, value in params.items()}
        x = as_numpy(x)[None]
        hx = as_numpy(hx)
        if hx is not None:
            hx = tuple(part[None] for part in hx) if isinstance(hx, tuple) else hx[None]
        runs.append((x, hx))
    elif isinstance(x, RecordedPacked):
        padded, lengths = pad_packed_sequence(x.packed, batch_first=config.batch_first)
        padded_np = padded.double().numpy()
        for i, length in enumerate(lengths.tolist()):
            seq = padded_np[[i], :length] if config.batch_first else padded_np[:length, [i]]
            h = as_numpy(hx)
            if h is not None:
                h = tuple(part[:, [i]] for part in h) if isinstance(h, tuple) else h[:, [i]]
            runs.append((seq, h))
    else:
        runs.append((as_numpy(x), as_numpy(hx)))
    largest = 0.0
    for x_run, hx_run in runs:
        if isinstance(hx_run, tuple) and len(family.state_names) == 1:
            return None
        try:
            _, _, trace = forward_trace(config, x_run, params, hx_run)
        except Exception:
            return None
        bounds = forward_error_bounds(trace, precision)
        for _, leaf in leaves(bounds.output, "output") + leaves(bounds.h_n, "h_n"):
            if np.size(leaf):
                largest = max(largest, float(np.max(leaf)))
    return largest


def reference_results(context: FailureContext, call: RecordedCall) -> tuple[Any, Any] | None:
    """The reference's ``(output, h_n)`` for a module call with a tensor input, if it runs."""
    from rnn_conformance.numerics.reference import forward_trace

    args = [*call.args, None][:2]
    if not isinstance(args[0], RecordedTensor) or call.kwargs or len(call.args) > 2:
        return None
    config = config_of(family_of(context), call.built_with, "module")
    params = {name: as_numpy(RecordedTensor(v, "cpu", True)) for name, v in call.state.items()}
    try:
        output, h_n, _ = forward_trace(config, as_numpy(args[0]), params, as_numpy(args[1]))
    except Exception:
        return None
    return output, h_n
