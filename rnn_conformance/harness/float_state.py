"""Process-wide floating-point state that a target must leave as it found it.

Some libraries switch the whole process to flush-to-zero (FTZ) and denormals-are-zero
(DAZ) after their first operation. Every later float computation in the process is then
wrong near zero, the suite's own included: Hypothesis' float strategies fail with
``assert 0.0 > 0`` and nothing points at the target. So after each target call
(:mod:`rnn_conformance.harness.target_calls`) :class:`FloatStateGuard` checks that the smallest
subnormal float64 still survives a multiplication by one; if it does not, it restores
gradual underflow at once (so the rest of the run is not poisoned) and remembers the call,
and the property fails with :meth:`FloatStateGuard.problem`.

>>> flushes_subnormals()
False
"""

from __future__ import annotations

from typing import Any

from rnn_conformance.harness.target_calls import describe_values

__all__ = ["FloatStateGuard", "flushes_subnormals", "restore_gradual_underflow"]

_SMALLEST_SUBNORMAL = 5e-324
_ONE = [1.0]  # read at run time, so that the product is not folded at compile time


def flushes_subnormals() -> bool:
    """Whether this thread's float unit flushes subnormals to zero (FTZ or DAZ is on)."""
    return not _SMALLEST_SUBNORMAL * _ONE[0] > 0.0


def restore_gradual_underflow() -> None:
    """Turn flush-to-zero and denormals-are-zero off again (both, on x86)."""
    import torch

    torch.set_flush_denormal(False)


class FloatStateGuard:
    """An observer of target calls that catches, and undoes, flush-to-zero (see above)."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] = {}
        self._running: tuple[str, tuple[Any, ...], Any] | None = None

    def before_call(
        self, spec: str, built_with: Any, module: Any, args: tuple[Any, ...], kwargs: Any
    ) -> None:
        """Remember the call, to name it if it turns flush-to-zero on (described only then)."""
        self._running = (spec, args, kwargs)

    def after_call(self, spec: str, module: Any, result: Any) -> None:
        """Check the float state after the call; restore it and remember the culprit."""
        running, self._running = self._running, None
        if flushes_subnormals():
            restore_gradual_underflow()
            if running is not None and "call" not in self._pending:
                name, args, kwargs = running
                self._pending["call"] = f"{name}.forward({describe_values(args, kwargs)})"

    def problem(self) -> str | None:
        """The failure message for the property that ran, if a call flushed; then forget it."""
        call = self._pending.pop("call", None)
        if call is None:
            return None
        return (
            "the target turned on flush-to-zero for the whole process (subnormal floats "
            f"became 0.0 after {call}): every later float computation of the process, the "
            "suite's own included, is then wrong near zero. A module must leave the "
            "process's floating-point state (FTZ/DAZ) as it found it. The suite restored "
            "gradual underflow, so the rest of the run is not affected"
        )
