"""The NumPy reference reproduces the numbers printed in the source articles."""

import numpy as np
import pytest
import torch

from rnn_conformance.generation.known_cases import (
    TUTORIAL_INPUT,
    bidirectional_tutorial_case,
    stacked_tutorial_case,
)
from rnn_conformance.numerics.reference import elman_forward

# Printed in seed 002 (four decimals), for input TUTORIAL_INPUT.
STACKED_OUTPUT = [[[-0.7533, -0.7711], [-0.0566, -0.5960], [0.4324, -0.2908], [0.1563, -0.5152]]]
STACKED_H_N = [[[-0.5297, 0.3551]], [[0.1563, -0.5152]]]
BIDIRECTIONAL_OUTPUT = [
    [
        [0.3924, 0.8146, -0.9355, -0.8353],
        [0.4347, -0.0481, -0.1766, 0.2596],
        [-0.1521, -0.3367, 0.8829, 0.0425],
        [-0.5297, 0.3551, -0.2032, -0.7901],
    ]
]
BIDIRECTIONAL_H_N = [[[-0.5297, 0.3551]], [[-0.9355, -0.8353]]]
# Four printed decimals of inputs and weights, and of results: a few 1e-4 at most.
PRINTED = 3e-4


def _tutorial_points():
    # The article's generate_sequences(n=128, seed=13), first sequence.
    corners = np.array([[-1, -1], [-1, 1], [1, 1], [1, -1]])
    np.random.seed(13)
    bases = np.random.randint(4, size=128)
    directions = np.random.randint(2, size=128)
    b, d = bases[0], directions[0]
    return corners[[(b + i) % 4 for i in range(4)]][:: d * 2 - 1][:4] + np.random.randn(4, 2) * 0.1


def test_tutorial_input_is_the_article_data():
    np.testing.assert_allclose(_tutorial_points()[None], TUTORIAL_INPUT, atol=5e-5)


def test_manual_seed_19_gives_the_printed_weights():
    torch.manual_seed(19)
    rnn = torch.nn.RNN(2, 2, num_layers=2, batch_first=True)
    case = stacked_tutorial_case()
    for name, value in rnn.state_dict().items():
        np.testing.assert_allclose(value.numpy(), case.params[name], atol=5e-5, err_msg=name)


@pytest.mark.parametrize(
    ("make_case", "output", "h_n"),
    [
        (stacked_tutorial_case, STACKED_OUTPUT, STACKED_H_N),
        (bidirectional_tutorial_case, BIDIRECTIONAL_OUTPUT, BIDIRECTIONAL_H_N),
    ],
)
def test_reference_reproduces_printed_outputs(make_case, output, h_n):
    case = make_case("float64")
    out, hn = elman_forward(case.input, case.params, batch_first=True)
    np.testing.assert_allclose(out, output, atol=PRINTED)
    np.testing.assert_allclose(hn, h_n, atol=PRINTED)


def test_reference_with_exact_seed_weights_matches_printed_outputs_closely():
    torch.manual_seed(19)
    rnn = torch.nn.RNN(2, 2, num_layers=2, batch_first=True)
    out, hn = elman_forward(_tutorial_points()[None], rnn.state_dict(), batch_first=True)
    np.testing.assert_allclose(out, STACKED_OUTPUT, atol=6e-5)
    np.testing.assert_allclose(hn, STACKED_H_N, atol=6e-5)


def test_reference_matches_the_articles_manual_two_layer_loop():
    # Seed 001: BATCH_SIZE=4, SEQUENCE_LENGTH=5, INPUT_SIZE=1, HIDDEN_SIZE=3, NUM_LAYERS=2.
    torch.manual_seed(0)
    rnn = torch.nn.RNN(input_size=1, hidden_size=3, num_layers=2).double()
    sequence = torch.randn(5, 4, 1, dtype=torch.float64)
    hidden = torch.zeros(2, 4, 3, dtype=torch.float64)
    manual = torch.zeros(5, 4, 3, dtype=torch.float64)
    p = dict(rnn.named_parameters())
    with torch.no_grad():
        for idx, seq in enumerate(sequence):
            hidden[0] = torch.tanh(
                seq @ p["weight_ih_l0"].T
                + p["bias_ih_l0"]
                + hidden[0] @ p["weight_hh_l0"].T
                + p["bias_hh_l0"]
            )
            hidden[1] = torch.tanh(
                hidden[0] @ p["weight_ih_l1"].T
                + p["bias_ih_l1"]
                + hidden[1] @ p["weight_hh_l1"].T
                + p["bias_hh_l1"]
            )
            manual[idx] = hidden[1]
    out, hn = elman_forward(sequence, p, torch.zeros(2, 4, 3))
    np.testing.assert_allclose(out, manual.numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(hn, hidden.numpy(), rtol=0, atol=1e-14)


def test_reference_is_not_the_documented_equivalent_for_stacked_layers():
    # Seed 003's "equivalent" forward feeds x[t] to every layer; it is wrong for
    # num_layers > 1 and the reference must not agree with it.
    torch.manual_seed(1)
    rnn = torch.nn.RNN(3, 3, num_layers=2).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    p = dict(rnn.named_parameters())
    h = torch.zeros(2, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        for t in range(4):
            prev = h.clone()
            for layer in range(2):
                h[layer] = torch.tanh(
                    x[t] @ p[f"weight_ih_l{layer}"].T
                    + p[f"bias_ih_l{layer}"]
                    + prev[layer] @ p[f"weight_hh_l{layer}"].T
                    + p[f"bias_hh_l{layer}"]
                )
    _, hn = elman_forward(x, p)
    with torch.no_grad():
        _, torch_hn = rnn(x)
    np.testing.assert_allclose(hn, torch_hn.numpy(), atol=1e-12)
    assert np.abs(hn[1] - h[1].numpy()).max() > 1e-3
