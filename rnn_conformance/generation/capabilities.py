"""Capability gating: features a target may declare it does not support.

A target that cannot do something nn.RNN does (no autograd in an ONNX Runtime
wrapper, no PackedSequence in a kernel) declares it once, and every property needing
that capability is skipped with the capability named in its skip reason, so the gap is
visible in the report rather than silently passed. Declarations, all merged:

* an attribute on the target factory: ``MyRNN.rnn_conformance_unsupported = {"autograd"}``;
* the option ``--rnn-unsupported autograd,packed_sequences``;
* a skips file (``--rnn-skips FILE``, in the style of array-api-tests): one pytest node
  id or substring of one per line, ``#`` comments allowed; a line matching no collected
  property is reported as a warning.

Properties declare what they need with ``@pytest.mark.rnn_requires("autograd", ...)``.
The capabilities of :data:`DRAWN_CAPABILITIES` (a dtype, the input rank, ``bias=False``, a
projection, a reverse direction) decide what is drawn instead: the strategies of
:mod:`rnn_conformance.generation.strategies` never draw a value the target lacks (they read
the running subject's declarations, :mod:`rnn_conformance.generation.drawing`, when
drawing), so the rest of each property still runs, and a property with nothing left to draw
skips naming the capability.

A gap is not a bug: a known bug goes in the xfails file (``--rnn-xfails FILE``, see
:mod:`rnn_conformance.running.xfails`), whose properties are xfailed strictly, so that a fix fails
the run. Its ``[dtype=...]`` scope applies only to properties parametrised by dtype; for a
property that draws float64 cases among others, declaring ``float64`` here is the way to
set that dtype aside without hiding failures at the others.

>>> sorted(parse_capabilities("autograd, float64"))
['autograd', 'float64']
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "ATTRIBUTE",
    "CAPABILITIES",
    "DRAWN_CAPABILITIES",
    "CapabilityError",
    "declared_by_target",
    "parse_capabilities",
    "read_skips_file",
    "skip_reason",
]

CAPABILITIES: dict[str, str] = {
    "autograd": "gradients of output and h_n through torch.autograd",
    "float64": "modules and inputs in float64",
    "float16": "modules and inputs in float16 where the family's torch module supports it",
    "bfloat16": "modules and inputs in bfloat16 where the family's torch module supports it",
    "unbatched": "unbatched 2-D input (L, H_in) with 2-D hx",
    "without_bias": "bias=False: modules without bias parameters",
    "projection": "proj_size > 0: nn.LSTM's projection of h by weight_hr",
    "bidirectional": "bidirectional=True: a reverse direction in every layer",
    "packed_sequences": "torch.nn.utils.rnn.PackedSequence input",
    "training_dropout": "dropout between layers in training mode",
    "error_contract": "nn.RNN's exceptions for invalid constructor arguments and calls",
    "initialisation": "nn.RNN's U(-1/sqrt(H), 1/sqrt(H)) initialisation",
}
"""Every capability name a target may declare unsupported, with what it means."""

ATTRIBUTE = "rnn_conformance_unsupported"
"""The target attribute holding the names of capabilities it lacks."""

DRAWN_CAPABILITIES: tuple[str, ...] = (
    "float64",
    "unbatched",
    "without_bias",
    "projection",
    "bidirectional",
)
"""The capabilities that decide what the strategies draw, rather than skip whole properties.

A dtype, the input rank, ``bias=False``, ``proj_size > 0`` and ``bidirectional=True``
are never drawn for a target declaring the capability they need (the reduced-precision
dtypes ``float16`` and ``bfloat16`` likewise, though only their own property draws them).
"""


class CapabilityError(ValueError):
    """An unknown capability name was declared."""


def parse_capabilities(
    names: Iterable[str] | str, *, source: str = "--rnn-unsupported"
) -> frozenset[str]:
    """Validate capability names (a comma-separated string or an iterable of names).

    Raises :class:`CapabilityError` naming the unknown entry, its source and the known
    names.
    """
    if isinstance(names, str):
        names = names.split(",")
    cleaned = frozenset(name.strip() for name in names if name.strip())
    unknown = sorted(cleaned - CAPABILITIES.keys())
    if unknown:
        raise CapabilityError(
            f"{source}: unknown capability {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(CAPABILITIES))}"
        )
    return cleaned


def declared_by_target(factory: Any) -> frozenset[str]:
    """The capabilities the target factory declares unsupported (its attribute)."""
    names = getattr(factory, ATTRIBUTE, ())
    if isinstance(names, str):
        names = [names]
    return parse_capabilities(names, source=f"{ATTRIBUTE} on the target")


def read_skips_file(path: str | Path) -> list[str]:
    """The node-id patterns of a skips file, without comments and blank lines."""
    text = Path(path).read_text()
    patterns = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [pattern for pattern in patterns if pattern]


def skip_reason(missing: Iterable[str]) -> str:
    """The skip reason for a property needing capabilities the target lacks."""
    parts = [f"{name} ({CAPABILITIES[name]})" for name in sorted(missing)]
    return "target declares unsupported capability: " + "; ".join(parts)
