"""Python source for the values a script embeds: tensors, packed sequences and comments.

Every literal must rebuild the recorded value exactly (the script is the evidence in an
upstream issue), so values that are not their own source are refused, not approximated.
"""

from __future__ import annotations

import ast
import json
import pprint
import textwrap
from typing import Any

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_conformance.repro.recording import RecordedPacked, RecordedTensor


def nested_values(tensor: torch.Tensor, width: int = 80) -> str:
    """The tensor's values as nested lists; floats widened first so none is rounded."""
    values = tensor.double().tolist() if tensor.is_floating_point() else tensor.tolist()
    return pprint.pformat(values, width=max(width, 40), compact=True)


def hanging(prefix: str, text: str) -> str:
    """``prefix`` then ``text``, its later lines indented to line up under its first."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def fill_lines(items: list[str], width: int) -> str:
    """``items`` joined by commas, as many to a line as fit in ``width``."""
    lines = [""]
    for item in items:
        if lines[-1] and len(lines[-1]) + len(item) + 2 > width:
            lines[-1] += ","
            lines.append("")
        lines[-1] += (", " if lines[-1] else "") + item
    return "\n".join(lines)


def py_literal(value: Any) -> str:
    """Python source of a plain value, strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def tensor_literal(arg: RecordedTensor, dtype: torch.dtype, device: str, names: set[str]) -> str:
    """``t([...])``, its dtype, device and layout where they differ from the script's.

    Adds to ``names`` the helpers the literal needs (``nonfinite``, ``noncontiguous``).
    """
    tensor = arg.tensor
    kind = "" if tensor.dtype == dtype else f", {dtype_source(tensor.dtype)}"
    if tensor.numel() == 0:
        text = f"t([]{kind}).reshape{tuple(tensor.shape)}"
    else:
        values = nested_values(tensor)
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor.double()).all()):
            names.add("nonfinite")
        text = f"t({values}{kind})"
    if arg.device != device:
        text += f".to({arg.device!r})"
    if not arg.contiguous:
        names.add("noncontiguous")
        text = f"noncontiguous({text})"
    return text


def dtype_source(dtype: torch.dtype) -> str:
    """``torch.float32`` for ``torch.float32``: the source that names the dtype."""
    return "torch." + str(dtype).removeprefix("torch.")


def argument_literal(value: Any, dtype: torch.dtype, device: str, names: set[str]) -> str:
    """Source rebuilding a call's argument; raises for a value that has no literal."""
    if isinstance(value, RecordedPacked):
        return _packed_literal(value, dtype, device, names)
    if isinstance(value, RecordedTensor):
        return tensor_literal(value, dtype, device, names)
    if isinstance(value, tuple):
        parts = [argument_literal(part, dtype, device, names) for part in value]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(argument_literal(part, dtype, device, names) for part in value) + "]"
    text = repr(value)
    ast.literal_eval(text)  # only values that are their own source (raises otherwise)
    return text


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))


def _packed_literal(value: RecordedPacked, dtype: torch.dtype, device: str, names: set[str]) -> str:
    """``pack_padded_sequence(padded, lengths, ...)`` when that rebuilds it exactly."""
    original = value.packed
    enforce_sorted = original.sorted_indices is None
    padded, lengths = pad_packed_sequence(original, batch_first=False)
    again = pack_padded_sequence(padded, lengths, enforce_sorted=enforce_sorted)
    if all(_same(a, b) for a, b in zip(again, original, strict=True)):
        names.add("pack_padded_sequence")
        sequence = tensor_literal(RecordedTensor(padded, value.device, True), dtype, device, names)
        return (
            "pack_padded_sequence(\n"
            f"    {textwrap.indent(sequence, '    ').lstrip()},  # padded: (steps, batch, ...)\n"
            f"    lengths={lengths.tolist()},\n"
            f"    enforce_sorted={enforce_sorted},\n)"
        )
    names.add("PackedSequence")
    fields = [
        "None"
        if part is None
        else tensor_literal(
            RecordedTensor(part, "cpu" if i == 1 else value.device, True), dtype, device, names
        )
        for i, part in enumerate(original)
    ]
    return "PackedSequence(" + ", ".join(fields) + ")"


def describe_shapes(value: Any) -> str:
    """The shapes of an argument, for the comment beside its literal."""
    if isinstance(value, RecordedPacked):
        return f"a PackedSequence, batch_sizes {value.packed.batch_sizes.tolist()}"
    if isinstance(value, RecordedTensor):
        return f"shape {tuple(value.tensor.shape)}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(describe_shapes(part) for part in value) + ")"
    return repr(value)


def comment_paragraph(text: str, width: int = 86) -> str:
    """A paragraph as ``#`` comment lines."""
    return "\n".join("# " + line for line in textwrap.wrap(text, width))


def quoted_comment(text: str, width: int = 84, limit: int = 14) -> str:
    """A message quoted as indented ``#`` lines, cut after ``limit`` lines."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        lines += textwrap.wrap(line, width, subsequent_indent="    ") or [""]
    if len(lines) > limit:
        lines = [*lines[:limit], "..."]
    return "\n".join(f"#   {line}".rstrip() for line in lines)
