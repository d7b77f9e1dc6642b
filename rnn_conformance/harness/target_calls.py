"""Every construction and forward call of a target, announced to observers before it runs.

The suite calls targets from many places (the harness, the forward-error property,
gradcheck through ``functional_call``), and some of those calls may never return: a kernel
that segfaults takes the process with it. So the announcement comes *before* the call,
from one place: :meth:`rnn_conformance.harness.target.Target.build_with` announces each
construction, and registers forward hooks on the module it returns, which announce each
call of it, however it is reached. Observers are the flight record
(:mod:`rnn_conformance.running.flight_record`), which must survive a crash, and the recorder of
standalone reproductions.

An observer implements any of ``before_build(spec, kwargs, device, dtype)``,
``before_call(spec, built_with, module, args, kwargs)`` and ``after_call(spec, module,
result)``, where ``built_with`` is the constructor arguments the module was built with.

>>> seen = []
>>> class Printer:
...     def before_build(self, spec, kwargs, device, dtype):
...         seen.append(f"build {spec}({kwargs})")
>>> with observing(Printer()):
...     announce_build("mypkg:MyRNN", {"input_size": 2}, "cpu", "torch.float32")
>>> seen
["build mypkg:MyRNN({'input_size': 2})"]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "OBSERVERS",
    "announce_build",
    "describe_value",
    "describe_values",
    "observing",
    "watch_module",
]

OBSERVERS: list[Any] = []
"""The observers told of every target construction and call, in order."""

_SPEC = "_rnn_conformance_spec"


@contextlib.contextmanager
def observing(observer: Any) -> Iterator[Any]:
    """Add ``observer`` for the duration of the block."""
    OBSERVERS.append(observer)
    try:
        yield observer
    finally:
        OBSERVERS.remove(observer)


def _tell(method: str, *args: Any) -> None:
    for observer in list(OBSERVERS):
        handler = getattr(observer, method, None)
        if handler is not None:
            handler(*args)


def announce_build(spec: str, kwargs: Mapping[str, Any], device: Any, dtype: Any) -> None:
    """Tell the observers that ``spec(**kwargs)`` is about to be constructed."""
    _tell("before_build", spec, dict(kwargs), device, dtype)


def watch_module(spec: str, module: Any, built_with: Mapping[str, Any]) -> None:
    """Announce every later call of ``module`` (a ``torch.nn.Module``) to the observers.

    ``built_with`` is the constructor arguments it was built with, told with each call.
    """
    if getattr(module, _SPEC, None) is not None or not hasattr(module, "register_forward_hook"):
        return
    arguments = dict(built_with)

    def before(mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _tell("before_call", spec, arguments, mod, args, kwargs)

    def after(mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        _tell("after_call", spec, mod, result)

    module.register_forward_pre_hook(before, with_kwargs=True)
    module.register_forward_hook(after, with_kwargs=True)
    # A plain attribute, not a submodule or buffer: the state dict stays the target's own.
    object.__setattr__(module, _SPEC, spec)


def describe_value(value: Any) -> str:
    """A call argument as shape and dtype: ``(3, 2, 4) float32``, a tuple of them, ``None``.

    >>> import torch
    >>> describe_value((torch.zeros(1, 2, 3), None))
    '((1, 2, 3) float32, None)'
    """
    if value is None:
        return "None"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(describe_value(part) for part in value) + ")"
    data = getattr(value, "data", None)
    if type(value).__name__ == "PackedSequence" and data is not None:
        sizes = getattr(value, "batch_sizes", None)
        batch = [int(n) for n in sizes] if sizes is not None else "?"
        return f"PackedSequence(data {describe_value(data)}, batch_sizes {batch})"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        device = getattr(value, "device", None)
        where = f" on {device}" if device is not None and str(device) != "cpu" else ""
        return f"{tuple(shape)} {str(dtype).removeprefix('torch.')}{where}"
    return type(value).__name__


def describe_values(args: tuple[Any, ...], kwargs: Mapping[str, Any] | None = None) -> str:
    """A call's arguments, each by :func:`describe_value` (keywords by name)."""
    parts = [describe_value(arg) for arg in args]
    parts += [f"{name}={describe_value(value)}" for name, value in (kwargs or {}).items()]
    return ", ".join(parts)
