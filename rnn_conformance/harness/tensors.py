"""NumPy cases to tensors: dtype, device and memory layout, for the target's calls."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnn_conformance.generation.cases import MemoryLayout, RNNCase
from rnn_conformance.numerics.dtypes import DTYPES

__all__ = ["TORCH_DTYPES", "case_tensors", "to_tensor", "to_tensors"]

TORCH_DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPES}
"""The dtypes of :data:`rnn_conformance.numerics.dtypes.DTYPES` as torch dtypes."""


def to_tensor(
    values: Any, *, dtype: str, device: str, memory_layout: MemoryLayout = "contiguous"
) -> torch.Tensor:
    """Make a tensor with ``values`` on ``device`` in ``dtype`` and the given memory layout.

    ``transposed`` stores the data with its axes reversed and returns a permuted view;
    ``strided`` stores every value at every other position of its last axis. Both are
    non-contiguous views holding exactly the same values.

    >>> to_tensor(np.ones((2, 3)), dtype="float32", device="cpu", memory_layout="strided").stride()
    (6, 2)
    """
    array = np.asarray(values, dtype=np.float64)
    torch_dtype = TORCH_DTYPES[dtype]
    if memory_layout == "contiguous" or array.ndim == 0:
        return torch.tensor(array, dtype=torch_dtype, device=device)
    if memory_layout == "transposed":
        order = tuple(reversed(range(array.ndim)))
        stored = torch.tensor(
            np.ascontiguousarray(array.transpose(order)), dtype=torch_dtype, device=device
        )
        return stored.permute(order)
    if memory_layout == "strided":
        wide = np.zeros((*array.shape[:-1], 2 * array.shape[-1]))
        wide[..., ::2] = array
        return torch.tensor(wide, dtype=torch_dtype, device=device)[..., ::2]
    raise ValueError(f"unknown memory layout {memory_layout!r}")


def to_tensors(values: Any, **layout: Any) -> Any:
    """:func:`to_tensor` of an array, or of each array of a tuple (``(h_0, c_0)``)."""
    if isinstance(values, tuple | list):
        return tuple(to_tensors(v, **layout) for v in values)
    return to_tensor(values, **layout)


def case_tensors(case: RNNCase, device: str) -> tuple[torch.Tensor, Any]:
    """Turn a drawn case into the tensors to call an RNN with: ``(input, hx)``.

    ``input`` and ``hx`` (None when the case has none, i.e. "call without h_0"; a tuple
    of tensors for a family whose state has several parts) are made on ``device`` in the
    case's dtype (``case.dtype``: ``torch.float32``, ...) and memory layout
    (``case.memory_layout``: contiguous, or a non-contiguous view with the same values;
    see :func:`to_tensor`), in the layout the module expects for the case's
    ``batch_first`` and batching. The values are exactly ``case.input`` and ``case.hx``
    (drawn representable in the dtype), so the reference sees the same numbers. Load
    ``case.params`` into the module with the same dtype.

    >>> from rnn_conformance.generation import known_cases
    >>> case = known_cases.bidirectional_two_layer_batch_first_with_hx()
    >>> x, hx = case_tensors(case, "cpu")
    >>> x.shape, x.dtype, hx.shape
    (torch.Size([3, 5, 3]), torch.float32, torch.Size([4, 3, 4]))
    >>> rnn = torch.nn.RNN(**case.config.constructor_kwargs())
    >>> _ = rnn.load_state_dict({k: torch.tensor(v, dtype=x.dtype) for k, v in case.params.items()})
    >>> output, h_n = rnn(x, hx)
    >>> output.shape, h_n.shape
    (torch.Size([3, 5, 8]), torch.Size([4, 3, 4]))
    """
    layout = {"dtype": case.dtype, "device": device, "memory_layout": case.memory_layout}
    hx = None if case.hx is None else to_tensors(case.hx, **layout)
    return to_tensor(case.input, **layout), hx
