"""Resolving ``module:attr``: how a target, a cell target or a transform of your own is named.

A leaf, importing nothing of the suite, so that every layer that takes such a name (the
harness for targets, :mod:`rnn_conformance.transforms` for transforms) resolves it one way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["TargetSpecError", "resolve"]


class TargetSpecError(ValueError):
    """``module:attr`` could not be resolved to a callable."""


def resolve(spec: str) -> Callable[..., Any]:
    """Import ``module:attr`` (``attr`` may be dotted) and return the callable.

    >>> resolve("torch.nn:RNN").__name__
    'RNN'
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetSpecError(f"{spec!r} is not of the form 'module:attr' (e.g. 'torch.nn:RNN')")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise TargetSpecError(
            f"cannot import module {module_name!r} for {spec!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetSpecError(
                f"module {module_name!r} has no attribute {attr!r} (looked up for {spec!r})"
            ) from None
    if not callable(obj):
        raise TargetSpecError(f"{spec!r} resolved to a non-callable {type(obj).__name__}")
    return obj
