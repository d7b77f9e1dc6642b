"""Self-tests that CI runs once, in one of its two environments, rather than in both.

CI (``.ci/run``) runs the README's test command in two environments, ``latest`` and
``oldest``, and sets ``RNN_CI_SHARE`` to ``0/2`` in the first and ``1/2`` in the second.
The catalogue of broken implementations (tests/broken_catalogue.py) is the largest part of
the self-tests, one pytest process per entry, and what it checks, that a property catches
a defect, is the same in both environments; so each entry runs in the environment its
index picks. Both environments still run half of the catalogue on their own versions, and
every entry runs once per CI run. The compiled example's run (torch.compile of nn.RNN under
the properties, the slowest self-test) depends on torch, pinned to the same 2.13.0 in both,
and runs in one environment too. Unset, as on a developer's machine, everything runs.
"""

import os

import pytest

ENV = "RNN_CI_SHARE"


def share() -> tuple[int, int] | None:
    """This environment's share (``k``, ``n``) from ``RNN_CI_SHARE=k/n``, or None."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    index, _, count = value.partition("/")
    k, n = int(index), int(count)
    if not 0 <= k < n:
        raise ValueError(f"{ENV}={value!r}: expected k/n with 0 <= k < n")
    return k, n


def in_this_share(position: int) -> pytest.MarkDecorator:
    """Skip the test at ``position`` unless this CI environment's share runs it."""
    mine = share()
    runs = mine is None or position % mine[1] == mine[0]
    return pytest.mark.skipif(
        not runs,
        reason=f"CI runs this self-test in one of its two environments ({ENV}="
        f"{os.environ.get(ENV, '')}): it runs in the other (see tests/ci_share.py)",
    )
