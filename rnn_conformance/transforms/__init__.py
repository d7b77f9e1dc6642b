"""Transforms: what is applied to a subject's targets before the properties see them.

A transform turns each module a target builds into the artefact a deployment runs:
compiled code, an exported program. It is one more dimension of the subject list
(``--transform``, pytest ``--rnn-transform``, ``$RNN_CONFORMANCE_TRANSFORM``: a name, a
comma list or ``all``), so every property checks every family under every transform, and
the subject's id names it: ``lstm-export-cpu``.

* ``eager``: the target as it is;
* ``compile[:BACKEND]`` (:mod:`~rnn_conformance.transforms.compiled`): ``torch.compile``
  with ``eager`` (the default), ``aot_eager`` or ``inductor``;
* ``export`` (:mod:`~rnn_conformance.transforms.exported`): ``torch.export``;
* ``module:attr``: your own :class:`Transform` (a subclass, or a factory of one).

Each proves that it ran (:mod:`~rnn_conformance.transforms.base`) and declares what it
lacks by design, once, with the reason (:func:`declared_limits` lists them).

>>> transform_named("compile:inductor").name
'compile:inductor'
>>> [gap.capability for gap in transform_named("export").gaps]
['packed_sequences', 'training_dropout']
"""

from __future__ import annotations

from rnn_conformance.constants import DEFAULT_TRANSFORM
from rnn_conformance.specs import TargetSpecError, resolve
from rnn_conformance.transforms.base import Gap, Transform, TransformFinding

__all__ = [
    "ALL_TRANSFORMS",
    "KNOWN",
    "Gap",
    "Transform",
    "TransformFinding",
    "UnknownTransform",
    "declared_limits",
    "transform_named",
]

ALL_TRANSFORMS = (DEFAULT_TRANSFORM, "compile:eager", "export")
"""What ``--transform all`` runs: every transform, ``compile`` with its cheapest backend."""

KNOWN = ("eager", "compile[:eager|aot_eager|inductor]", "export")
"""The transforms by name, as usage messages list them."""


class UnknownTransform(ValueError):
    """A transform name that is not one of :data:`KNOWN`."""


def transform_named(name: str) -> Transform | None:
    """The transform called ``name`` (``compile:aot_eager``, say); None for ``eager``.

    A new instance each call: a transform counts its own calls and keeps its own artefacts.
    """
    kind, _, option = name.strip().partition(":")
    if kind == DEFAULT_TRANSFORM and not option:
        return None
    if kind == "compile":
        from rnn_conformance.transforms.compiled import BACKENDS, Compile

        backend = option or "eager"
        if backend not in BACKENDS:
            raise UnknownTransform(
                f"unknown torch.compile backend {backend!r} in {name!r}; "
                f"known: {', '.join(BACKENDS)}"
            )
        return Compile(backend)
    if kind == "export" and not option:
        from rnn_conformance.transforms.exported import Export

        return Export()
    if option:
        return _imported(name.strip())
    raise UnknownTransform(f"unknown transform {name!r}; known: {', '.join(KNOWN)} (or all)")


def _imported(spec: str) -> Transform:
    """Your own transform, ``module:attr``: a Transform subclass or a factory of one."""
    try:
        factory = resolve(spec)
    except TargetSpecError as exc:
        raise UnknownTransform(
            f"cannot import transform {spec!r} ({exc}); known: "
            f"{', '.join(KNOWN)}, or module:attr of your own Transform"
        ) from None
    transform = factory()
    if not isinstance(transform, Transform):
        raise UnknownTransform(
            f"{spec!r} gave {type(transform).__name__}, not a rnn_conformance.transforms.Transform"
        )
    # Named as given: each xdist worker resolves the subject's transform again by its name.
    transform.name = spec
    return transform


def declared_limits() -> list[tuple[str, Gap, bool]]:
    """Every transform's declared gaps: ``(transform, gap, for cells)``, for the docs."""
    rows = []
    for name in ALL_TRANSFORMS:
        transform = transform_named(name)
        if transform is None:
            continue
        rows += [(transform.name, gap, False) for gap in transform.gaps]
        rows += [(transform.name, gap, True) for gap in transform.cell_gaps]
    return rows
