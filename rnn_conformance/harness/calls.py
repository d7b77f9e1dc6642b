"""Calling the target on a case, with the basic contract checked on every call.

Return types, dtype, device and the shape table are checked here on every call, so a
target that breaks them fails every property with one short message pointing at the shape
property instead of an unreadable cascade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.harness.subject import Subject
from rnn_conformance.harness.target import TargetContractError
from rnn_conformance.harness.tensors import TORCH_DTYPES, case_tensors
from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.reference import as_float64
from rnn_conformance.numerics.tolerances.comparison import leaves

__all__ = ["TargetRun", "as_float64_tree", "build_module", "check_result", "run_target"]


@dataclass(frozen=True)
class TargetRun:
    """One forward call of the target, with the results as float64 arrays.

    ``h_n`` is an array, or a tuple of arrays for a family whose state has several parts.
    """

    output: Array
    h_n: Any
    output_tensor: torch.Tensor
    h_n_tensor: Any


def as_float64_tree(value: Any) -> Any:
    """:func:`~rnn_conformance.numerics.reference.as_float64` of a tensor or of each in a tuple."""
    if isinstance(value, tuple | list):
        return tuple(as_float64_tree(v) for v in value)
    return as_float64(value)


def build_module(subject: Subject, case: RNNCase) -> torch.nn.Module:
    """Construct the target for ``case`` with the case's weights loaded, in eval mode."""
    device = subject.device
    dtype = TORCH_DTYPES[case.dtype]
    module = subject.target.build(case.config, device=device, dtype=dtype)
    subject.target.load(module, case.params, device=device, dtype=dtype)
    return module.eval()


def _same_device(tensor: torch.Tensor, device: str) -> bool:
    wanted = torch.device(device)
    if tensor.device.type != wanted.type:
        return False
    return wanted.index is None or tensor.device.index in (wanted.index, None)


def check_result(
    subject: Subject,
    case: RNNCase,
    output: torch.Tensor,
    h_n: Any,
    *,
    seq_len: int | None = None,
    batch_size: int | str | None = "case",
) -> None:
    """Check dtype, device and the shapes of the family's table; raise TargetContractError."""
    device = subject.device
    steps = case.seq_len if seq_len is None else seq_len
    batch: Any = case.batch_size if batch_size == "case" else batch_size
    config = case.config
    expected = dict([("output", config.output_shape(steps, batch)), *_state_shapes(config, batch)])
    actual = dict(leaves(output, "output") + leaves(h_n, "h_n"))
    for name, tensor in actual.items():
        problems = []
        if tuple(tensor.shape) != expected[name]:
            problems.append(f"shape {tuple(tensor.shape)}, expected {expected[name]}")
        if tensor.dtype != TORCH_DTYPES[case.dtype]:
            problems.append(f"dtype {tensor.dtype}, expected {TORCH_DTYPES[case.dtype]}")
        if not _same_device(tensor, device):
            problems.append(f"device {tensor.device}, expected {device}")
        if problems:
            raise TargetContractError(
                f"{subject.target.spec} returned {name} with "
                + "; ".join(problems)
                + f" for input shape {config.input_shape(steps, batch)}"
                + f" ({config.family.title}'s shape table; see test_output_and_h_n_shapes)"
            )


def _state_shapes(config: Any, batch: int | None) -> list[tuple[str, tuple[int, ...]]]:
    """Each part of ``h_n`` by the path :func:`leaves` gives it, with its shape."""
    shapes = config.state_shapes(batch)
    if len(shapes) == 1:
        return [("h_n", shapes[0])]
    return [(f"h_n[{i}]", shape) for i, shape in enumerate(shapes)]


def run_target(
    subject: Subject,
    case: RNNCase,
    *,
    module: torch.nn.Module | None = None,
    pass_hx: bool = True,
    check: bool = True,
) -> TargetRun:
    """Build (unless given), then call the target on the case's input and hx, no grad.

    ``pass_hx=False`` omits the hx argument entirely, as a user calling ``rnn(x)`` would.
    ``check=False`` skips :func:`check_result` (for the property that states it).
    """
    device = subject.device
    module = build_module(subject, case) if module is None else module
    x, hx = case_tensors(case, device)
    args: list[Any] = [x, hx] if pass_hx else [x]
    with torch.no_grad():
        output, h_n = subject.target.forward(module, *args)
    if check:
        check_result(subject, case, output, h_n)
    return TargetRun(as_float64(output), as_float64_tree(h_n), output, h_n)
