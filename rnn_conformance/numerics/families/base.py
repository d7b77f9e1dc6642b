"""The seam: everything that differs between recurrent families, as one object per family.

The rest of the suite (layers and directions, layouts, unbatched input, packed sequences,
dropout, the error bounds, strategies, harness and the properties) is written once against
:class:`Family`; a property whose statement is a family's own asks the family, which
declares it as data or as a method, never the other way round. A family says:

* its constructor's own arguments (nn.RNN's ``nonlinearity``, nn.LSTM's ``proj_size``)
  with their defaults (:attr:`Family.options`), how they are validated
  (:meth:`Family.check_options`) and drawn (:meth:`Family.option_strategy`), which
  capability a configuration of them needs (:meth:`Family.needed_capabilities`) and
  whether one selects a relu mode (:attr:`Family.relu_options`);
* its gate count and parameter layout (:meth:`Family.direction_parameters`);
* its state: the names and sizes of the parts of ``h_0``/``h_n`` (``h``, or ``h`` and ``c``),
  the interval each part always lies in (:meth:`Family.state_ranges`) and the interval
  ``h_0`` must start in for that to hold (:meth:`Family.start_ranges`: nn.GRU's ``h``);
* the constructor arguments its torch module rejects (:attr:`Family.invalid_arguments`),
  and how it rejects a tuple hx (:attr:`Family.tuple_hx_errors`);
* its own pinned cases (:attr:`Family.pinned_cases`: data, built into cases by
  :mod:`rnn_conformance.generation.known_cases`);
* one cell step, and its hand-written backward step, written in
  :mod:`rnn_conformance.numerics.arithmetic` so that the same code is the float64 reference and,
  in the probe arithmetic, the local rounding model the error bound propagates;
* torch's module and cell classes, the default targets.

Shapes have one home: :class:`~rnn_conformance.numerics.config.Configuration` derives every shape
(sequences, states, parameter names) from two answers of the family,
:meth:`Family.state_sizes` and :meth:`Family.direction_parameters`, which read only the
configuration's plain fields and never call back into it.

Per layer-direction and step, the shared code computes the two gate projections
``gi = x @ W_ih.T + b_ih`` and ``gh = h @ W_hh.T + b_hh`` (each of ``gates * H`` features,
``h`` being the state's first part) and hands them to :meth:`Family.step`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from hypothesis import strategies as st

from rnn_conformance.numerics.arithmetic import Arithmetic

__all__ = [
    "SATURATED",
    "Configuration",
    "Family",
    "PinnedCase",
    "SaturatedGates",
    "StepGradients",
    "sigmoid_slope",
]

SATURATED = 20.0
"""A pre-activation that saturates a gate: sigmoid(20) = 1 - 2.1e-9, sigmoid(-20) = 2.1e-9."""


class Configuration(Protocol):
    """What a family reads of a configuration: its plain fields, never a derived shape.

    :class:`~rnn_conformance.numerics.config.Configuration` is the one implementation; the family
    declares this instead of importing it, so that the configuration depends on the
    families and never the other way round.
    """

    @property
    def input_size(self) -> int: ...  # noqa: D102
    @property
    def hidden_size(self) -> int: ...  # noqa: D102
    @property
    def bias(self) -> bool: ...  # noqa: D102

    def option(self, name: str) -> Any:
        """The value of the family's own argument ``name``."""
        ...


@dataclass(frozen=True)
class PinnedCase:
    """A hand-picked case of a family, as data.

    :mod:`rnn_conformance.generation.known_cases` builds it.

    ``config`` holds :class:`~rnn_conformance.numerics.config.Configuration` keyword arguments (the
    family's own included). Without ``weights`` and ``input`` the values are drawn from a
    seeded generator; with them (a published tutorial's numbers), ``weights`` maps each
    parameter name to its values and ``input`` is the input sequence.
    """

    name: str
    config: Mapping[str, Any]
    seq_len: int
    batch_size: int | None
    dtype: str = "float32"
    with_hx: bool = True
    weights: Mapping[str, Any] | None = None
    input: Any = None


@dataclass(frozen=True)
class SaturatedGates:
    """Gate biases that make one step of a gated family a known function of its input.

    With ``W_hh = 0``, ``b_hh = 0`` and ``b_ih`` of gate block g ``gate_biases[g]``, the
    new ``h`` at every step is ``response(s)`` of that step's pre-activation ``s`` of the
    signal block (the ``None`` in ``gate_biases``) alone, within 1e-8; ``inverse`` undoes
    it. The dropout properties read masks through it (``formula`` names it in messages).
    """

    gate_biases: tuple[float | None, ...]
    formula: str
    response: Callable[[Any], Any]
    inverse: Callable[[Any], Any]

    @property
    def signal(self) -> int:
        """The gate block whose pre-activation carries the input."""
        return self.gate_biases.index(None)


@dataclass
class StepGradients:
    """What one backward step returns, for the shared backward pass to finish.

    ``gi`` and ``gh`` are the gradients of the two gate projections; the shared code turns
    them into the gradients of the input, of ``h`` through ``W_hh`` and of ``W_ih``, ``W_hh``
    and the biases. ``state`` holds the gradient reaching each part of the previous state
    *directly* (not through ``W_hh``): ``c`` through the forget gate, ``h`` through GRU's
    update gate; ``None`` where there is none. ``parameters`` maps a family parameter's stem
    to ``(a, b)``: its gradient is the sum over steps and batch of ``a.T @ b``.
    """

    gi: Any
    gh: Any
    state: tuple[Any, ...]
    parameters: dict[str, tuple[Any, Any]] = field(default_factory=dict)


class Family:
    """One recurrent family. Subclass it, fill in the class attributes and the two steps.

    The default parameter layout is nn.RNN's with ``gates`` gate blocks per weight, which
    nn.LSTM and nn.GRU share; a family with more parameters extends
    :meth:`direction_parameters`.
    """

    name: ClassVar[str]
    """The ``--rnn-family`` value: ``rnn``, ``lstm``, ``gru``."""
    title: ClassVar[str]
    """torch's module name, as messages print it: ``nn.RNN``."""
    module_target: ClassVar[str]
    """The default target, ``module:attr``."""
    cell_target: ClassVar[str]
    """The default cell target, ``module:attr``."""
    gates: ClassVar[int]
    """Gate blocks stacked in ``weight_ih``, ``weight_hh`` and the biases."""
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    """The parts of ``h_0``/``h_n``; the first is the one the output shows."""
    options: ClassVar[Mapping[str, Any]] = {}
    """The family's own constructor arguments with their defaults, in signature order."""
    options_after: ClassVar[str] = "bidirectional"
    """The shared constructor argument the family's own follow in its signature."""
    cell_options: ClassVar[tuple[str, ...]] = ()
    """The family's own arguments its cell takes too (nn.RNNCell's ``nonlinearity``)."""
    option_capabilities: ClassVar[Mapping[str, str]] = {}
    """The capability each of its own arguments needs away from its default (nn.LSTM's
    ``proj_size``: ``projection``): such values are never drawn for a target declaring it
    unsupported, and the argument's error checks belong to it."""
    relu_options: ClassVar[Mapping[str, Any] | None] = None
    """The arguments that select a relu mode (nn.RNN's ``nonlinearity='relu'``); None: none.

    Properties that need a piecewise-linear network (dropout's exact multiples) use it;
    properties that need a smooth one (finite differences) avoid it.
    """
    invalid_arguments: ClassVar[tuple[tuple[Mapping[str, Any], type[Exception]], ...]] = ()
    """Family-specific changes to a valid ``(input_size=3, hidden_size=4, num_layers=2)``
    call that torch's module rejects, with the exception type it raises."""
    tuple_hx_errors: ClassVar[tuple[type[Exception], ...]] = ()
    """For a family whose state has one part, the exceptions accepted for an hx passed as
    a tuple (``(h_0,)``, or ``(h_0, c_0)`` as if it were nn.LSTM's), which the forward
    errors then check; empty: not checked."""
    pinned_cases: ClassVar[tuple[PinnedCase, ...]] = ()
    """The family's own pinned cases, checked besides the shapes every family shares."""
    saturated_gates: ClassVar[SaturatedGates | None] = None
    """How to saturate its gates so that its output shows its input (None: no gates, or
    not known): the dropout properties' mask-revealing network for a family without relu."""

    # -- constructor -------------------------------------------------------------------

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for an argument the family does not take or a bad value."""
        for name, value in options.items():
            if name not in self.options:
                raise ValueError(f"{self.title} takes no {name} argument, got {name}={value!r}")

    def check(self, config: Configuration) -> None:
        """Raise ``ValueError`` where its own arguments do not fit the sizes (none by default)."""

    def option_strategy(
        self,
        hidden_size: int,
        *,
        unsupported: frozenset[str],
        relu: bool | None,
        projections: bool,
    ) -> st.SearchStrategy[dict[str, Any]]:
        """The family's own arguments, drawn for a module of ``hidden_size`` units.

        Never a value needing a capability in ``unsupported``; ``relu`` True draws only
        the relu mode, False never, None either; ``projections=False`` never draws an
        argument that projects ``h``. Shrinks towards :attr:`options`' defaults.
        """
        return st.just({})

    def needed_capabilities(self, config: Configuration) -> frozenset[str]:
        """The capabilities its own arguments need (:attr:`option_capabilities`)."""
        return frozenset(
            capability
            for name, capability in self.option_capabilities.items()
            if config.option(name) != self.options[name]
        )

    def labels(self, config: Configuration) -> list[str]:
        """Coarse words for the family's own arguments, for ``event()`` coverage labels."""
        return [self.name]

    def cell_kwargs(self, config: Configuration) -> dict[str, Any]:
        """Keyword arguments for the family's cell with ``config``'s sizes (no device, dtype)."""
        own = {name: config.option(name) for name in self.cell_options}
        return {
            "input_size": config.input_size,
            "hidden_size": config.hidden_size,
            "bias": config.bias,
            **own,
        }

    # -- shapes and parameters ---------------------------------------------------------

    def options_from_parameters(self, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
        """The family arguments that parameter shapes reveal (nn.LSTM's ``proj_size``)."""
        return {}

    def state_sizes(self, config: Configuration) -> tuple[int, ...]:
        """Feature size of each state part (``h`` first)."""
        return (config.hidden_size,) * len(self.state_names)

    def state_ranges(self, config: Configuration) -> tuple[tuple[float, float] | None, ...]:
        """The interval each state part always lies in (``None``: unbounded).

        At every step, and so in ``output`` and ``h_n``, from any ``h_0`` whose parts lie
        in :meth:`start_ranges`.
        """
        return (None,) * len(self.state_names)

    def start_ranges(self, config: Configuration) -> tuple[tuple[float, float] | None, ...]:
        """The interval each part of ``h_0`` must lie in for :meth:`state_ranges` to hold.

        ``None``: any start (nn.RNN's and nn.LSTM's ranges hold whatever ``h_0`` is, since
        their ``h`` is a squashed value). nn.GRU's ``h'`` mixes in ``h`` itself, so its
        range holds only from an ``h_0`` within it.
        """
        return (None,) * len(self.state_names)

    def direction_parameters(
        self, config: Configuration, input_size: int
    ) -> dict[str, tuple[int, ...]]:
        """The stems and shapes of one layer-direction's parameters, in registration order.

        ``input_size`` is the features the layer reads (the config computes it).
        """
        rows = self.gates * config.hidden_size
        shapes = {
            "weight_ih": (rows, input_size),
            "weight_hh": (rows, self.state_sizes(config)[0]),
        }
        if config.bias:
            shapes["bias_ih"] = (rows,)
            shapes["bias_hh"] = (rows,)
        return shapes

    # -- the recurrence ----------------------------------------------------------------

    def step(
        self,
        ops: Arithmetic,
        config: Configuration,
        gi: Any,
        gh: Any,
        state: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> tuple[tuple[Any, ...], Any]:
        """One step: the new state and a cache for :meth:`step_backward`.

        ``weights`` holds the direction's parameters by stem, for family parameters the
        shared code does not apply (``weight_hr``).
        """
        raise NotImplementedError

    def step_backward(
        self,
        ops: Arithmetic,
        config: Configuration,
        cache: Any,
        grads: tuple[Any, ...],
        weights: Mapping[str, Any],
    ) -> StepGradients:
        """The gradients of one step from those of its new state (one per state part)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<family {self.name}: {self.title}>"


def sigmoid_slope(ops: Arithmetic, s: Any) -> Any:
    """The sigmoid's derivative from its output, as kernels compute it: ``s * (1 - s)``."""
    return ops.mul(s, ops.one_minus(s))
