"""The code that runs inside the sandbox: the warm server, the test runner, the value codec,
the kernel confinement and the policy.

It ships inside the ``dapo_bench`` package (not only in the top-level ``sandbox/`` folder) so
that an installed wheel finds it next to the harness: ``dapo_bench.sandbox.stacks`` binds this
directory read-only into each jail. Inside the jail these files run as plain scripts with the
standard library only; nothing here imports ``dapo_bench``.
"""
