"""Running a session: from options to subjects, hooks, verdicts and reports.

* :mod:`~rnn_conformance.running.options`: every option, once, with its pytest, runner and
  environment spellings; :mod:`~rnn_conformance.running.profiles`: the Hypothesis profiles;
* :mod:`~rnn_conformance.running.session`: options resolved into the session's subjects;
* :mod:`~rnn_conformance.running.hooks`: the pytest hooks, one module per job;
* :mod:`~rnn_conformance.running.preflight`, :mod:`~rnn_conformance.running.run_guards`,
  :mod:`~rnn_conformance.running.flight_record`: building the targets before the
  properties, and surviving a target that crashes, hangs or poisons the process;
* :mod:`~rnn_conformance.running.failures`, :mod:`~rnn_conformance.running.xfails`,
  :mod:`~rnn_conformance.running.report`: failures as structured data, the known-failures
  file, and the matrix and reports;
* :mod:`~rnn_conformance.running.runner`: the ``rnn-conformance`` command.
"""
