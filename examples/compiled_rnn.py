"""nn.RNN through the PyTorch compiler (``torch.compile``), checked like any target.

TorchScript cannot script nn.RNN on current PyTorch (``torch.jit.script(nn.RNN(...))``
fails with "'RecursiveScriptModule' object has no attribute 'forward'" on torch 2.13),
so this example checks the compiler stack that replaced it: ``CompiledRNN`` keeps
nn.RNN's parameters and ``state_dict`` and routes forward through ``torch.compile``::

    rnn-conformance --impl examples.compiled_rnn:CompiledRNN

Three behaviours of TorchDynamo (torch 2.13) would make such a check vacuous, each
silently running eager nn.RNN under this example's name; the example overrides them:

* ``allow_rnn`` is False by default: Dynamo refuses to trace nn.RNN (a graph break) and
  runs it eagerly. It is set True while ``forward`` runs;
* ``recompile_limit`` is 8 per code object: every configuration the suite draws (layers,
  directions, dtype, bias, ``batch_first``, ...) is a new compilation, and past the
  limit Dynamo runs eager code. The limit is raised, and hitting it is an error;
* a call that raises while being traced (every invalid call: nn.RNN's argument checks
  are traced) marks the traced code object "skip" for the rest of the process
  (pytorch/pytorch#144820), so after the first error-contract check every call ran
  eagerly. ``forward`` resets that mark after such a call.

What the compiler does not compile is declared, not checked: PackedSequence input
(a data-dependent graph break in nn.RNN.forward makes the whole call run eagerly), so
the packed-sequence property is skipped naming ``packed_sequences``.

The backend passed to ``torch.compile`` counts the graphs it is given and the runs of
those that contain nn.RNN's recurrence (``rnn_tanh``/``rnn_relu``); ``forward`` raises if
a call did not run such a graph, so a graph break or an eager fallback fails the
property instead of passing unchecked. :data:`COMPILER` holds the counts.

The backend it wraps is ``RNN_COMPILE_BACKEND`` (default ``eager``). Measured on 2 CPU
cores, one compilation (one drawn configuration) costs about 0.5 s with ``eager``
(Dynamo's capture: tracing, guards, argument handling; the captured graph runs as is),
about 2 s with ``aot_eager`` (adds AOTAutograd: the forward/backward graphs and their
decompositions) and 10 to 50 s with ``inductor`` (generated C++ kernels). ``eager`` keeps
the example's CI run short; ``aot_eager`` is affordable for a local run; ``inductor``
is for a machine with time to spare.

A finding with ``aot_eager`` (and so any AOTAutograd backend, ``inductor`` included):
``test_gradcheck_passes_in_float64`` fails with "This backward function was compiled
with non-empty donated buffers which requires create_graph=False and
retain_graph=False". AOTAutograd reuses ("donates") saved buffers in backward, so
``backward(retain_graph=True)``, which nn.RNN allows and gradcheck uses, raises on the
compiled RNN; ``torch._functorch.config.donated_buffer = False`` turns that off. The
example leaves the default, so the report shows what users of the default get.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

BACKEND = os.environ.get("RNN_COMPILE_BACKEND", "eager")

DYNAMO_SETTINGS = {
    "allow_rnn": True,
    # Far above the distinct configurations even a thorough run compiles: a fallback to
    # eager would be an unchecked pass, so running out is an error, not a fallback.
    "recompile_limit": 100_000,
    "accumulated_recompile_limit": 100_000,
    "fail_on_recompile_limit_hit": True,
}
"""The ``torch._dynamo.config`` values in force while ``CompiledRNN.forward`` runs."""

RECURRENCE_OPS = frozenset({"rnn_tanh", "rnn_relu"})
"""nn.RNN's recurrence as it appears in a graph Dynamo captured (``torch._VF`` calls)."""


@dataclass
class CompilerActivity:
    """What the counting backend saw: graphs compiled, and runs of the RNN's graphs."""

    graphs: int = 0
    recurrence_graphs: int = 0
    recurrence_runs: int = 0


COMPILER = CompilerActivity()
"""Counts for this process (pytest-xdist workers each have their own)."""


def counting_backend(graph: torch.fx.GraphModule, example_inputs: list[Any]) -> Any:
    """Compile ``graph`` with :data:`BACKEND`, counting it and every run of it."""
    from torch._dynamo.backends.registry import lookup_backend

    compiled = lookup_backend(BACKEND)(graph, example_inputs)
    has_recurrence = any(
        getattr(node.target, "__name__", None) in RECURRENCE_OPS for node in graph.graph.nodes
    )
    COMPILER.graphs += 1
    COMPILER.recurrence_graphs += has_recurrence

    def run(*args: Any) -> Any:
        if has_recurrence:
            COMPILER.recurrence_runs += 1
        return compiled(*args)

    return run


def _rnn_forward(module: nn.RNN, input: Any, hx: Any) -> Any:
    # The frame torch.compile starts from; nn.RNN.forward is traced inline. Being this
    # module's own function, its code object is one that _rearm() may reset.
    return nn.RNN.forward(module, input, hx)


_compiled_forward = torch.compile(_rnn_forward, backend=counting_backend, dynamic=True)


def _rearm() -> None:
    # A call that raises while Dynamo traces it (any invalid call: nn.RNN's argument
    # checks run inside the trace) makes torch 2.13 mark the traced code object SKIP for
    # the rest of the process (pytorch/pytorch#144820, fixed upstream by #186003): every
    # later call, valid or not, would run eagerly. Reset that mark; the graphs already
    # compiled stay cached. The API is private, hence the narrow use.
    from torch._C._dynamo.eval_frame import set_code_exec_strategy
    from torch._dynamo.types import FrameAction, FrameExecStrategy

    default = FrameExecStrategy(FrameAction.DEFAULT, FrameAction.DEFAULT)
    set_code_exec_strategy(_rnn_forward.__code__, default)


class NotCompiledError(RuntimeError):
    """A call of CompiledRNN ran nn.RNN's recurrence outside any compiled graph."""


class CompiledRNN(nn.RNN):
    """nn.RNN whose forward runs through ``torch.compile``, proving every call did."""

    # torch 2.13 compiles no graph for PackedSequence input even with allow_rnn:
    # nn.RNN.forward reads ``batch_sizes[0]`` (a data-dependent scalar), Dynamo breaks
    # the graph there and the whole call runs eagerly. Checking it would check eager
    # nn.RNN under this example's name, so the gap is declared instead.
    rnn_conformance_unsupported = ("packed_sequences",)

    def forward(self, input, hx=None):
        """nn.RNN.forward, compiled; raises :class:`NotCompiledError` if it was not."""
        runs = COMPILER.recurrence_runs
        try:
            with torch._dynamo.config.patch(**DYNAMO_SETTINGS):
                result = _compiled_forward(self, input, hx)
        except Exception:
            _rearm()
            raise
        if COMPILER.recurrence_runs == runs:
            # A graph break may have left the code object marked SKIP as well: re-arm so
            # that this failure is reported alone instead of every later call failing.
            _rearm()
            raise NotCompiledError(
                f"torch.compile (backend {BACKEND!r}) ran this call without nn.RNN's "
                "recurrence in a compiled graph (a graph break or a fallback to eager), so "
                "the call checked no compiled code; TORCH_LOGS=graph_breaks,recompiles says why"
            )
        return result
