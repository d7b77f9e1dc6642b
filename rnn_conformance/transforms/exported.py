"""``export``: every call through one ``torch.export`` artefact per configuration.

The artefact is ``torch.export.export(...).module()`` of a function of the weights and the
call's arguments (``torch.func.functional_call``): the weights are graph inputs, so one
artefact serves every weight set of a constructor configuration, as a deployed model
would, and gradients reach the module's parameters. One artefact is exported per
configuration, dtype, device, mode and call structure (input rank; ``hx`` absent, a
tensor or a tuple), with the batch axis and the time axis marked dynamic, from example
arguments of two steps and two sequences (sizes 0 and 1 would be specialised). Every later
call of that structure runs through it, whatever its lengths: re-exporting per input shape
would hide exactly the specialisation bugs a deployed artefact has.

Where ``torch.export`` cannot keep an axis dynamic it says so at export time (a
constraint violation naming the axis). The artefact is then exported with that axis
specialised (``Dim.AUTO``), and a call of another length fails with a
:class:`~rnn_conformance.transforms.base.TransformFinding` that names the axis and quotes
the exporter: a finding of the transform, not a limit declared away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.utils.rnn import PackedSequence

from rnn_conformance.numerics.families import Family
from rnn_conformance.transforms.base import Gap, Transform, TransformFinding

__all__ = ["Export"]

PACKED = Gap(
    "packed_sequences",
    "torch.export takes tensors and pytrees of tensors; PackedSequence's batch_sizes is "
    "data-dependent control flow in nn.RNN.forward, which export cannot trace",
    "torch.export docs, 'Limitations: data-dependent control flow'",
)
DROPOUT = Gap(
    "training_dropout",
    "an exported artefact is an inference graph exported in eval mode; training-mode "
    "dropout would need a second artefact per mode, which deployments do not ship",
    "torch.export docs, 'export a model in eval mode for inference'",
)


class _Eager(torch.nn.Module):
    """Calls the class's own ``forward`` on ``target``: no hooks, not the transformed one."""

    def __init__(self, target: torch.nn.Module, eager: Any) -> None:
        super().__init__()
        self.target = target
        object.__setattr__(self, "eager", eager)

    def forward(self, input: Any, hx: Any) -> Any:
        return self.eager(self.target, input, hx)


class _Functional(torch.nn.Module):
    """``(weights, input, hx) -> module(input, hx)`` with ``weights`` as graph inputs."""

    def __init__(self, module: torch.nn.Module, eager: Any) -> None:
        super().__init__()
        # A plain attribute, not a submodule: the weights must be inputs, not constants.
        object.__setattr__(self, "call", _Eager(module, eager))

    def forward(self, weights: dict[str, torch.Tensor], input: Any, hx: Any) -> Any:
        named = {f"target.{name}": value for name, value in weights.items()}
        return torch.func.functional_call(self.call, named, (input, hx))


@dataclass
class _Artefact:
    program: Any
    time_axis: int | None
    exported_length: int
    specialised: str  # the exporter's message when the time axis could not stay dynamic


def _structure(args: tuple[Any, ...]) -> tuple[Any, ...]:
    input = args[0]
    hx = args[1] if len(args) > 1 else None
    if hx is None:
        kind: Any = None
    elif isinstance(hx, tuple | list):
        kind = ("tuple", len(hx))
    else:
        kind = "tensor"
    return (getattr(input, "ndim", None), kind)


class Export(Transform):
    """``torch.export.export(...).module()``, one artefact per configuration and structure."""

    def __init__(self) -> None:
        super().__init__("export", gaps=(PACKED, DROPOUT), cell_gaps=())
        self._artefacts: dict[Any, _Artefact] = {}
        self.exports = 0

    def wrap_forward(
        self,
        module: torch.nn.Module,
        eager: Any,
        *,
        kwargs: dict[str, Any],
        family: Family,
        cell: bool,
    ) -> Any:
        """A ``forward`` that runs this configuration's artefact, exporting it once."""
        batch_first = bool(kwargs.get("batch_first", False))
        configuration = (type(module), tuple(sorted(kwargs.items())), cell)

        def forward(*args: Any) -> Any:
            if isinstance(args[0], PackedSequence):
                raise TransformFinding(
                    "export takes no PackedSequence (declared: packed_sequences); "
                    "this call should not have been made"
                )
            input = args[0]
            hx = args[1] if len(args) > 1 else None
            weights = dict(module.named_parameters())
            key = (
                configuration,
                input.dtype,
                str(input.device),
                module.training,
                _structure(args),
            )
            artefact = self._artefacts.get(key)
            if artefact is None:
                artefact = self._export(module, eager, weights, input, hx, cell, batch_first)
                self._artefacts[key] = artefact
            self._check_length(artefact, input)
            result = artefact.program(weights, input, hx)
            self.calls += 1
            return result

        return forward

    def _check_length(self, artefact: _Artefact, input: torch.Tensor) -> None:
        if artefact.time_axis is None or not artefact.specialised:
            return
        length = input.shape[artefact.time_axis] if input.ndim > artefact.time_axis else None
        if length != artefact.exported_length:
            raise TransformFinding(
                f"torch.export could not keep the time axis dynamic (the artefact was "
                f"exported at seq_len={artefact.exported_length} and this call has "
                f"seq_len={length}); the exporter said: {artefact.specialised}"
            )

    def _export(
        self,
        module: torch.nn.Module,
        eager: Any,
        weights: dict[str, torch.Tensor],
        input: torch.Tensor,
        hx: Any,
        cell: bool,
        batch_first: bool,
    ) -> _Artefact:
        from torch.export import Dim, export

        # Example arguments of the call's structure, with every dynamic axis of size 2.
        batched = input.ndim == (2 if cell else 3)
        time_axis = None if cell else (1 if batched and batch_first else 0)
        batch_axis = None if not batched else (0 if cell or batch_first else 1)
        example_input = _resized(input, {time_axis: 2, batch_axis: 2})
        example_hx = _resized_state(hx, batched, 2)
        frozen = {name: value.detach() for name, value in weights.items()}
        batch = Dim("batch", min=0)
        input_dims = {}
        if batch_axis is not None:
            input_dims[batch_axis] = batch
        hx_dims = _state_dims(example_hx, batched, batch, cell)
        specialised = ""
        for time in (Dim("seq", min=0), Dim.AUTO):
            dims = dict(input_dims)
            if time_axis is not None:
                dims[time_axis] = time
            try:
                program = export(
                    _Functional(module, eager),
                    (frozen, example_input, example_hx),
                    dynamic_shapes=({name: None for name in frozen}, dims or None, hx_dims),
                )
                break
            except Exception as exc:
                if time is Dim.AUTO or "seq" not in str(exc):
                    raise TransformFinding(
                        f"torch.export failed: {type(exc).__name__}: {_first_lines(exc)}"
                    ) from exc
                specialised = _first_lines(exc)
        nodes = sum(node.op == "call_function" for node in program.graph.nodes)
        if not nodes:
            raise TransformFinding("torch.export produced a graph without operations")
        self.exports += 1
        return _Artefact(program.module(), time_axis, 2, specialised)


def _first_lines(exc: BaseException, lines: int = 2) -> str:
    return " ".join(str(exc).strip().splitlines()[:lines])


def _resized(tensor: torch.Tensor, sizes: dict[int | None, int]) -> torch.Tensor:
    shape = list(tensor.shape)
    for axis, size in sizes.items():
        if axis is not None:
            shape[axis] = size
    return torch.randn(shape, dtype=tensor.dtype, device=tensor.device)


def _resized_state(hx: Any, batched: bool, size: int) -> Any:
    if hx is None:
        return None
    if isinstance(hx, tuple | list):
        return tuple(_resized_state(part, batched, size) for part in hx)
    axis = hx.ndim - 2 if batched else None
    return _resized(hx, {axis: size})


def _state_dims(hx: Any, batched: bool, batch: Any, cell: bool) -> Any:
    if hx is None:
        return None
    if isinstance(hx, tuple | list):
        return tuple(_state_dims(part, batched, batch, cell) for part in hx)
    if not batched:
        return None
    return {hx.ndim - 2: batch}
