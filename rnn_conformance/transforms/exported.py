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
    "https://docs.pytorch.org/tutorials/intermediate/torch_export_tutorial.html "
    "(data-dependent control flow); torch/nn/modules/rnn.py reads batch_sizes[0]",
)
DROPOUT = Gap(
    "training_dropout",
    "the artefact is exported once per configuration in eval mode, the mode a deployed "
    "model runs; a training-mode call would need a second artefact with its own RNG state",
    "this suite's export transform (rnn_conformance/transforms/exported.py), as the issue "
    "that added it asked: no training-mode dropout in an exported inference graph",
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
    length: int | None  # the time axis' length when the exporter specialised it, else None
    message: str = ""  # the exporter's words when it could not keep the time axis dynamic


class _Sizes:
    """The constructor arguments as the family's ``state_sizes`` reads a configuration."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs
        self.hidden_size = int(kwargs["hidden_size"])

    def option(self, name: str) -> Any:
        return self.kwargs.get(name)


class Export(Transform):
    """``torch.export.export(...).module()``, one artefact per configuration.

    :meth:`specialised` says which configurations' time axis the exporter could not keep
    dynamic, in its own words; such a configuration gets one artefact per length, so that
    the other properties still check it, and the finding is reported once, by the
    property that asks for dynamic axes.
    """

    def __init__(self) -> None:
        super().__init__("export", gaps=(PACKED, DROPOUT), cell_gaps=())
        self._artefacts: dict[Any, _Artefact] = {}
        self._specialised: dict[Any, str] = {}
        self.exports = 0

    def specialised(self, module: torch.nn.Module) -> dict[str, str]:
        """The axes the exporter specialised for ``module``'s configuration, and why."""
        configuration = getattr(module, "_rnn_conformance_configuration", None)
        message = self._specialised.get(configuration)
        return {} if message is None else {"time": message}

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
        configuration = (type(module), tuple(sorted(kwargs.items())), cell)
        object.__setattr__(module, "_rnn_conformance_configuration", configuration)
        shapes = _Shapes(kwargs, family, cell)

        def forward(input: Any, hx: Any = None) -> Any:
            if isinstance(input, PackedSequence):
                raise TransformFinding(
                    "export takes no PackedSequence (declared: packed_sequences); "
                    "this call should not have been made"
                )
            weights = dict(module.named_parameters())
            parameter = next(iter(weights.values()))
            batched = getattr(input, "ndim", None) != shapes.unbatched_rank
            key = (
                configuration,
                parameter.dtype,
                str(parameter.device),
                module.training,
                batched,
                hx is not None,
            )
            artefact = self._artefacts.get(key)
            if artefact is None:
                artefact = self._export(module, eager, weights, shapes, batched, hx, None)
                self._artefacts[key] = artefact
            length = shapes.length(input, batched)
            if artefact.length is not None and length != artefact.length:
                self._specialised.setdefault(configuration, artefact.message)
                key = (*key, length)
                if key not in self._artefacts:
                    self._artefacts[key] = self._export(
                        module, eager, weights, shapes, batched, hx, length
                    )
                artefact = self._artefacts[key]
            result = artefact.program(weights, input, hx)
            self.calls += 1
            return result

        return forward

    def _export(
        self,
        module: torch.nn.Module,
        eager: Any,
        weights: dict[str, torch.Tensor],
        shapes: _Shapes,
        batched: bool,
        hx: Any,
        length: int | None,
    ) -> _Artefact:
        from torch.export import Dim, export

        # Valid example arguments of the configuration, each dynamic axis of size 2: a
        # deployed artefact is exported from a valid call, then called with anything.
        parameter = next(iter(weights.values()))
        like = {"dtype": parameter.dtype, "device": parameter.device}
        example_input = torch.randn(shapes.input(batched, length), **like)
        example_hx = None if hx is None else shapes.state(batched, like)
        frozen = {name: value.detach() for name, value in weights.items()}
        batch = Dim("batch", min=0)
        input_dims: dict[int, Any] = {}
        if batched:
            input_dims[shapes.batch_axis] = batch
        hx_dims = None if example_hx is None else shapes.state_dims(example_hx, batched, batch)
        times = (
            [None]
            if shapes.time_axis is None or length is not None
            else [Dim("seq", min=0), Dim.AUTO]
        )
        message = ""
        for time in times:
            dims = dict(input_dims)
            if time is not None:
                dims[shapes.time_axis] = time
            try:
                program = export(
                    _Functional(module, eager),
                    (frozen, example_input, example_hx),
                    dynamic_shapes=({name: None for name in frozen}, dims or None, hx_dims),
                )
                break
            except Exception as exc:
                # Only the dynamic time axis is retried, and only for the exporter's own
                # constraint violation (its error type, not its wording): the one Dim
                # that may be refused here is the time axis, since the batch axis stays.
                if time is not None and time is not Dim.AUTO and _constraint_violation(exc):
                    message = _first_lines(exc)
                    continue
                raise TransformFinding(
                    f"torch.export failed for an example call of this configuration: "
                    f"{type(exc).__name__}: {_first_lines(exc)}"
                ) from exc
        if not any(node.op == "call_function" for node in program.graph.nodes):
            raise TransformFinding("torch.export produced a graph without operations")
        self.exports += 1
        return _Artefact(program.module(), 2 if message else length, message)


class _Shapes:
    """Valid example shapes of a configuration, and its time and batch axes."""

    def __init__(self, kwargs: dict[str, Any], family: Family, cell: bool) -> None:
        self.kwargs, self.family, self.cell = kwargs, family, cell
        batch_first = bool(kwargs.get("batch_first", False))
        self.unbatched_rank = 1 if cell else 2
        self.time_axis = None if cell else (1 if batch_first else 0)
        self.batch_axis = 0 if cell or batch_first else 1
        layers = int(kwargs.get("num_layers", 1)) * (2 if kwargs.get("bidirectional") else 1)
        self.layers = None if cell else layers
        self.sizes = family.state_sizes(_Sizes(kwargs))  # type: ignore[arg-type]

    def length(self, input: Any, batched: bool) -> int | None:
        if self.time_axis is None or not isinstance(input, torch.Tensor):
            return None
        axis = self.time_axis if batched else 0
        return int(input.shape[axis]) if input.ndim > axis else None

    def input(self, batched: bool, length: int | None) -> tuple[int, ...]:
        features = int(self.kwargs["input_size"])
        if self.cell:
            return (2, features) if batched else (features,)
        steps = 2 if length is None else length
        if not batched:
            return (steps, features)
        return (2, steps, features) if self.time_axis == 1 else (steps, 2, features)

    def state(self, batched: bool, like: dict[str, Any]) -> Any:
        parts = []
        for size in self.sizes:
            shape = tuple(n for n in (self.layers, 2 if batched else None, size) if n is not None)
            parts.append(torch.randn(shape, **like))
        return parts[0] if len(parts) == 1 else tuple(parts)

    def state_dims(self, example: Any, batched: bool, batch: Any) -> Any:
        if isinstance(example, tuple):
            return tuple(self.state_dims(part, batched, batch) for part in example)
        return {example.ndim - 2: batch} if batched else None


def _constraint_violation(exc: BaseException) -> bool:
    from torch._dynamo.exc import UserError, UserErrorType

    return isinstance(exc, UserError) and exc.error_type is UserErrorType.CONSTRAINT_VIOLATION


def _first_lines(exc: BaseException, lines: int = 2) -> str:
    return " ".join(str(exc).strip().splitlines()[:lines])
