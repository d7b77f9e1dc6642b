"""The one table of floating dtypes the suite knows, and what the tolerance policy needs of each.

Every other module derives its dtype facts from :data:`DTYPES`: the strategies draw values
representable in a dtype, the harness maps a name to ``torch.<name>``, and the tolerance
policy reads the unit roundoff and the smallest normal number. Nothing here imports torch.

>>> DTYPES["bfloat16"].unit_roundoff == 2.0**-8
True
>>> dtype_name("torch.float32")
'float32'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DTYPES",
    "FLOAT_DTYPES",
    "DType",
    "dtype_name",
    "smallest_normal",
    "unit_roundoff",
]


@dataclass(frozen=True)
class DType:
    """A floating dtype: its name (also its ``torch`` attribute) and its rounding facts."""

    name: str
    unit_roundoff: float
    """Half the machine epsilon: the relative error of one correctly rounded operation."""
    smallest_normal: float
    """Below this, results are subnormal or flushed to zero: an absolute error per operation."""


DTYPES: dict[str, DType] = {
    dtype.name: dtype
    for dtype in (
        DType("float64", 2.0**-53, 2.0**-1022),
        DType("float32", 2.0**-24, 2.0**-126),
        DType("float16", 2.0**-11, 2.0**-14),
        DType("bfloat16", 2.0**-8, 2.0**-126),
    )
}
"""The dtypes a case may be drawn in, widest first."""

FLOAT_DTYPES: tuple[str, ...] = tuple(DTYPES)

TF32_UNIT_ROUNDOFF = 2.0**-11
"""TF32 keeps float32's range and float16's 10-bit mantissa, for matmuls on CUDA only."""


def dtype_name(dtype: Any) -> str:
    """Normalise a torch dtype, NumPy dtype or name to ``float32``-style names.

    >>> dtype_name(np.float64), dtype_name("float16")
    ('float64', 'float16')
    """
    text = str(dtype)
    if text.startswith("<class"):
        text = np.dtype(dtype).name
    return text.removeprefix("torch.")


def _lookup(dtype: Any) -> DType:
    name = dtype_name(dtype)
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown floating dtype {name!r}; known: {list(DTYPES)}") from None


def unit_roundoff(dtype: Any) -> float:
    """Unit roundoff ``u`` of a floating dtype; ``"tf32"`` gives TF32's.

    >>> unit_roundoff("float32") == 2**-24
    True
    """
    if dtype == "tf32":
        return TF32_UNIT_ROUNDOFF
    return _lookup(dtype).unit_roundoff


def smallest_normal(dtype: Any) -> float:
    """The smallest positive normal number of a floating dtype.

    >>> smallest_normal("float16") == 2**-14
    True
    """
    return _lookup(dtype).smallest_normal
