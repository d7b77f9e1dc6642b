"""Examples of pointing rnn-conformance at other implementations (tested in CI)."""
