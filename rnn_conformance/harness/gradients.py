"""Gradients: the target's by autograd, and the reference's with their error bounds."""

from __future__ import annotations

from typing import Any

import torch

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.harness.calls import build_module, check_result
from rnn_conformance.harness.expected import reference_trace
from rnn_conformance.harness.subject import Subject
from rnn_conformance.harness.target import TargetContractError
from rnn_conformance.harness.tensors import case_tensors, to_tensors
from rnn_conformance.numerics.arithmetic import Array
from rnn_conformance.numerics.backprop import Gradients
from rnn_conformance.numerics.reference import as_float64
from rnn_conformance.numerics.tolerances import (
    Precision,
    forward_error_bounds,
    gradients_and_error_bounds,
)
from rnn_conformance.numerics.tolerances.comparison import leaves

__all__ = ["reference_gradients", "run_target_gradients"]


def run_target_gradients(
    subject: Subject,
    case: RNNCase,
    grad_output: Array,
    grad_h_n: Any,
    *,
    module: torch.nn.Module | None = None,
) -> dict[str, Array]:
    """Gradients of ``sum(grad_output * output) + sum(grad_h_n * h_n)`` by the target's autograd.

    Keys: ``input``, ``hx`` (when the case has one; ``hx[0]``, ``hx[1]`` for a tuple) and
    every parameter name. A gradient that autograd cannot reach (``None``) is a
    :class:`TargetContractError`.
    """
    device = subject.device
    module = build_module(subject, case) if module is None else module
    x, hx = case_tensors(case, device)
    leaves_by_name: dict[str, torch.Tensor] = {"input": x.requires_grad_()}
    if hx is not None:
        for name, tensor in leaves(hx, "hx"):
            leaves_by_name[name] = tensor.requires_grad_()
    leaves_by_name.update(dict(module.named_parameters()))
    output, h_n = subject.target.forward(module, x, hx)
    check_result(subject, case, output, h_n)
    layout = {"dtype": case.dtype, "device": device}
    results = [output] + [t for _, t in leaves(h_n, "h_n")]
    seeds = [to_tensors(grad_output, **layout)] + [
        t for _, t in leaves(to_tensors(grad_h_n, **layout), "h_n")
    ]
    try:
        grads = torch.autograd.grad(
            results, list(leaves_by_name.values()), seeds, allow_unused=True
        )
    except RuntimeError as exc:
        raise TargetContractError(
            f"{subject.target.spec}: autograd through forward failed: {exc}"
        ) from exc
    missing = [name for name, grad in zip(leaves_by_name, grads, strict=True) if grad is None]
    if missing:
        raise TargetContractError(
            f"{subject.target.spec}: (output, h_n) does not depend on {missing} under autograd "
            "(detached, or not registered as parameters)"
        )
    return {name: as_float64(grad) for name, grad in zip(leaves_by_name, grads, strict=True)}


def reference_gradients(
    case: RNNCase, precision: Precision, grad_output: Array, grad_h_n: Any
) -> tuple[dict[str, Array], dict[str, Array]]:
    """The reference's gradients (as :func:`run_target_gradients`) and their error bounds."""
    _, _, trace = reference_trace(case)
    forward = forward_error_bounds(trace, precision)
    exact, bounds = gradients_and_error_bounds(trace, forward, grad_output, grad_h_n)

    def flatten(g: Gradients) -> dict[str, Array]:
        hx = {} if case.hx is None else dict(leaves(g.hx, "hx"))
        return {"input": g.input, **hx, **g.params}

    return flatten(exact), flatten(bounds)
