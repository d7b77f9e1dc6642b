"""The cell target (nn.RNNCell and its family's kind): building and stepping it."""

from __future__ import annotations

from typing import Any

import torch

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.harness.calls import as_float64_tree
from rnn_conformance.harness.subject import Subject
from rnn_conformance.harness.target import TargetContractError
from rnn_conformance.harness.tensors import TORCH_DTYPES, to_tensors
from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.parameters import parse_parameter_name
from rnn_conformance.numerics.tolerances.comparison import leaves

__all__ = ["build_cell", "cell_params", "run_cell_target"]


def cell_params(case: RNNCase) -> dict[str, Array]:
    """The case's layer-0 forward weights under the cell's parameter names (no suffix)."""
    named = {}
    for name, value in case.params.items():
        parsed = parse_parameter_name(name)
        if parsed is not None and parsed[1:] == (0, 0):
            named[parsed[0]] = value
    return named


def build_cell(subject: Subject, case: RNNCase) -> torch.nn.Module:
    """Construct the cell target for the case's sizes with its layer-0 weights, eval mode."""
    device = subject.device
    if subject.cell_target is None:
        raise TargetContractError("no cell target configured (--rnn-cell-impl)")
    dtype = TORCH_DTYPES[case.dtype]
    module = subject.cell_target.build_with(case.config.cell_kwargs(), device=device, dtype=dtype)
    subject.cell_target.load(module, cell_params(case), device=device, dtype=dtype)
    return module.eval()


def run_cell_target(
    subject: Subject,
    case: RNNCase,
    x: Array,
    h: Any,
    *,
    module: torch.nn.Module | None = None,
) -> Any:
    """One step of the cell target on ``x`` ((N, H_in) or (H_in,)) from ``h`` (or None).

    ``h`` and the result are arrays, or tuples of arrays for a family whose state has
    several parts.
    """
    device = subject.device
    module = build_cell(subject, case) if module is None else module
    assert subject.cell_target is not None
    layout = {"dtype": case.dtype, "device": device}
    args: list[Any] = [to_tensors(x, **layout)]
    args.append(None if h is None else to_tensors(h, **layout))
    with torch.no_grad():
        result = subject.cell_target.call(module, *args)
    sizes = case.config.state_sizes
    for (path, part), size in zip(leaves(result, "state"), sizes, strict=False):
        expected = (*x.shape[:-1], size)
        if tuple(part.shape) != expected or part.dtype != TORCH_DTYPES[case.dtype]:
            raise TargetContractError(
                f"{subject.cell_target.spec} returned {tuple(part.shape)} {part.dtype} for input "
                f"{x.shape}, expected {expected} {TORCH_DTYPES[case.dtype]}"
                + ("" if len(sizes) == 1 else f" ({path})")
            )
    return as_float64_tree(result)
