"""The reference rejects bad input and inconsistent parameters with specific messages."""

import numpy as np
import pytest

from rnn_conformance.numerics.config import RNNConfig
from rnn_conformance.numerics.reference import elman_cell_forward, elman_forward, infer_config


def params_for(config):
    rng = np.random.default_rng(0)
    return {
        name: rng.uniform(-0.5, 0.5, shape) for name, shape in config.parameter_shapes().items()
    }


P = params_for(RNNConfig(3, 4, num_layers=2, bidirectional=True))


@pytest.mark.parametrize(
    ("x", "hx", "message"),
    [
        (np.zeros(3), None, "Expected input to be 2D or 3D, got 1D"),
        (np.zeros((1, 2, 3, 3)), None, "got 4D"),
        (np.zeros((5, 2, 7)), None, "Expected 3, got 7"),
        (np.zeros((0, 2, 3)), None, "sequence length to be larger than 0"),
        (np.zeros((5, 2, 3)), np.zeros((4, 4)), "hx should also be 3-D but got 2-D"),
        (np.zeros((5, 3)), np.zeros((4, 1, 4)), "hx should also be 2-D but got 3-D"),
        (
            np.zeros((5, 2, 3)),
            np.zeros((2, 2, 4)),
            r"Expected hidden size \(4, 2, 4\), got \[2, 2, 4\]",
        ),
        (np.zeros((5, 2, 3)), np.zeros((4, 3, 4)), r"got \[4, 3, 4\]"),
        (np.zeros((5, 2, 3)), np.zeros((4, 2, 5)), r"got \[4, 2, 5\]"),
        (np.zeros((5, 3)), np.zeros((4, 5)), r"Expected hidden size \(4, 4\), got \[4, 5\]"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(x, hx, message):
    with pytest.raises(ValueError, match=message):
        elman_forward(x, P, hx)


def test_unknown_nonlinearity():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        elman_forward(np.zeros((2, 2, 3)), P, nonlinearity="gelu")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.pop("weight_hh_l1_reverse"), "missing RNN parameter 'weight_hh_l1_reverse'"),
        (lambda p: p.pop("bias_ih_l0"), "missing RNN parameter 'bias_ih_l0'"),
        (
            lambda p: p.update(weight_ih_l1=np.zeros((4, 4))),
            r"'weight_ih_l1' has shape \(4, 4\), expected \(4, 8\)",
        ),
        (lambda p: p.update(weight_xx_l0=np.zeros(1)), "unexpected RNN parameter 'weight_xx_l0'"),
        (lambda p: p.pop("weight_ih_l0"), "missing RNN parameter 'weight_ih_l0'"),
    ],
)
def test_inconsistent_parameters_name_the_culprit(mutate, message):
    params = dict(P)
    mutate(params)
    with pytest.raises(ValueError, match=message):
        infer_config(params)


def test_structure_is_inferred_from_names():
    s = infer_config(P)
    assert (s.input_size, s.hidden_size, s.num_layers, s.bias, s.bidirectional) == (
        3,
        4,
        2,
        True,
        True,
    )


def test_cell_matches_one_step_of_a_one_layer_rnn():
    p = params_for(RNNConfig(3, 4))
    x, h = np.ones((2, 3)), np.full((2, 4), 0.3)
    cell = elman_cell_forward(
        x, h, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]
    )
    out, _ = elman_forward(x[None], p, h[None])
    np.testing.assert_allclose(cell, out[0], rtol=0, atol=1e-15)


def test_cell_rejects_bad_ranks_and_sizes():
    w_ih, w_hh = np.zeros((4, 3)), np.zeros((4, 4))
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D"):
        elman_cell_forward(np.zeros((1, 1, 3)), None, w_ih, w_hh)
    with pytest.raises(ValueError, match="inconsistent input_size"):
        elman_cell_forward(np.zeros((2, 5)), None, w_ih, w_hh)
    with pytest.raises(ValueError, match="hidden has shape"):
        elman_cell_forward(np.zeros((2, 3)), np.zeros((3, 4)), w_ih, w_hh)
