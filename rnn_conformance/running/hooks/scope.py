"""Which tests the hooks act on: the suite's properties, never a session's other tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnn_conformance.constants import PROPERTIES_DIR

__all__ = ["in_properties", "is_property"]


def in_properties(path: Path | str) -> bool:
    """Whether ``path`` lies below the suite's properties directory."""
    return PROPERTIES_DIR in Path(path).resolve().parents


def is_property(item: Any) -> bool:
    """Whether a collected item (or a test's definition) is one of the suite's properties."""
    return in_properties(item.path)
