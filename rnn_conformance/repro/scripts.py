"""Writing a script's source: for one recorded call, or for one construction.

The script names the target by ``module:attr`` and imports it itself, so that it runs
without this suite; the recorded values become literals (:mod:`~rnn_conformance.repro.literals`).
"""

from __future__ import annotations

import os
import sys
import sysconfig
import textwrap
from typing import Any

import numpy as np
import torch

from rnn_conformance.repro.literals import (
    argument_literal,
    comment_paragraph,
    describe_shapes,
    dtype_source,
    fill_lines,
    hanging,
    nested_values,
    py_literal,
    quoted_comment,
)
from rnn_conformance.repro.recording import RecordedBuild, RecordedCall
from rnn_conformance.repro.replay import FailureContext, call_dtype, device_of, family_of
from rnn_conformance.repro.templates import COMPARE, HELPERS, MAIN, REPRO_MARK


def script_name(prop: str, params: str = "") -> str:
    """The file name of a property's script; ``params`` (a node's ``[...]``) when several fail.

    >>> script_name("test_packed_sequences_run_as_if_alone")
    'test_packed_sequences_run_as_if_alone.py'
    >>> script_name("test_invalid_calls_raise_like_nn_rnn", "cpu-hx with wrong rank")
    'test_invalid_calls_raise_like_nn_rnn__cpu-hx_with_wrong_rank.py'
    """
    if not params:
        return f"{prop}.py"
    clean = "".join(c if c.isalnum() or c in "-_." else "_" for c in params)
    return f"{prop}__{clean}.py"


def target_directory(spec: str) -> str | None:
    """The directory to put on ``sys.path`` so that ``python -I`` imports the target."""
    module_name = spec.partition(":")[0]
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    root = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "__init__.py":
        root = os.path.dirname(root)
    for _ in range(module_name.count(".")):
        root = os.path.dirname(root)
    installed = [sysconfig.get_paths()[key] for key in ("purelib", "platlib", "stdlib")]
    if any(os.path.abspath(p) == root for p in installed):
        return None
    return root


def render_call(
    context: FailureContext,
    call: RecordedCall,
    role: str,
    bound: float | None,
    expected: tuple[Any, Any] | None = None,
) -> str:
    """The script's source. ``expected``: the reference's results, when the target is torch's."""
    from rnn_conformance.harness.target import Target
    from rnn_conformance.numerics.tolerances import SAFETY, unit_roundoff

    family = family_of(context)
    oracle_spec = family.cell_target if role == "cell" else family.module_target
    oracle_name = "nn." + oracle_spec.partition(":")[2]
    torch_name = oracle_name
    if expected is not None:
        oracle_name = "the float64 reference"
    dtype = call_dtype(call)
    device = device_of(context)
    names: set[str] = set()
    weights = "\n".join(
        hanging(f"    {py_literal(name)}: ", nested_values(value, 84 - len(name))) + ","
        for name, value in call.state.items()
    )
    argument_lines = []
    labels = ["x", "hx"] if len(call.args) <= 2 and not call.kwargs else []
    for i, arg in enumerate(call.args):
        label = labels[i] if labels else f"arg{i}"
        text = argument_literal(arg, dtype, device, names)
        shapes = "" if arg is None else describe_shapes(arg)
        body = textwrap.indent(text, "    ").lstrip()
        if "\n" in text:  # the comment above a literal of several lines
            argument_lines.append(f"    # {label}: {shapes}\n    {label} = {body}")
        else:
            argument_lines.append(f"    {label} = {body}" + (f"  # {shapes}" if shapes else ""))
    for key, arg in call.kwargs.items():
        text = argument_literal(arg, dtype, device, names)
        argument_lines.append(f"    {key} = {textwrap.indent(text, '    ').lstrip()}")
    given = labels[: len(call.args)] if labels else [f"arg{i}" for i in range(len(call.args))]
    positional = ", ".join(given)
    keywords = ", ".join(f"{py_literal(key)}: {key}" for key in call.kwargs)
    placed = Target.from_spec(call.spec, family).takes_device_and_dtype
    build = "factory(**CONSTRUCTOR, device=DEVICE, dtype=DTYPE)" if placed else "build(factory)"
    if bound is None:
        tolerance = (
            f"# No values are compared: {oracle_name} rejects this call, so only the exception\n"
            "# type is (the target must raise the same type, and not NotImplementedError).\n"
            "ATOL = 0.0"
        )
    elif expected is not None:
        each = SAFETY * bound
        largest = max(
            (float(np.max(np.abs(leaf))) for leaf in _arrays(expected) if np.size(leaf)),
            default=0.0,
        )
        rounding = unit_roundoff(str(dtype).removeprefix("torch.")) * largest
        tolerance = (
            comment_paragraph(
                "Tolerance, from rnn-conformance's policy for this call "
                "(rnn_conformance.numerics.tolerances): the target may differ from the exact "
                f"result by SAFETY * bound = {SAFETY:g} * {bound:.3g} = {each:.3g} (bound: the "
                "largest element bound of this call's results), plus the rounding of the "
                f"expected values to {str(dtype).removeprefix('torch.')}, u * max|expected|"
                f" = {rounding:.3g}."
            )
            + f"\nATOL = {each + rounding!r}"
        )
    else:
        each = SAFETY * bound
        tolerance = (
            comment_paragraph(
                "Tolerance, from rnn-conformance's policy for this call "
                "(rnn_conformance.numerics.tolerances): an implementation may differ from the "
                f"exact result by SAFETY * bound = {SAFETY:g} * {bound:.3g} = {each:.3g} (bound: "
                f"the largest element bound of this call's results in "
                f"{str(dtype).removeprefix('torch.')}), so the target and {oracle_name}, each "
                f"within it, may differ by the sum of their bounds, 2 * {each:.3g}."
            )
            + f"\nATOL = {2 * each!r}"
        )
    imports = ["import importlib", *([] if placed else ["import inspect"]), "import sys", ""]
    rnn_names = sorted({"PackedSequence", *(names & {"pack_padded_sequence"})})
    imports += ["import torch", "from torch.nn.utils.rnn import " + ", ".join(rnn_names)]
    target_path = target_directory(call.spec)
    message = quoted_comment(context.message) if context.message else "#   (no message)"
    parts_names = (
        ("output", "h_n") if role == "module" else tuple(f"{part}'" for part in family.state_names)
    )
    result_name = "the result"
    if role == "cell":
        result_name = parts_names[0] if len(parts_names) == 1 else f"({', '.join(parts_names)})"
    parts = [f'({py_literal(result_name)}, {i}): "{name}"' for i, name in enumerate(parts_names)]
    if role == "module" and len(family.state_names) > 1:
        parts += [f'("h_n", {i}): "{part}_n"' for i, part in enumerate(family.state_names)]
    mode = "module.train()  # as the property called it" if call.training else "module.eval()"
    helpers = []
    if "nonfinite" in names:
        helpers.append('nan, inf = float("nan"), float("inf")')
    helpers.append(
        "\n\ndef t(values, dtype=DTYPE):\n"
        "    return torch.tensor(values, dtype=dtype, device=DEVICE)"
    )
    if "noncontiguous" in names:
        helpers.append(
            "\n\ndef noncontiguous(tensor):\n"
            '    """The same values in a strided, non-contiguous view, as the suite gave them."""\n'
            "    return torch.stack([tensor, tensor], dim=-1)[..., 0]"
        )
    if not placed:
        helpers.append(
            "\n\ndef build(factory):\n"
            '    """With device= and dtype= if the constructor takes them, else built, moved."""\n'
            "    parameters = inspect.signature(factory).parameters.values()\n"
            '    if {"device", "dtype"} <= {p.name for p in parameters} or any(\n'
            "        p.kind is p.VAR_KEYWORD for p in parameters\n    ):\n"
            "        return factory(**CONSTRUCTOR, device=DEVICE, dtype=DTYPE)\n"
            "    return factory(**CONSTRUCTOR).to(DEVICE, DTYPE)"
        )
    constructor = hanging(
        "CONSTRUCTOR = dict(",
        fill_lines([f"{k}={py_literal(v)}" for k, v in call.built_with.items()], 70),
    )
    if expected is None:
        claim = (
            f"{call.spec} should give what torch's {oracle_name} gives for the call below "
            "(the same constructor arguments, weights and input, from Hypothesis' minimal "
            "failing example), and does not. The property's message:"
        )
        oracle = f"ORACLE = torch.nn.{oracle_spec.partition(':')[2]}  # the behaviour to match\n"
        oracle_function = (
            "\n\n\ndef oracle():\n"
            f'    """What {oracle_name} gives for the same call."""\n'
            "    return run(ORACLE)"
        )
        passes = f"(`python THIS_FILE.py {oracle_spec}` passes)"
    else:
        claim = (
            f"{call.spec}, torch's own {torch_name}, should give for the call below (from "
            "Hypothesis' minimal failing example) the results of rnn-conformance's float64 "
            "NumPy reference, embedded in oracle() below, and does not. The property's "
            "message:"
        )
        oracle = ""
        values = [
            hanging(
                f"    {name} = ", nested_values(torch.from_numpy(np.asarray(leaf)), 80 - len(name))
            )
            for name, leaf in zip(_leaf_names(expected, family), _arrays(expected), strict=True)
        ]
        oracle_function = (
            "\n\n\ndef oracle():\n"
            '    """The reference\'s float64 results for the call, rounded to DTYPE."""\n'
            + "\n".join(values)
            + f"\n    return {_leaf_structure(expected, family)}"
        )
        passes = "(a fixed torch passes)"
    return (
        f"{REPRO_MARK}:\n# {context.property} on {device}.\n#\n"
        + comment_paragraph(claim)
        + f"\n#\n{message}\n#\n"
        + "# Usage: python THIS_FILE.py [module:attr]\n"
        + comment_paragraph(
            f"The implementation defaults to {call.spec}. Exits 1 and prints the "
            f"discrepancy while it is there, 0 once the target agrees with {oracle_name} "
            f"{passes}. Imports only torch and the target's own module."
        )
        + "\n\n"
        + "\n".join(imports)
        + "\n\n"
        f"DEFAULT_TARGET = {py_literal(call.spec)}\n"
        "# >>> The directory of the target's module, put on sys.path (python -I ignores\n"
        "# >>> PYTHONPATH). Edit it if the module moved; None if it is installed.\n"
        f"TARGET_PATH = {py_literal(target_path)}\n"
        f"{oracle}"
        f"ORACLE_NAME = {py_literal(oracle_name)}\n"
        "# The names of the result's parts, in messages.\n"
        + hanging("PARTS = {", fill_lines(parts, 78))
        + "}\n\n"
        f"DEVICE = {py_literal(device)}\n"
        f"DTYPE = {dtype_source(dtype)}\n"
        f"{constructor})\n\n"
        "# The module's weights, loaded with load_state_dict.\n"
        f"WEIGHTS = {{\n{weights}\n}}\n\n"
        f"{tolerance}\n" + "\n".join(helpers) + "\n\n\ndef arguments():\n"
        '    """The call\'s arguments, made afresh for each module."""\n'
        + "\n".join(argument_lines)
        + f"\n    return ({positional}{',' if len(call.args) == 1 else ''}), {{{keywords}}}\n\n\n"
        "def run(factory):\n"
        '    """Build the module, load the weights and call it: its result, or what it raised."""\n'
        "    try:\n"
        f"        module = {build}\n"
        "        module.load_state_dict({name: t(value) for name, value in WEIGHTS.items()})\n"
        f"        {mode}\n"
        "        args, kwargs = arguments()\n"
        "        with torch.no_grad():\n"
        "            return module(*args, **kwargs)\n"
        "    except Exception as exc:\n"
        "        return exc"
        + oracle_function
        + "\n"
        + COMPARE
        + HELPERS
        + MAIN.replace('compare("the result"', f"compare({py_literal(result_name)}")
    )


def _arrays(value: Any) -> list[Any]:
    if isinstance(value, tuple | list):
        return [leaf for part in value for leaf in _arrays(part)]
    return [value]


def _leaf_names(expected: tuple[Any, Any], family: Any) -> list[str]:
    if isinstance(expected[1], tuple | list):
        return ["output", *(f"{part}_n" for part in family.state_names)]
    return ["output", "h_n"]


def _leaf_structure(expected: tuple[Any, Any], family: Any) -> str:
    names = [f"t({name})" for name in _leaf_names(expected, family)]
    if isinstance(expected[1], tuple | list):
        return f"{names[0]}, ({', '.join(names[1:])})"
    return ", ".join(names)


def render_build(prop: str, message: str, build: RecordedBuild, oracle_spec: str) -> str:
    """A script checking one construction: torch raises ``E``, so must the target, or not."""
    from rnn_conformance.harness.target import Target

    oracle_name = "nn." + oracle_spec.partition(":")[2]
    dtype = build.dtype if isinstance(build.dtype, torch.dtype) else torch.float32
    placed = Target.from_spec(build.spec).takes_device_and_dtype
    how = (
        "factory(**CONSTRUCTOR, device=DEVICE, dtype=DTYPE)"
        if placed
        else "factory(**CONSTRUCTOR).to(DEVICE, DTYPE)  # its constructor takes neither"
    )
    constructor = hanging(
        "CONSTRUCTOR = dict(",
        fill_lines([f"{k}={py_literal(v)}" for k, v in build.kwargs.items()], 70),
    )
    return (
        f"{REPRO_MARK}:\n# {prop} on {build.device}.\n#\n"
        + comment_paragraph(
            f"{build.spec} should accept or reject the constructor arguments below as "
            f"torch's {oracle_name} does (rejecting them with the same exception type), "
            "and does not. The property's message:"
        )
        + f"\n#\n{quoted_comment(message) if message else '#   (no message)'}\n#\n"
        + "# Usage: python THIS_FILE.py [module:attr]\n"
        + comment_paragraph(
            f"The implementation defaults to {build.spec}. Exits 1 and prints the "
            f"discrepancy while it is there, 0 once the target agrees with {oracle_name} "
            f"(`python THIS_FILE.py {oracle_spec}` passes). Imports only torch and the "
            "target's own module."
        )
        + "\n\nimport importlib\nimport sys\n\nimport torch\n\n"
        f"DEFAULT_TARGET = {py_literal(build.spec)}\n"
        "# >>> The directory of the target's module, put on sys.path (python -I ignores\n"
        "# >>> PYTHONPATH). Edit it if the module moved; None if it is installed.\n"
        f"TARGET_PATH = {py_literal(target_directory(build.spec))}\n"
        f"ORACLE = torch.nn.{oracle_spec.partition(':')[2]}  # the behaviour to match\n"
        f"ORACLE_NAME = {py_literal(oracle_name)}\n\n"
        f"DEVICE = {py_literal(build.device)}\n"
        f"DTYPE = {dtype_source(dtype)}\n"
        f"{constructor})\n\n\n"
        "def run(factory):\n"
        '    """Build the module: the module, or what its constructor raised."""\n'
        "    try:\n"
        f"        return {how}\n"
        "    except Exception as exc:\n"
        "        return exc\n\n\n"
        "def oracle():\n"
        f'    """What {oracle_name}\'s constructor does with the same arguments."""\n'
        "    return run(ORACLE)\n"
        + HELPERS
        + MAIN.replace(
            '        compare("the result", got, want, problems)',
            "        pass  # both built a module: the constructor agrees",
        ).replace("on this call", "on these arguments")
    )
