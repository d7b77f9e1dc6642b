"""Mark the xfails file's known failures ``xfail(strict=True)``, so that a fix fails the run.

See :mod:`rnn_conformance.running.xfails` for the file and its scoping rules.
"""

from __future__ import annotations

import warnings

import pytest

from rnn_conformance.running.failures import record_examples
from rnn_conformance.running.hooks.configure import facts_of
from rnn_conformance.running.hooks.scope import is_property
from rnn_conformance.running.session import RunFacts
from rnn_conformance.running.xfails import XfailEntry

__all__ = ["KNOWN_FAILURE_PROPERTY", "known_failure_text", "pytest_collection_modifyitems"]

KNOWN_FAILURE_PROPERTY = "rnn_known_failure"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the known failures of the xfails file ``xfail(strict=True)``."""
    known = _KnownFailures(facts_of(config))
    for item in filter(is_property, items):
        record_examples(getattr(item, "obj", None))
        known.mark(item)
    known.warn()


class _KnownFailures:
    """Applies the xfails file's entries to the collected properties.

    See :mod:`rnn_conformance.running.xfails` for the scoping rules. Problems that only the
    collected properties reveal (a pattern matching nothing, a dtype scope on a property
    whose dtype is drawn) are warnings, not usage errors: pytest-xdist collects in its
    workers, where a usage error is an internal error; and an entry that does not apply
    leaves the property's own verdict standing, so nothing is hidden.
    """

    def __init__(self, facts: RunFacts) -> None:
        self.entries = facts.xfails
        self.devices = facts.devices
        self.matched: set[XfailEntry] = set()
        self.drawn_dtype: dict[XfailEntry, list[str]] = {}

    def _applies(self, entry: XfailEntry, item: pytest.Item) -> bool:
        params = getattr(getattr(item, "callspec", None), "params", {})
        subject = params.get("subject")
        if subject is not None and item.get_closest_marker("rnn_across_devices") is None:
            on_device = entry.applies_on_device(subject.device)
        else:  # compares the selected devices: covered when one of them matches
            on_device = any(entry.applies_on_device(device) for device in self.devices)
        if not on_device:
            return False
        if "dtype" not in entry.scopes:
            return True
        if "dtype" not in params:
            self.drawn_dtype.setdefault(entry, []).append(item.nodeid)
            return False
        return entry.applies_to_dtype(str(params["dtype"]))

    def mark(self, item: pytest.Item) -> None:
        """Mark ``item`` xfail(strict=True) if entries apply to it, with their reasons."""
        applying = []
        for entry in self.entries:
            if entry.matches(item.nodeid):
                self.matched.add(entry)
                if self._applies(entry, item):
                    applying.append(entry)
        if not applying:
            return
        # Plain data: it travels with the reports, also from xdist workers.
        known = [
            {"where": entry.where, "entry": entry.text, "reason": entry.reason}
            for entry in applying
        ]
        item.user_properties.append((KNOWN_FAILURE_PROPERTY, known))
        item.add_marker(pytest.mark.xfail(strict=True, reason=known_failure_text(known)))

    def warn(self) -> None:
        """Warn about entries matching nothing, and dtype scopes that cannot apply."""
        for entry in self.entries:
            if entry not in self.matched:
                _entry_warning(entry, f"{entry.pattern!r} matches no collected property")
        for entry, nodeids in self.drawn_dtype.items():
            dtypes = ",".join(entry.scopes["dtype"])
            _entry_warning(
                entry,
                f"[dtype={dtypes}] does not apply to {', '.join(nodeids)}: not parametrised "
                "by dtype (it draws its cases' dtype inside Hypothesis, or has none), where "
                "an xfail would hide failures at every dtype, so it runs as usual. Xfail "
                "the whole property without [dtype=...], or, for float64, declare the "
                "capability float64 unsupported, so that no float64 case is drawn",
            )


def _entry_warning(entry: XfailEntry, message: str) -> None:
    # Attributed to the entry's own file and line, where the fix belongs.
    warnings.warn_explicit(
        pytest.PytestConfigWarning(f"xfails file {entry.where}: {message}"),
        category=pytest.PytestConfigWarning,
        filename=entry.path,
        lineno=entry.line,
    )


def known_failure_text(known: list[dict[str, str]]) -> str:
    """The reason of an xfail from the xfails file: each entry's reason, file and line.

    >>> known_failure_text([{"where": "x.txt:3", "entry": "test_a", "reason": "bug 7"}])
    "bug 7 (known failure: x.txt:3 'test_a')"
    """
    return "; ".join(
        f"{entry['reason']} (known failure: {entry['where']} {entry['entry']!r})" for entry in known
    )
