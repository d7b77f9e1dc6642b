"""Known failures: an xfails file, so that a known bug is stated once and a fix is noticed.

In the style of array-api-tests' xfails file and JAX's ``Limitation``: one entry per line,
a property node-id pattern (matched as in the skips file: a substring of the node id),
optionally scoped by device and dtype, and a mandatory reason after ``#``::

    # cuDNN's float16 RNN accumulates in float16
    test_reduced_precision_matches_reference [device=cuda] [dtype=float16]  # fp16 sums
    test_packed_sequences_run_as_if_alone  # issue 42: h_n taken at the padded end

Every property an entry applies to is marked ``xfail(strict=True)`` with the entry's
reason and its place in the file: it is reported as a known failure (xfailed) while it
fails, and as a failure of the run once it passes (strict XPASS), so that a fix is
noticed and the entry removed. A line without a reason, with a scope other than
``[device=...]`` and ``[dtype=...]`` or with a value they cannot take is a usage error
naming the file and line; an entry whose pattern matches no collected property is
warned about.

Scopes, each a comma list of alternatives, all of which must hold:

* ``[device=cuda]`` applies to a property's run on that device: its ``device``
  parameter is ``cuda`` or ``cuda:N`` (``[device=cuda:1]`` only ``cuda:1``). A property
  that compares all selected devices (no ``device`` parameter) is covered when one of
  the selected devices matches.
* ``[dtype=float16]`` applies only where the dtype is fixed by parametrisation: the
  property's ``dtype`` parameter (``test_reduced_precision_matches_reference[cpu-float16]``).
  Most properties draw their cases' dtype inside Hypothesis (float32 and float64 in one
  property run), and a property run is one verdict: xfailing it because one drawn dtype
  fails would also hide every failure at the other dtypes. Such an entry therefore does
  not apply to a property whose dtype is drawn, and a warning says so; xfail the whole
  property without ``[dtype=...]``, or declare the dtype unsupported
  (``--unsupported float64``), so that no case of that dtype is drawn and the rest of
  the property still runs.

>>> entry = parse_line("test_shapes.py [device=cuda] # slow kernel", path="x.txt", line=3)
>>> entry.pattern, entry.scopes, entry.reason
('test_shapes.py', {'device': ('cuda',)}, 'slow kernel')
>>> entry.applies_on_device("cuda:0"), entry.applies_on_device("cpu")
(True, False)
>>> parse_line("test_shapes.py [colour=red] # why", path="x.txt", line=4)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
rnn_conformance.running.xfails.XfailsFileError: x.txt:4: unknown scope 'colour' in [colour=red]; ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rnn_conformance.numerics.dtypes import FLOAT_DTYPES

__all__ = [
    "SCOPES",
    "XfailEntry",
    "XfailsFileError",
    "parse_line",
    "parse_lines",
    "read_xfails_file",
]

_DTYPES = FLOAT_DTYPES
_DEVICE = re.compile(r"^(cpu|cuda)(:\d+)?$")
_SCOPE = re.compile(r"\s+\[([^\[\]]*)\]\s*$")

SCOPES: dict[str, str] = {
    "device": "cpu, cuda or cuda:N: the property's run on that device",
    "dtype": ", ".join(_DTYPES) + ": only properties parametrised by dtype",
}
"""The scope keys an entry may carry, with the values they take."""


class XfailsFileError(ValueError):
    """The xfails file is unreadable or a line is malformed; the message names file and line."""


@dataclass(frozen=True)
class XfailEntry:
    """One known failure: which properties, where (device, dtype), and why."""

    pattern: str
    reason: str
    path: str
    line: int
    scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @property
    def where(self) -> str:
        """``FILE:LINE``, as messages cite the entry."""
        return f"{self.path}:{self.line}"

    @property
    def text(self) -> str:
        """The entry as written, without its reason: pattern and scopes."""
        scopes = "".join(f" [{key}={','.join(values)}]" for key, values in self.scopes.items())
        return self.pattern + scopes

    def matches(self, nodeid: str) -> bool:
        """Whether the pattern matches the node id (a substring, as in the skips file)."""
        return self.pattern in nodeid

    def applies_on_device(self, device: str) -> bool:
        """Whether the device scope (if any) covers ``device``.

        >>> entry = XfailEntry("p", "r", "f", 1, {"device": ("cuda:1",)})
        >>> entry.applies_on_device("cuda:1"), entry.applies_on_device("cuda")
        (True, False)
        """
        wanted = self.scopes.get("device")
        if wanted is None:
            return True
        return any(device == value or device.split(":")[0] == value for value in wanted)

    def applies_to_dtype(self, dtype: str) -> bool:
        """Whether the dtype scope (if any) covers a property parametrised by ``dtype``."""
        wanted = self.scopes.get("dtype")
        return wanted is None or dtype in wanted


def _scope(text: str, *, where: str) -> tuple[str, tuple[str, ...]]:
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise XfailsFileError(
            f"{where}: expected a scope [key=value], got [{text}]; known: {', '.join(SCOPES)}"
        )
    if key not in SCOPES:
        raise XfailsFileError(
            f"{where}: unknown scope {key!r} in [{text}]; known: {', '.join(SCOPES)}"
        )
    values = tuple(part.strip() for part in value.split(",") if part.strip())
    if not values:
        raise XfailsFileError(f"{where}: [{text}] names no {key}")
    for part in values:
        if key == "device" and not _DEVICE.match(part):
            raise XfailsFileError(f"{where}: unknown device {part!r}; use cpu, cuda or cuda:N")
        if key == "dtype" and part not in _DTYPES:
            raise XfailsFileError(f"{where}: unknown dtype {part!r}; known: {', '.join(_DTYPES)}")
    return key, values


def parse_line(text: str, *, path: str, line: int) -> XfailEntry | None:
    """Parse one line of an xfails file; None for a blank or comment-only line.

    Raises :class:`XfailsFileError` naming ``path:line`` for a malformed line.
    """
    where = f"{path}:{line}"
    body, hash_sign, reason = text.partition("#")
    body, reason = body.strip(), reason.strip()
    if not body:
        return None  # blank, or a comment
    if not hash_sign or not reason:
        raise XfailsFileError(
            f"{where}: {body!r} has no reason; write one after '#' "
            "(every known failure says why it is known)"
        )
    scopes: dict[str, tuple[str, ...]] = {}
    while (found := _SCOPE.search(body)) is not None:
        key, values = _scope(found.group(1), where=where)
        if key in scopes:
            raise XfailsFileError(f"{where}: scope {key!r} given twice")
        scopes[key] = values
        body = body[: found.start()].rstrip()
    if not body or body.startswith("["):
        raise XfailsFileError(f"{where}: no property pattern before the scopes")
    # Scopes were read from the end; keep them in the order written.
    ordered = dict(reversed(list(scopes.items())))
    return XfailEntry(body, reason, path, line, ordered)


def parse_lines(lines: Iterable[str], *, path: str) -> list[XfailEntry]:
    """Every entry of an xfails file's lines."""
    entries = (parse_line(text, path=path, line=n) for n, text in enumerate(lines, start=1))
    return [entry for entry in entries if entry is not None]


def read_xfails_file(path: str | Path) -> list[XfailEntry]:
    """The entries of the xfails file at ``path``; :class:`XfailsFileError` if it is bad."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise XfailsFileError(f"cannot read {str(path)!r}: {exc}") from None
    return parse_lines(text.splitlines(), path=str(path))
