"""nn.RNN's shape table: output is (L, [N,] D*H) in the input's layout, h_n (D*layers, [N,] H).

``batch_first`` applies to input and output only, never to ``h_0``/``h_n``; unbatched
2-D input gives 2-D output and 2-D ``h_n``; batch size 0 gives empty results of the
right shapes. Also checks the results' dtype and device.
"""

from hypothesis import given

from rnn_conformance.generation.strategies import memory_layouts, rnn_cases
from rnn_conformance.harness import check_result, observe, run_target


@given(case=rnn_cases(layouts=memory_layouts()))
def test_output_and_h_n_shapes(subject, case):
    observe(subject, case)
    run = run_target(subject, case, check=False)
    check_result(subject, case, run.output_tensor, run.h_n_tensor)
