"""The sandbox policy: resource limits, time limits and the syscalls a candidate may not make.

One file, read by both the harness (limits, time scaling) and the jail (seccomp deny list), so
the policy that is documented is the policy that runs. ``sandbox/README.md`` explains each
choice. Stdlib only: this module is imported inside the jail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Per-program limits, applied with setrlimit in the forked child before the candidate runs."""

    address_space: int = 4 * GiB  # RLIMIT_AS, as evalplus (EVALPLUS_MAX_MEMORY_BYTES)
    file_size: int = 64 * MiB  # RLIMIT_FSIZE: largest file (or captured stdout) it can write
    open_files: int = 256  # RLIMIT_NOFILE
    processes: int = 32  # RLIMIT_NPROC, only where the jail has a uid of its own
    stdout_cap: int = 8 * MiB  # bytes of a stdin/stdout test's output kept; more is a failure
    log_cap: int = 64 * 1024  # bytes of stray stdout/stderr kept for the failure detail
    result_cap: int = 512 * MiB  # bytes on the result channel of one program
    hash_above: int = 16 * MiB  # a result bigger than this travels as its SHA-256 only
    tmpfs_size: int = 256 * MiB  # each of the work dir, /tmp and /dev/shm (bubblewrap)

    def to_job(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimePolicy:
    """Time limits scale with the canonical solution's runtime, as evalplus does, but in CPU
    seconds: the reference is timed in CPU seconds and a function test is stopped after its
    CPU budget (wall-clock time on a busy machine would turn correct programs into timeouts).
    Wall-clock limits, looser by ``wall_factor``, catch programs that sleep or block."""

    factor: float = 4.0  # per-test limit = max(floor, factor * canonical CPU seconds)
    floor: float = 1.0  # evalplus DEFAULT_MIN_TIME_LIMIT
    program_cap: float = 60.0  # a program's tests together (evalplus EVALPLUS_TIMEOUT_PER_TASK)
    wall_factor: float = 4.0  # wall-clock allowance per CPU second (also in the runner)
    slack: float = 2.0  # added to the program deadline for loading and reporting
    load_limit: float = 10.0  # CPU seconds for the program's top level (imports, definitions)
    fixed_per_test: float = 6.0  # stdin/stdout and data without a reference (LiveCodeBench's)
    reference_per_test: float = 20.0  # canonical solutions, when measuring them

    def per_test(self, reference_seconds: float | None) -> float:
        if reference_seconds is None:
            return self.fixed_per_test
        return max(self.floor, self.factor * reference_seconds)

    def cpu_budget(self, per_test: list[float]) -> float:
        """RLIMIT_CPU of a program: all its tests, capped, plus loading."""
        return min(self.program_cap, sum(per_test)) + self.load_limit + self.slack

    def deadline(self, per_test: list[float]) -> float:
        """Wall-clock deadline of a program; past it the whole jail is killed."""
        wall = min(self.program_cap, self.wall_factor * sum(per_test))
        return wall + self.wall_factor * self.load_limit + self.slack


@dataclass(frozen=True)
class Policy:
    limits: Limits = field(default_factory=Limits)
    time: TimePolicy = field(default_factory=TimePolicy)

    def with_time(self, **changes: Any) -> Policy:
        return replace(self, time=replace(self.time, **changes))

    def with_limits(self, **changes: Any) -> Policy:
        return replace(self, limits=replace(self.limits, **changes))


DEFAULT_POLICY = Policy()

# Syscalls denied with EPERM by the seccomp filter, on top of the namespaces: ways to look into
# or tamper with other processes, to change the mount/namespace layout, or to reach kernel
# surfaces a test never needs. socket() is allowed for AF_UNIX only, plus AF_INET and AF_INET6
# where the jail has a network namespace of its own holding nothing but a loopback (bwrap,
# unshare: a program may create sockets, no connection leaves the jail); the Landlock stack
# shares the host's network, so there AF_INET/AF_INET6 sockets stay denied (EAFNOSUPPORT).
# clone() may not create namespaces; clone3() answers ENOSYS so that libc falls back to clone().
DENIED_SYSCALLS: tuple[str, ...] = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "acct", "swapon", "swapoff",
    "reboot", "syslog", "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    "quotactl", "settimeofday", "clock_settime", "adjtimex", "personality",
)

# Without a private root (the Landlock stack) a candidate could still change metadata of host
# files it owns: Landlock does not cover chmod, chown, utimes or extended attributes. There, the
# candidate's process also loses these (EPERM everywhere, its work dir included).
DENIED_METADATA_SYSCALLS: tuple[str, ...] = (
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr",
    "removexattr", "lremovexattr", "fremovexattr",
)
