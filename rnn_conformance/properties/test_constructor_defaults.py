"""Constructor defaults: a module built with only the required arguments is nn.X's default.

Every other property passes every constructor argument, so none sees what the target does
with an omitted one. Here the target is built as a user would build it, with only
``input_size`` and ``hidden_size``, once positionally (``factory(I, H)``) and once by
keyword (``factory(input_size=I, hidden_size=H)``), as nn.RNN, nn.LSTM and nn.GRU allow
both. Each module must have the family's torch module's defaults:

* as attributes: ``num_layers=1``, ``bias=True``, ``batch_first=False``, ``dropout=0``,
  ``bidirectional=False`` and the family's own (nn.RNN's ``nonlinearity='tanh'``,
  nn.LSTM's ``proj_size=0``), next to the given sizes;
* in its parameters: on the CPU, in ``torch.get_default_dtype()``, and nn.X's set of
  parameter names (so a default ``bias=False`` or ``num_layers=2`` shows in the names too;
  their order is test_parameters_have_nn_rnn_names_order_shapes_dtype_and_device's claim);
* in its results: with drawn weights loaded, called on a sequence-first 3-D input (so a
  module that defaults to ``batch_first=True`` gives another shape or other values), its
  output and h_n equal the float64 reference of nn.X's default configuration within the
  tolerance policy, after the same contract checks as every call (type, dtype, shape,
  device). The module is moved with ``.to(device)`` for a device other than the CPU, since
  the defaults put it on the CPU.

Tolerance: the policy's float32 bound (rnn_conformance.numerics.tolerances), as every property
comparing with the reference.
"""

import pytest
import torch
from hypothesis import given, target
from hypothesis import strategies as st

from rnn_conformance.generation.strategies import batch_sizes, rnn_cases, rnn_configs
from rnn_conformance.harness import (
    TORCH_DTYPES,
    compare_with_reference,
    observe,
    run_target,
)
from rnn_conformance.harness.target import TargetContractError
from rnn_conformance.harness.target_calls import announce_build

DTYPE = "float32"
"""The dtype of the results compared: torch's default dtype, unless a session changes it."""
MISSING = "<missing>"

# nn.X's default configuration: only the sizes are drawn (an empty dropouts list means
# dropout=0.0); the input is batched and sequence-first, as the default batch_first reads it.
default_configs = rnn_configs(
    max_layers=1,
    bias=True,
    batch_first=False,
    bidirectional=False,
    dropouts=(),
    own_arguments=False,
)
default_cases = rnn_cases(
    configs=default_configs,
    dtypes=(DTYPE,),
    batches=batch_sizes(allow_unbatched=False, allow_empty=False),
)


def _build(subject, config, how):
    """Call the target's factory with only the required arguments, ``how`` they are passed."""
    sizes = {"input_size": config.input_size, "hidden_size": config.hidden_size}
    args, kwargs = (tuple(sizes.values()), {}) if how == "positional" else ((), sizes)
    shown = [*map(repr, args), *(f"{name}={value!r}" for name, value in kwargs.items())]
    call = f"{subject.target.spec}({', '.join(shown)})"
    # Announced like every construction, so that a crash leaves a record of this call
    # (with the device and dtype the defaults mean).
    announce_build(subject.target.spec, sizes, "cpu", torch.get_default_dtype())
    try:
        module = subject.target.factory(*args, **kwargs)
    except Exception as exc:
        raise TargetContractError(
            f"{call} raised {type(exc).__name__}: {exc}; {config.family.title} takes input_size "
            f"and hidden_size {how}ly, with every other argument defaulted"
        ) from exc
    if not isinstance(module, torch.nn.Module):
        raise TargetContractError(f"{call} returned {type(module).__name__}, not a torch.nn.Module")
    return call, subject.target.adopt(module, sizes)


def _check_attributes(call, module, config):
    """The constructor arguments, given and defaulted, are exposed with nn.X's values."""
    wrong = [
        f"{name}={getattr(module, name, MISSING)!r} (nn's default {value!r})"
        if name not in ("input_size", "hidden_size")
        else f"{name}={getattr(module, name, MISSING)!r} (given {value!r})"
        for name, value in config.constructor_kwargs().items()
        if getattr(module, name, MISSING) != value
    ]
    assert not wrong, (
        f"{call}, built with only the required arguments, does not have {config.family.title}'s "
        f"defaults: attribute {', attribute '.join(wrong)}"
    )


def _check_parameters(call, module, config):
    """nn.X's parameter names for the default configuration, on the CPU, default dtype."""
    # The set of names, not their order: the order is the parameter property's claim, and
    # a default shows in which parameters exist (bias_*, *_l1, *_reverse, weight_hr_*).
    names = sorted(name for name, _ in module.named_parameters())
    expected = sorted(config.parameter_names())
    assert names == expected, (
        f"{call}, built with only the required arguments, has parameters {names}; "
        f"{config.family.title}'s defaults give {expected}"
    )
    default = torch.get_default_dtype()
    wrong = [
        f"{name} {p.dtype} on {p.device}"
        for name, p in module.named_parameters()
        if p.dtype != default or p.device.type != "cpu"
    ]
    assert not wrong, (
        f"{call}, built without device= and dtype=, must put its parameters on the CPU in "
        f"torch.get_default_dtype() = {default}, as {config.family.title} does: {', '.join(wrong)}"
    )


@given(case=default_cases, how=st.sampled_from(["positional", "keyword"]))
def test_modules_built_with_only_the_required_arguments_have_nn_defaults(subject, case, how):
    device = subject.device
    observe(subject, case)
    if torch.get_default_dtype() != TORCH_DTYPES[DTYPE]:
        pytest.skip(
            f"the results are compared in {DTYPE}, torch's default dtype, but this session "
            f"set torch.get_default_dtype() = {torch.get_default_dtype()}"
        )
    config = case.config
    call, module = _build(subject, config, how)
    _check_attributes(call, module, config)
    _check_parameters(call, module, config)
    if torch.device(device).type != "cpu":
        module = module.to(device)
    dtype = TORCH_DTYPES[case.dtype]
    subject.target.load(module, case.params, device=device, dtype=dtype)
    try:
        run = run_target(subject, case, module=module.eval())
        ratio = compare_with_reference(subject, case, run)
    except AssertionError as exc:  # TargetContractError included: the same type again
        raise type(exc)(
            f"{call}, built with only the required arguments, does not behave as "
            f"{config.family.title} with its defaults on a sequence-first batched input: {exc}"
        ) from exc
    target(ratio, label="error / allowed error")
