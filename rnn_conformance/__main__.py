"""``python -m rnn_conformance``: the same as the ``rnn-conformance`` command."""

from rnn_conformance.running.runner import main

raise SystemExit(main())
