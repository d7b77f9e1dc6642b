"""Dropout: ignored in eval mode; in training mode only between layers, inverted, seeded.

Exact tests use PyTorch's own trick (test_RNN_dropout): relu, zero or no bias,
all-ones ``W_ih``, zero ``W_hh`` and all-ones input, so every value is an integer multiple of
``input_size * (1/(1-p))**(layers-1)`` and all units of a step agree unless the *last*
layer was dropped. p is 0.5 or 0.75, so these multiples are exact in float32. From the
multiples, the kept fraction of layer 0's outputs is checked against ``1 - p`` with a
Hoeffding bound at false-alarm probability 1e-8 per example (at most 1e-6 per run).
Random-weight checks (eval mode, p = 1, one layer) use the tolerance policy.

Which elements are dropped together is checked on a network that shows the mask
(:func:`mask_revealing_networks`): torch's modules drop every element of a lower layer's
output independently at every time step, and both directions of the next layer read
that one dropped tensor. So masks of different steps agree no more than independent
draws do (one-sided Hoeffding, false-alarm probability 1e-8 per example: at most 1e-5
per run of 1000 examples), and the two directions see identical masks (exact). nn.RNN's
network is the relu one above; nn.LSTM's and nn.GRU's saturate their gates so that each
step's output is a known function of that step's input alone (:func:`_gated_mask_params`),
decoded with a margin 25 times the worst rounding, so the decoding adds no false alarm.

``test_training_dropout_acts_only_between_layers`` needs the relu network's exact
multiples and skips, saying so, for a family without relu; reproducibility uses random
weights there.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st

from rnn_conformance.generation.cases import RNNCase
from rnn_conformance.generation.drawing import current_family
from rnn_conformance.generation.known_cases import seeded_case
from rnn_conformance.generation.strategies import batch_sizes, config_flags, rnn_cases, rnn_configs
from rnn_conformance.harness import (
    build_module,
    compare_with_reference,
    hidden_axes,
    layer_params,
    observe,
    output_axes,
    precision_for,
    run_reference,
    run_target,
    to_tensor,
)
from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.layouts import map_state
from rnn_conformance.numerics.parameters import parse_parameter_name
from rnn_conformance.numerics.reference import as_float64, forward_trace
from rnn_conformance.numerics.tolerances import SAFETY, assert_within, forward_error_bounds, leaves

FALSE_ALARM_PER_EXAMPLE = 1e-8
non_empty = batch_sizes(allow_empty=False)

RELU_DESIGN = (
    "the exact integer-multiples design (PyTorch's test_RNN_dropout trick) needs a relu "
    "network; {title} has no relu, so its scaling and kept fraction are checked by "
    "test_dropout_one_zeroes_the_inputs_of_upper_layers, test_eval_mode_ignores_dropout, "
    "test_dropout_is_a_no_op_for_one_layer, the reproducibility property and the "
    "saturated-gate networks of the fresh-mask and both-directions properties instead"
)


def _needs_relu(subject):
    """Skip, saying why, where the family has no relu network to reveal masks exactly."""
    if subject.family.relu_options is None:
        pytest.skip(RELU_DESIGN.format(title=subject.family.title))


@given(case=rnn_cases(configs=rnn_configs(min_layers=2, dropouts=(0.5, 1.0))))
def test_eval_mode_ignores_dropout(subject, case):
    observe(subject, case)
    compare_with_reference(subject, case, run_target(subject, case))


@st.composite
def _dropout_shapes(draw, family, num_layers):
    """A dropout config of ``family`` with >= 64 (step, batch) rows: ``(config, steps, batch)``.

    D*H >= 2, so at least 128 layer-0 outputs. nn.RNN's is relu, with zero biases when
    present (the same network for a target without bias=False); a family without relu
    keeps its bias (its random-weight networks need none to be zero).
    """
    own = dict(family.relu_options or {})
    config = RNNConfig(
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(2, 8)),
        num_layers=num_layers,
        bias=draw(config_flags("bias")) if own else True,
        batch_first=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.5, 0.75])),
        bidirectional=draw(config_flags("bidirectional")),
        family=family,
        **own,
    )
    steps = draw(st.integers(1, 12))
    fewest = max(1, math.ceil(64 / steps))
    return config, steps, draw(st.integers(fewest, max(fewest, 16)))


@st.composite
def ones_networks(draw, *, num_layers):
    """An all-ones relu network and its all-ones input: >= 64 rows, >= 128 layer-0 outputs.

    For a family without relu (nn.LSTM) the same shapes with U(-k, k) weights, bias on:
    its outputs reveal no mask exactly, but still depend on it.
    """
    family = current_family()
    if family.relu_options is None:
        return draw(_random_networks(family, num_layers))
    config, steps, batch = draw(_dropout_shapes(family, num_layers))
    params = {}
    for name, shape in config.parameter_shapes().items():
        params[name] = np.ones(shape) if name.startswith("weight_ih") else np.zeros(shape)
    return RNNCase(
        config, "float32", steps, batch, np.ones(config.input_shape(steps, batch)), None, params
    )


@st.composite
def _random_networks(draw, family, num_layers):
    config, steps, batch = draw(_dropout_shapes(family, num_layers))
    seed = draw(st.integers(0, 2**32 - 1), label="weights seed")
    return seeded_case(config, seq_len=steps, batch_size=batch, with_hx=False, seed=seed)


def _train_run(subject, case, seed):
    device = subject.device
    module = build_module(subject, case).train()
    x = to_tensor(case.input, dtype=case.dtype, device=device)
    torch.manual_seed(seed)
    output, h_n = subject.target.forward(module, x)
    return as_float64(output), map_state(as_float64, h_n)


def _multiples(case, output):
    """Divide by input_size * scale**(layers-1): integers if dropout is inverted dropout."""
    scale = 1.0 / (1.0 - case.config.dropout)
    return output / (case.config.input_size * scale ** (case.config.num_layers - 1))


@pytest.mark.rnn_requires("training_dropout")
@given(case=ones_networks(num_layers=2) | ones_networks(num_layers=3), seed=st.integers(0, 2**31))
def test_training_dropout_acts_only_between_layers(subject, case, seed):
    _needs_relu(subject)
    observe(subject, case)
    output, _ = _train_run(subject, case, seed)
    multiples = _multiples(case, output)
    units_agree = (multiples == multiples[..., :1]).all(axis=-1)
    assert units_agree.all(), (
        f"training-mode output differs between units of one step (the last layer's output "
        f"was dropped, dropout was applied inside a layer, or the directions of a layer "
        f"read differently dropped inputs), e.g. "
        f"{output[~units_agree][0]}\n  {case.describe()}"
    )
    fan = case.config.num_directions * case.config.hidden_size
    integral = (multiples == np.round(multiples)) & (multiples >= 0)
    integral &= multiples <= fan ** (case.config.num_layers - 1)
    assert integral.all(), (
        f"training-mode output {output[~integral][0]} is not a multiple of "
        f"input_size * (1/(1-p))**(num_layers-1): dropout is not inverted dropout with "
        f"p={case.config.dropout} between layers\n  {case.describe()}"
    )
    if case.config.num_layers == 2:
        kept = multiples[..., 0].sum() / output[..., 0].size / fan
        n = output[..., 0].size * fan
        allowed = math.sqrt(math.log(2 / FALSE_ALARM_PER_EXAMPLE) / (2 * n))
        assert abs(kept - (1 - case.config.dropout)) <= allowed, (
            f"dropout kept {kept:.3f} of {n} layer-0 outputs, expected "
            f"{1 - case.config.dropout} +- {allowed:.3f} (Hoeffding, false-alarm rate "
            f"{FALSE_ALARM_PER_EXAMPLE:g})\n  {case.describe()}"
        )


@pytest.mark.rnn_requires("training_dropout")
@given(case=ones_networks(num_layers=2), seed=st.integers(0, 2**31 - 1))
def test_training_dropout_is_reproducible_under_a_seed_and_varies_across_seeds(subject, case, seed):
    observe(subject, case)
    first = _train_run(subject, case, seed)
    again = _train_run(subject, case, seed)
    other = _train_run(subject, case, seed + 1)
    pairs = [("output", first[0], again[0])]
    states = zip(leaves(first[1], "h_n"), leaves(again[1], "h_n"), strict=True)
    pairs += [(name, a, b) for (name, a), (_, b) in states]
    for name, a, b in pairs:
        assert np.array_equal(a, b), (
            f"{name} of two training-mode calls after torch.manual_seed({seed}) differ\n"
            f"  {case.describe()}"
        )
    # Each of the >= 64 rows of the output counts the kept layer-0 units of that row;
    # two independent masks give equal counts in a row with probability <= 0.47
    # (fan 2, p = 0.75 is the worst case), so equal outputs have probability < 1e-20.
    if np.array_equal(first[0], other[0]):
        raise AssertionError(_same_for_two_seeds(subject, case, seed, first[0]))


def _same_for_two_seeds(subject, case, seed, output):
    """Why the training output is one for two seeds: nothing dropped, or not torch's generator.

    Nothing dropped: the output is the no-dropout (eval-mode) reference's within the
    tolerance policy. With >= 128 layer-0 outputs and p >= 0.5, dropout keeps them all with
    probability <= 2**-128, and every weight design here changes the output when one is
    dropped.
    """
    c = case.config
    expected = run_reference(case, precision_for(subject, case))
    error = np.abs(output - expected.output)
    allowed = SAFETY * np.asarray(expected.bounds.output, dtype=np.float64)
    layer0 = case.seq_len * case.batch_size * c.num_directions * c.output_size
    same = f"training-mode output is the same for torch.manual_seed({seed}) and {seed + 1}"
    first = np.unravel_index(np.argmax(error - allowed), error.shape)
    numbers = (
        f"largest |training output - no-dropout reference| {float(error.max()):.3g} at "
        f"output{list(map(int, first))} (allowed {float(allowed[first]):.3g}); e.g. "
        f"output[0, 0, :4] = {np.round(output[0, 0, :4], 6).tolist()}, no-dropout "
        f"{np.round(expected.output[0, 0, :4], 6).tolist()}"
    )
    if np.all(error <= allowed):
        event("dropout diagnosis: no element dropped")
        return (
            f"{same}, and equals the output without dropout: no element was dropped. "
            f"Training mode with dropout={c.dropout} must drop each of the {layer0} "
            f"layer-0 outputs with probability {c.dropout} (all kept: probability "
            f"{(1 - c.dropout) ** layer0:.1e}); {numbers}\n  {case.describe()}"
        )
    event("dropout diagnosis: same mask for two seeds")
    return f"{same}: dropout does not use torch's generator; {numbers}\n  {case.describe()}"


def _upper_layers_on_zeros(case, precision):
    """Reference for p = 1: layer 0 as usual, every layer above it fed zeros."""
    c, D = case.config, case.config.num_directions
    outputs, finals, output_bounds, final_bounds = None, [], None, []
    layer_input = case.input
    for layer in range(c.num_layers):
        params = layer_params(case.params, layer)
        hx = map_state(lambda h, k=layer: h[k * D : (k + 1) * D], case.hx)
        config = c.with_(num_layers=1, dropout=0.0, input_size=c.layer_input_size(layer))
        out, h_n, trace = forward_trace(config, layer_input, params, hx)
        bounds = forward_error_bounds(trace, precision)
        outputs, output_bounds = out, bounds.output
        finals.append(h_n)
        final_bounds.append(bounds.h_n)
        layer_input = np.zeros_like(out)
    stacked = map_state(lambda *parts: np.concatenate(parts), *finals)
    return (
        outputs,
        stacked,
        output_bounds,
        map_state(lambda *parts: np.concatenate(parts), *final_bounds),
    )


@pytest.mark.rnn_requires("training_dropout")
@given(
    case=rnn_cases(
        configs=rnn_configs(min_layers=2, dropouts=(1.0,)),
        batches=non_empty,
    )
)
def test_dropout_one_zeroes_the_inputs_of_upper_layers(subject, case):
    observe(subject, case)
    module = build_module(subject, case).train()
    run = run_target(subject, case, module=module)
    expected = _upper_layers_on_zeros(case, precision_for(subject, case))
    context = f"with dropout=1 in training mode, layers above 0 must see zeros\n  {case.describe()}"
    assert_within(
        run.output, expected[0], expected[2], what="output", axes=output_axes(case), context=context
    )
    assert_within(
        run.h_n, expected[1], expected[3], what="h_n", axes=hidden_axes(case), context=context
    )


@pytest.mark.rnn_requires("training_dropout")
@given(case=rnn_cases(configs=rnn_configs(max_layers=1)), p=st.sampled_from([0.5, 1.0]))
def test_dropout_is_a_no_op_for_one_layer(subject, case, p):
    config = case.config.with_(dropout=p)
    case = case.with_(config=config)
    observe(subject, case)
    with warnings.catch_warnings():
        # nn.RNN warns that dropout has no effect with num_layers=1: the point here.
        warnings.simplefilter("ignore", UserWarning)
        module = build_module(subject, case).train()
    run = run_target(subject, case, module=module)
    compare_with_reference(subject, case, run)


MIN_STEP_PAIRS = 128
"""Fewest (step pair, unit) comparisons per example; see the fresh-mask property."""

DECODING_MARGIN = 0.2
"""How far from an integer a gated network's decoded code may lie.

See :func:`_gated_mask_params`, which derives it."""


MASK_DESIGN = (
    "no mask-revealing network is known for {title} (it has neither a relu mode nor "
    "declared saturated gates, Family.relu_options and Family.saturated_gates)"
)


def _needs_mask_design(subject):
    """Skip, saying why, where the family has no network that reveals dropout masks."""
    family = subject.family
    if family.relu_options is None and family.saturated_gates is None:
        pytest.skip(MASK_DESIGN.format(title=family.title))
    design = "the relu network" if family.relu_options is not None else "saturated gates"
    event(f"mask revealed by {design}")


def _signal_bias(config):
    """The gated network's layer-1 signal bias ``beta``: the codes are centred on 0."""
    return -(2**config.num_directions - 1) / 2


@st.composite
def mask_revealing_networks(draw, *, bidirectional=None):
    """A two-layer network whose output shows which layer-0 outputs were dropped.

    nn.RNN's is relu. Layer 0 as in :func:`ones_networks` (all-ones ``W_ih``, zero
    ``W_hh``, zero or no bias, all-ones input): every layer-0 output is ``input_size``, and
    dropout turns it into 0 or ``input_size / (1-p)``. Layer 1 has zero ``W_hh`` and an
    identity-like ``W_ih``: ``I`` unidirectional; ``[I | 2I]`` bidirectional, in both
    directions, so unit u of either direction reads layer-0 unit u (forward) with weight 1
    and unit H + u (reverse) with weight 2. Each layer-1 output is then
    ``input_size / (1-p)`` times ``m[u] + 2 m[H+u]`` exactly (small integers; p is 0.5 or
    0.75), and each direction's view of the keep mask ``m`` of every step can be decoded
    from it.

    nn.LSTM's and nn.GRU's, with bias, saturate their gates so that the same code
    ``m[u] + 2 m[H+u]`` is read off each layer-1 output through the family's response
    (:func:`_gated_mask_params`, which derives the decoding's margin).

    At least 2 steps and :data:`MIN_STEP_PAIRS` (disjoint step pair, layer-0 unit)
    comparisons.
    """
    family = current_family()
    if bidirectional is None:
        bidirectional = draw(config_flags("bidirectional"))
    relu = family.relu_options is not None
    if not relu and family.saturated_gates is None:
        # No design for this family: the properties using it skip (see MASK_DESIGN).
        return draw(_random_networks(family, 2))
    config = RNNConfig(
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(1, 8)),
        num_layers=2,
        bias=draw(config_flags("bias")) if relu else True,
        batch_first=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.5, 0.75])),
        bidirectional=bidirectional,
        family=family,
        **(family.relu_options or {}),
    )
    steps = draw(st.integers(2, 12))
    units = config.num_directions * config.hidden_size
    fewest = math.ceil(MIN_STEP_PAIRS / ((steps // 2) * units))
    batch = draw(st.integers(fewest, fewest + 8))
    params = _relu_mask_params(config) if relu else _gated_mask_params(config)
    return RNNCase(
        config, "float32", steps, batch, np.ones(config.input_shape(steps, batch)), None, params
    )


def _upper_reads(config):
    """Layer 1's reading of layer 0: ``I``, or ``[I | 2I]`` bidirectional (H x D*H)."""
    eye = np.eye(config.hidden_size)
    return eye if not config.bidirectional else np.hstack([eye, 2 * eye])


def _relu_mask_params(config):
    params = {}
    for name, shape in config.parameter_shapes().items():
        if not name.startswith("weight_ih"):
            params[name] = np.zeros(shape)
        else:
            layer = parse_parameter_name(name)[1]
            params[name] = np.ones(shape) if layer == 0 else _upper_reads(config)
    return params


def _gated_mask_params(config):
    """The gated network of :func:`mask_revealing_networks`, and why decoding it is exact.

    The family's saturated gates (``Family.saturated_gates``: nn.LSTM's give
    ``h = tanh(tanh(s))``, nn.GRU's ``h = tanh(s)``, each within 6.3e-9) make every output
    a known function ``response(s)`` of its signal pre-activation ``s`` alone.

    nn.LSTM (gate blocks i, f, g, o): ``i = o = sigmoid(20)``, ``f = sigmoid(-20)`` and
    ``g = tanh(s)``, so ``c = f c_prev + i g = tanh(s)`` within 4.2e-9 (``|c_prev| <= 1``) and
    ``h = o tanh(c) = tanh(tanh(s))`` within 6.3e-9. nn.GRU (r, z, n): ``z = sigmoid(-20)``
    and, with ``W_hh = 0`` and ``b_hh = 0``, ``n = tanh(s + r (W_hn h + b_hn)) = tanh(s)``
    whatever ``r`` is, so ``h = (1 - z) n + z h_prev = tanh(s)`` within 4.2e-9.

    Decoding. Layer 0 reads the all-ones input with signal rows ``1/input_size``: ``s = 1``,
    so every layer-0 output is ``v = response(1)`` (0.642 for nn.LSTM, 0.762 for nn.GRU),
    which dropout turns into 0 or ``v/(1-p)``. Layer 1's signal rows read layer-0 unit u with
    ``k = (1-p)/v`` and, bidirectional, unit H + u with ``2k``; its signal bias is
    ``beta = -(2**D - 1)/2``. A kept element adds exactly 1 to ``s``, so
    ``code = inverse(output) - beta`` is the integer ``m[u] + 2 m[H+u]`` of the keep mask m,
    in [0, 2**D), as in the relu network. With ``s`` in [-1.5, 1.5] the output lies within
    tanh(1.5) = 0.905 (nn.GRU) or tanh(tanh(1.5)) = 0.718 (nn.LSTM), where the inverse's
    slope is at most 5.5 or 11.4. A float32 target's error in ``s`` is below 1e-5 (with
    TF32's products, operands rounded to 2**-11, below 1e-2: three terms of at most 2), and
    its output's few float32 ulps move the code by below 1e-5; the saturated gates' 1e-8 by
    below 1e-7. So a conforming target's codes lie within 1e-2 of their integers, and
    :data:`DECODING_MARGIN` = 0.2 accepts 20 times that: decoding decides every element as
    the exact computation does, and adds no false alarm to the properties using it. Missing
    the ``1/(1-p)`` scaling moves codes by at least 1 - (1-p) or 1 - 2(1-p) = 0.25 (p 0.5 or
    0.75), beyond the margin; so does dropping the last layer's output (code ``-beta``).
    """
    design = config.family.saturated_gates
    H = config.hidden_size
    signal = slice(design.signal * H, (design.signal + 1) * H)
    v = float(design.response(1.0))
    params = {}
    for name, shape in config.parameter_shapes().items():
        stem, layer, _ = parse_parameter_name(name)
        params[name] = value = np.zeros(shape)
        if stem == "weight_ih":
            if layer == 0:
                value[signal] = 1.0 / config.input_size
            else:
                value[signal] = (1 - config.dropout) / v * _upper_reads(config)
        elif stem == "bias_ih":
            signal_bias = _signal_bias(config) if layer else 0.0
            biases = [signal_bias if b is None else b for b in design.gate_biases]
            value[:] = np.repeat(biases, H)
    return params


def _decode(case, output):
    """Each element's code ``m[u] + 2 m[H+u]`` (time-major) and whether it decodes.

    Raises the property's failure where some element does not decode.
    """
    c = case.config
    if c.batch_first:
        output = np.swapaxes(output, 0, 1)
    D = c.num_directions
    design = c.family.saturated_gates
    if c.family.relu_options is None and design is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            exact = design.inverse(output) - _signal_bias(c)
        codes = np.round(exact)
        decodable = np.abs(exact - codes) <= DECODING_MARGIN  # False where NaN
        expected = (
            f"{design.formula} of s = {_signal_bias(c):g} + an integer in [0, {2**D}) "
            f"(within {DECODING_MARGIN} of it): every layer-0 output is "
            f"{float(design.response(1.0)):.6f}, and layer 1 should read it with inverted "
            f"dropout p={c.dropout} and nothing else, each kept element adding 1 to s "
            f"(see _gated_mask_params)"
        )
    else:
        codes = output / (c.input_size / (1 - c.dropout))
        decodable = codes == np.round(codes)
        expected = (
            f"input_size/(1-p) times an integer in [0, {2**D}): layer 1 should read layer "
            f"0's output with inverted dropout p={c.dropout} and nothing else (see "
            f"test_training_dropout_acts_only_between_layers)"
        )
    decodable &= (codes >= 0) & (codes < 2**D)
    assert decodable.all(), (
        f"training-mode output {output[~decodable][0]} is not {expected}\n  {case.describe()}"
    )
    return codes.astype(np.int64)


def _masks_seen(subject, case, seed):
    """Each upper direction's view of layer 0's keep mask: D arrays (L, N, D*H) of 0/1."""
    c = case.config
    output, _ = _train_run(subject, case, seed)
    codes = _decode(case, output)
    H, D = c.hidden_size, c.num_directions
    return [
        np.concatenate([(codes[..., d * H : (d + 1) * H] >> k) & 1 for k in range(D)], axis=-1)
        for d in range(D)
    ]


@pytest.mark.rnn_requires("training_dropout")
@given(case=mask_revealing_networks(), seed=st.integers(0, 2**31))
def test_training_dropout_draws_a_fresh_mask_at_every_step(subject, case, seed):
    """Masks of different steps agree no more often than independent masks do.

    Pair steps (0, 1), (2, 3), ... of each sequence and compare the keep mask of every
    layer-0 unit between the two steps of a pair. Under torch's modules every element is
    kept independently with probability 1 - p, so each of these n comparisons agrees with
    probability q = p**2 + (1-p)**2, and, the pairs being disjoint, independently. By
    Hoeffding's inequality the agreeing fraction A satisfies
    P(A >= q + eps) <= exp(-2 n eps**2), which is 1e-8 for
    eps = sqrt(ln(1e8) / (2 n)). A mask reused at every step (Keras' recurrent dropout)
    gives A = 1, beyond q + eps whenever n > ln(1e8) / (2 (1-q)**2) = 66 at the worst
    q = 0.625 (p = 0.75); every example has n >= 128. The masks are decoded exactly for
    every family (the gated networks' margin is derived in :func:`_gated_mask_params`), so
    the false-alarm rate is that 1e-8 per example for nn.RNN, nn.LSTM and nn.GRU alike.
    """
    _needs_mask_design(subject)
    observe(subject, case)
    mask = _masks_seen(subject, case, seed)[0]
    pairs = case.seq_len // 2
    first, second = mask[0 : 2 * pairs : 2], mask[1 : 2 * pairs : 2]
    n = first.size
    agree = float((first == second).mean())
    p = case.config.dropout
    expected = p**2 + (1 - p) ** 2
    allowed = math.sqrt(math.log(1 / FALSE_ALARM_PER_EXAMPLE) / (2 * n))
    assert agree <= expected + allowed, (
        f"dropout masks of consecutive steps agree in {agree:.3f} of {n} (step pair, unit) "
        f"comparisons, but independent masks agree in {expected:.3f} + at most "
        f"{allowed:.3f} (Hoeffding, false-alarm rate {FALSE_ALARM_PER_EXAMPLE:g}): the "
        f"same mask is reused across time steps instead of drawn for every step and "
        f"element\n  {case.describe()}"
    )


@pytest.mark.rnn_requires("training_dropout", "bidirectional")
@given(case=mask_revealing_networks(bidirectional=True), seed=st.integers(0, 2**31))
def test_both_directions_of_the_next_layer_read_the_same_dropped_output(subject, case, seed):
    # Exact: under torch's modules one dropped tensor feeds both directions, so the
    # decoded views are equal (decoding is exact for every family, see _gated_mask_params).
    # Independent masks per direction agree everywhere with probability
    # (p**2 + (1-p)**2)**(L*N*2H) <= 0.625**256 < 1e-52, so such a bug never passes.
    _needs_mask_design(subject)
    observe(subject, case)
    forward_view, reverse_view = _masks_seen(subject, case, seed)
    differ = np.argwhere(forward_view != reverse_view)
    if len(differ):
        t, n, unit = differ[0]
        raise AssertionError(
            f"the forward and reverse directions of layer 1 read different dropout masks "
            f"of layer 0's output: at step {t}, batch element {n}, layer-0 unit {unit} "
            f"the forward direction saw it {_kept(forward_view[t, n, unit])} and the "
            f"reverse direction {_kept(reverse_view[t, n, unit])} ({len(differ)} of "
            f"{forward_view.size} elements differ); {subject.family.title} drops layer 0's "
            f"output once and both directions read it\n  {case.describe()}"
        )


def _kept(bit):
    return "kept" if bit else "dropped"
