"""``compile[:BACKEND]``: every call through ``torch.compile``, proven to run compiled code.

Three behaviours of TorchDynamo (torch 2.13) would make a check of compiled code vacuous,
each silently running the eager module under the compiled subject's name; this transform
overrides them:

* ``allow_rnn`` is False by default: Dynamo refuses to trace nn.RNN, nn.LSTM and nn.GRU
  (a graph break) and runs them eagerly. It is set True while a call runs;
* ``recompile_limit`` is 8 per code object: every configuration drawn (layers,
  directions, dtype, bias, ``batch_first``, ...) is a new compilation, and past the limit
  Dynamo runs eager code. The limit is raised, and hitting it is an error;
* a call that raises while being traced (every invalid call: the modules' argument
  checks are traced) marks the traced code object "skip" for the rest of the process
  (pytorch/pytorch#144820), so after the first error-contract check every call ran
  eagerly. The mark is reset after such a call.

The proof: the backend handed to ``torch.compile`` wraps the backend named after the colon
(``eager``, ``aot_eager`` or ``inductor``) and counts every run of a graph it compiled. A
graph compiled during a call that also broke the graph (``torch._dynamo`` counts each
break) is partial: a call that runs one, or that runs no compiled graph at all, is not
counted, so the harness fails it (:class:`~rnn_conformance.transforms.base.Transform`).

One compiled function serves every module of a worker: with ``dynamic=True`` the time and
batch axes are symbolic, and the parameters are graph inputs (Dynamo inlines built-in
``nn.Module`` calls), so one graph per constructor configuration serves every weight set
and every sequence length, as a deployed compiled model would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from rnn_conformance.numerics.families import Family
from rnn_conformance.transforms.base import Gap, Transform

__all__ = ["BACKENDS", "DYNAMO_SETTINGS", "Compile"]

BACKENDS = ("eager", "aot_eager", "inductor")
"""The ``torch.compile`` backends ``compile:BACKEND`` takes."""

DYNAMO_SETTINGS = {
    "allow_rnn": True,
    # Far above the distinct configurations even a thorough run compiles: a fallback to
    # eager would be an unchecked pass, so running out is an error, not a fallback.
    "recompile_limit": 100_000,
    "accumulated_recompile_limit": 100_000,
    "fail_on_recompile_limit_hit": True,
}
"""The ``torch._dynamo.config`` values in force while a compiled call runs."""

PACKED = Gap(
    "packed_sequences",
    "nn.RNN/LSTM/GRU.forward reads PackedSequence.batch_sizes[0], a data-dependent "
    "scalar: Dynamo breaks the graph there and the recurrence runs eagerly, so a packed "
    "call would check eager code",
    "https://docs.pytorch.org/docs/stable/compile/programming_model.common_graph_breaks.html "
    "(Data-dependent operations); torch/nn/modules/rnn.py reads batch_sizes[0]",
)


def _graph_breaks() -> int:
    from torch._dynamo.utils import counters

    return sum(counters["graph_break"].values())


def _call_forward(module: torch.nn.Module, eager: Any, *args: Any) -> Any:
    # The one frame torch.compile starts from; the module's forward is traced inline.
    return eager(module, *args)


def _rearm(function: Callable[..., Any]) -> None:
    # A call that raises while Dynamo traces it makes torch 2.13 mark the traced code
    # object SKIP for the rest of the process (pytorch/pytorch#144820, fixed upstream by
    # #186003): every later call would run eagerly. Reset that mark; compiled graphs stay
    # cached. The API is private, hence the narrow use.
    from torch._C._dynamo.eval_frame import set_code_exec_strategy
    from torch._dynamo.types import FrameAction, FrameExecStrategy

    default = FrameExecStrategy(FrameAction.DEFAULT, FrameAction.DEFAULT)
    set_code_exec_strategy(function.__code__, default)


class Compile(Transform):
    """``torch.compile`` with ``backend``, every call proven to run a whole compiled graph."""

    def __init__(self, backend: str = "eager") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"compile:{backend}: unknown backend; known: {', '.join(BACKENDS)}")
        super().__init__(f"compile:{backend}", gaps=(PACKED,))
        self.backend = backend
        self.graphs = 0
        self._partial: set[int] = set()
        self._ran: list[int] = []
        self._breaks_at_start = 0
        self._compiled = torch.compile(_call_forward, backend=self._counting, dynamic=True)

    def _counting(self, graph: torch.fx.GraphModule, example_inputs: list[Any]) -> Any:
        from torch._dynamo.backends.registry import lookup_backend

        compiled = lookup_backend(self.backend)(graph, example_inputs)
        self.graphs += 1
        number = self.graphs
        if _graph_breaks() != self._breaks_at_start:
            self._partial.add(number)

        def run(*args: Any) -> Any:
            self._ran.append(number)
            return compiled(*args)

        return run

    def wrap_forward(
        self,
        module: torch.nn.Module,
        eager: Any,
        *,
        kwargs: dict[str, Any],
        family: Family,
        cell: bool,
    ) -> Any:
        """A ``forward`` that runs the artefact and counts the calls that did."""

        def forward(*args: Any) -> Any:
            self._ran = []
            self._breaks_at_start = _graph_breaks()
            try:
                with torch._dynamo.config.patch(**DYNAMO_SETTINGS):
                    result = self._compiled(module, eager, *args)
            except Exception:
                _rearm(_call_forward)
                raise
            if self._ran and not self._partial.intersection(self._ran):
                self.calls += 1
            else:
                self.miss = (
                    "a graph break: part of the call ran eagerly; TORCH_LOGS=graph_breaks says why"
                    if self._ran
                    else "no compiled graph ran: Dynamo fell back to eager code"
                )
                # Re-arm too: a graph break may have left the frame marked SKIP, and this
                # call's failure should be reported alone.
                _rearm(_call_forward)
            return result

        return forward
