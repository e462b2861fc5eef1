"""Interoperability with the tools researchers already run: lm-evaluation-harness, evalplus and
Math-Verify (the ``interop`` extra).

- :mod:`dapo_bench.interop.lm_eval`: a task bundle for ``lm_eval --include_path`` whose
  prompts, decoding, stop strings, budget and metric are dapo-bench's;
- :mod:`dapo_bench.interop.evalplus`: evalplus samples files from stored code results, and
  evalplus's verdicts, computed in its own environment and process;
- :mod:`dapo_bench.interop.math_verify`: Math-Verify's verdict beside ours, from bounded
  worker processes.

None of these tools is imported by the harness process itself, except lm-eval in the process
that lm-eval runs (where the bundle's metric calls dapo-bench's bounded grader).
"""
