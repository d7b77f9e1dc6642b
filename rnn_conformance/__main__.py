"""``python -m rnn_conformance``: the same as the ``rnn-conformance`` command."""

from rnn_conformance.runner import main

raise SystemExit(main())
