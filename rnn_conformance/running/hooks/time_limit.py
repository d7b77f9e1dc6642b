"""Fail a property that runs longer than ``--rnn-timeout``: a hanging target."""

from __future__ import annotations

import signal
import threading
from collections.abc import Generator
from typing import Any

import pytest

from rnn_conformance.running.hooks.configure import facts_of
from rnn_conformance.running.hooks.scope import is_property

__all__ = ["PropertyTimeout", "pytest_runtest_call"]


class PropertyTimeout(BaseException):
    """A property exceeded ``--rnn-timeout``.

    A BaseException, so that neither the target's own ``except Exception`` nor
    Hypothesis' shrinking (which would re-run the hanging call) can swallow it.
    """


# After the first alarm, re-raise this often until the property has stopped: code that
# swallows one exception (a line tracer, a bare except in the target) cannot hold the run.
_REPEAT_S = 1.0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a property that runs longer than ``--rnn-timeout`` (a hanging target)."""
    facts = facts_of(item.config)
    limit = facts.timeout
    if (
        not is_property(item)
        or not limit
        or not hasattr(signal, "SIGALRM")
        or threading.current_thread() is not threading.main_thread()
    ):
        return (yield)

    def expire(signum: int, frame: Any) -> None:
        raise PropertyTimeout(
            f"{item.name} ran longer than {facts.timeout_option}={limit:g} s: the target "
            f"may hang ({facts.timeout_option}=0 disables the limit)"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit, _REPEAT_S)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
