"""The implementation under test: resolving ``module:attr`` and calling it by contract.

The target contract, for its family (:mod:`rnn_conformance.numerics.families`): a
callable with the family's torch module's constructor signature (for nn.RNN the keyword
arguments ``input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
dropout, bidirectional, device, dtype``; nn.LSTM takes ``proj_size`` instead of
``nonlinearity``) returning a ``torch.nn.Module`` whose ``state_dict`` uses the family's
parameter names and whose ``forward(input, hx=None)`` returns ``(output, h_n)``, ``h_n``
a tuple for a family whose state has several parts. Anything else is reported as a
:class:`TargetContractError` naming the broken clause.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence

from rnn_conformance.harness.target_calls import announce_build, describe_values, watch_module
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.families import FAMILIES, Family
from rnn_conformance.specs import TargetSpecError, resolve
from rnn_conformance.transforms import Transform

__all__ = [
    "Target",
    "TargetContractError",
    "TargetSpecError",
    "resolve",
]


class TargetContractError(AssertionError):
    """The target broke its contract (construction, weights, return type, device, dtype)."""


@dataclass(frozen=True)
class Target:
    """A resolved implementation under test, what it declared, and how to build and call it.

    ``unsupported`` holds the capabilities it declared it lacks
    (:mod:`rnn_conformance.generation.capabilities`) and ``activation_error`` its declared tanh and
    sigmoid accuracy in units of the dtype's unit roundoff
    (:mod:`rnn_conformance.numerics.tolerances`): a target is judged by its own declarations.
    """

    spec: str
    factory: Callable[..., Any]
    family: Family = FAMILIES["rnn"]
    unsupported: frozenset[str] = frozenset()
    activation_error: float = 0.0
    transform: Transform | None = None
    is_cell: bool = False

    @classmethod
    def from_spec(cls, spec: str, family: Family = FAMILIES["rnn"]) -> Target:
        """Resolve ``spec``; raises :class:`TargetSpecError` with the reason."""
        return cls(spec, resolve(spec), family)

    def __repr__(self) -> str:
        return f"Target({self.spec!r})"

    def transformed(self, transform: Transform | None, *, cell: bool) -> Target:
        """The target with ``transform`` applied to every module it builds.

        The transform's declared gaps join the target's own; None (``eager``) changes
        nothing.
        """
        if transform is None:
            return self
        gaps = self.unsupported | transform.declared(cell=cell)
        return replace(self, transform=transform, is_cell=cell, unsupported=gaps)

    def build(self, config: RNNConfig, *, device: str, dtype: torch.dtype) -> torch.nn.Module:
        """Construct the module for ``config`` on ``device`` in ``dtype``."""
        return self.build_with(config.constructor_kwargs(), device=device, dtype=dtype)

    @cached_property
    def takes_device_and_dtype(self) -> bool:
        """Whether the constructor accepts ``device=`` and ``dtype=`` (nn.RNN's does).

        Read from its signature once (every example builds a module): a target without
        them (Opacus' ``DPLSTM``, say) is built on the default device and dtype, then
        moved with ``.to(device, dtype)``.
        """
        return _accepts(self.factory, ("device", "dtype"))

    @property
    def construction(self) -> str:
        """How the target is built, for the run's header, reports and the preflight."""
        if self.takes_device_and_dtype:
            return "with device= and dtype="
        return "built on the default device and dtype, then moved with .to(device, dtype)"

    def build_with(
        self, kwargs: Mapping[str, Any], *, device: str, dtype: torch.dtype
    ) -> torch.nn.Module:
        """Construct the module from constructor keyword arguments (an RNNCell's, say).

        Every construction and every later call of the module is announced first
        (:mod:`rnn_conformance.harness.target_calls`), so a crash leaves a record of the call.
        """
        placed = self.takes_device_and_dtype
        where = {"device": device, "dtype": dtype} if placed else {}
        announce_build(self.spec, kwargs, device, dtype)
        call = f"{self.spec}(**{dict(kwargs)}" + (
            f", device={device!r}, dtype={dtype})" if placed else ")"
        )
        try:
            module = self.factory(**kwargs, **where)
        except Exception as exc:
            raise TargetContractError(f"{call} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(module, torch.nn.Module):
            raise TargetContractError(
                f"{self.spec}(...) returned {type(module).__name__}, not a torch.nn.Module"
            )
        if not placed:
            try:
                module = module.to(device=device, dtype=dtype)
            except Exception as exc:
                raise TargetContractError(
                    f"{call}.to({device!r}, {dtype}) raised {type(exc).__name__}: {exc}"
                ) from exc
        return self.adopt(module, kwargs)

    def adopt(self, module: torch.nn.Module, kwargs: Mapping[str, Any]) -> torch.nn.Module:
        """Make ``module``, built with ``kwargs``, one of this target's modules.

        Its calls are announced to the observers
        (:mod:`rnn_conformance.harness.target_calls`) and routed through the transform:
        every module a property calls goes through here, however it was built.
        """
        watch_module(self.spec, module, kwargs)
        if self.transform is not None:
            self.transform.wrap(module, kwargs=kwargs, family=self.family, cell=self.is_cell)
        return module

    def load(
        self,
        module: torch.nn.Module,
        params: Mapping[str, np.ndarray],
        *,
        device: str,
        dtype: torch.dtype,
    ) -> None:
        """Load reference weights into ``module`` through ``load_state_dict`` (strict)."""
        state = {
            name: torch.as_tensor(value, dtype=dtype, device=device)
            for name, value in params.items()
        }
        try:
            module.load_state_dict(state, strict=True)
        except Exception as exc:
            raise TargetContractError(
                f"{self.spec}: load_state_dict with {self.family.title}'s parameter names "
                f"{sorted(state)} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _invoke(self, module: torch.nn.Module, args: tuple[Any, ...]) -> Any:
        ran = None if self.transform is None else self.transform.runs()
        try:
            result = module(*args)
        except Exception as exc:
            raise TargetContractError(
                f"{self.spec}.forward({describe_values(args)}) raised {type(exc).__name__}: {exc}"
            ) from exc
        if self.transform is not None and self.transform.runs() == ran:
            raise TargetContractError(
                f"{self.spec}.forward({describe_values(args)}) under {self.transform.name} "
                f"ran no transformed code ({self.transform.miss or 'an eager fallback'}): "
                "a pass would not be a pass of the transformed artefact"
            )
        return result

    def call(self, module: torch.nn.Module, *args: Any) -> Any:
        """Call a cell-like ``module(*args)``; check it returned the family's state."""
        result = self._invoke(module, args)
        self._check_state(result, "its state")
        return result

    def forward(self, module: torch.nn.Module, *args: Any) -> tuple[Any, Any]:
        """Call ``module(*args)`` and check that it returned an ``(output, h_n)`` pair.

        ``output`` must be a tensor, or a ``PackedSequence`` when the input is one;
        ``h_n`` a tensor, or a tuple of tensors for a family whose state has several
        parts.

        An exception from the target becomes a :class:`TargetContractError` that names the
        call, since every argument the properties pass is valid for nn.RNN.
        """
        result = self._invoke(module, args)
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise TargetContractError(
                f"{self.spec}.forward returned {type(result).__name__}"
                + (f" of length {len(result)}" if isinstance(result, tuple | list) else "")
                + ", expected a pair (output, h_n)"
            )
        output, h_n = result
        if isinstance(args[0], PackedSequence):
            if not isinstance(output, PackedSequence):
                raise TargetContractError(
                    f"{self.spec}.forward returned output of type {type(output).__name__} "
                    "for PackedSequence input, expected a PackedSequence"
                )
        elif not isinstance(output, torch.Tensor):
            raise TargetContractError(
                f"{self.spec}.forward returned output of type {type(output).__name__}, "
                "expected a torch.Tensor"
            )
        self._check_state(h_n, "h_n")
        return output, h_n

    def _check_state(self, state: Any, name: str) -> None:
        """A state is one tensor, or a tuple of one tensor per part (``(h_n, c_n)``)."""
        names = self.family.state_names
        if len(names) == 1:
            if not isinstance(state, torch.Tensor):
                raise TargetContractError(
                    f"{self.spec}.forward returned {name} of type {type(state).__name__}, "
                    "expected a torch.Tensor"
                )
            return
        parts = ", ".join(f"{part}_n" for part in names)
        if not isinstance(state, tuple | list) or len(state) != len(names):
            raise TargetContractError(
                f"{self.spec}.forward returned {name} of type {type(state).__name__}, "
                f"expected a tuple ({parts}) as {self.family.title} does"
            )
        for i, part in enumerate(state):
            if not isinstance(part, torch.Tensor):
                raise TargetContractError(
                    f"{self.spec}.forward returned {name}[{i}] of type {type(part).__name__}, "
                    "expected a torch.Tensor"
                )

    def forward_with(
        self, module: torch.nn.Module, weights: Mapping[str, torch.Tensor], *args: Any
    ) -> tuple[Any, Any]:
        """:meth:`forward` with the module's parameters replaced by ``weights``.

        Uses ``torch.func.functional_call``, so gradients flow to ``weights`` (for
        ``torch.autograd.gradcheck``).
        """
        return self.forward(_FunctionalCall(module, dict(weights)), *args)


def _accepts(factory: Callable[..., Any], names: tuple[str, ...]) -> bool:
    """Whether ``factory`` takes every keyword in ``names`` (or ``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume the contract
        return True
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return True
    keywords = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return set(names) <= keywords


class _FunctionalCall(torch.nn.Module):
    """Calls ``module`` with substituted parameters through ``functional_call``."""

    def __init__(self, module: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.wrapped = module
        self.weights = weights

    def forward(self, *args: Any) -> Any:
        return torch.func.functional_call(self.wrapped, self.weights, args)
