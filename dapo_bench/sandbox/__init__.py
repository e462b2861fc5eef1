"""The code sandbox: a jail for untrusted programs, in two halves that run in different places.

Host side (runs in the harness process, imports ``dapo_bench``):
  ``stacks.py``   the isolation stacks (bwrap, unshare, landlock, none), the command line that
                  starts a jail on each, and the choice among them (``DAPO_BENCH_SANDBOX``)
  ``pool.py``     one warm jail per worker thread: hands it a job, drains its result and log
                  pipes under caps, enforces the wall-clock deadline, kills and replaces it
  ``cgroup.py``   an optional cgroup per jail (root): total memory and task count

In-jail side (``runner/``; runs inside the jail as plain scripts, standard library only,
never imports ``dapo_bench``): ``server.py`` confines itself and forks one child per program,
``runner.py`` runs the program's tests in that child, ``confine.py`` holds the raw-syscall
confinement (seccomp, Landlock, uid drop, the unshare stack's mounts), ``wire.py`` the value
codecs, ``policy.py`` the limits and syscall deny lists. ``stacks.py`` finds this directory by
its file path (``dapo_bench.sandbox.runner.__file__``) and makes it readable in every jail
(bound read-only at ``/sandbox`` by bubblewrap, at its own path by the unshare stack, allowed
by Landlock); ``wire.py`` and ``policy.py`` are also imported by the host.

Verdicts are decided outside the jail: the runner only reports each test's result on a
dedicated pipe; expected outputs never enter the jail, and ``dapo_bench.grading.code`` compares
the reported bytes with the reference's on the host. The top-level ``sandbox/`` folder of the
repository holds the policy document (``sandbox/README.md``).
"""
