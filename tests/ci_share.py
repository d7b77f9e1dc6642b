"""Self-tests that CI runs once, in one of its two environments, rather than in both.

CI (``.ci/run``) runs the README's test command in two environments, ``latest`` and
``oldest``, and sets ``RNN_CI_SHARE`` to ``0/2`` in the first and ``1/2`` in the second.
The properties (``rnn_conformance/properties``), the docstring examples and ``examples/``
run in both: they are what a user runs, on each end of the dependency ranges. The
self-tests under ``tests/`` check the suite itself, mostly by starting pytest sessions, and
are most of CI's time; each runs in one environment only, so that each environment runs
about half of them on its own versions and every self-test runs once per CI run.

Which half: a test marked ``@pytest.mark.ci_share(position)`` runs where ``position % n ==
k`` (a module whose tests share an expensive module-scoped fixture is marked as a whole, so
the fixture is built once per CI run). Every other self-test takes its place in its file's
sorted node ids (offset by a checksum of the file's name), so each file is split evenly
between the two environments. Unset, as on a developer's machine, everything runs. A
self-test left out is reported as a skip whose reason names this file, never silently
deselected.
"""

import os
import zlib
from collections import defaultdict

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
    """Run the marked test (or module) in the environment that ``position`` picks."""
    return pytest.mark.ci_share(position)


def leave_out_other_shares(items: list[pytest.Item]) -> None:
    """Mark every self-test that this environment's share does not run as skipped."""
    mine = share()
    if mine is None:
        return
    k, n = mine
    unplaced: dict[str, list[pytest.Item]] = defaultdict(list)
    position: dict[str, int] = {}
    for item in items:
        marker = item.get_closest_marker("ci_share")
        if marker is not None:
            position[item.nodeid] = int(marker.args[0])
        else:
            unplaced[item.nodeid.split("::", 1)[0]].append(item)
    for path, in_file in unplaced.items():
        # Offset by the file's name, so that single-test files do not all land in share 0.
        start = zlib.crc32(path.encode())
        for index, item in enumerate(sorted(in_file, key=lambda each: each.nodeid)):
            position[item.nodeid] = start + index
    skip = pytest.mark.skip(
        reason=f"CI runs each self-test in one of its two environments ({ENV}="
        f"{os.environ.get(ENV, '')}): this one runs in the other (see tests/ci_share.py)"
    )
    for item in items:
        if position[item.nodeid] % n != k:
            item.add_marker(skip)
