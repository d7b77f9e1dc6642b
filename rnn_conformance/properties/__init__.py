"""The conformance properties, one module per theme; run them with pytest.

From a checkout, ``pytest`` runs them with the self-tests; from an installed package::

    pytest --pyargs rnn_conformance.properties --rnn-impl mypkg.rnn:MyRNN
"""
