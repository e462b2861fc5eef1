"""How to start a jail on this machine: the isolation stacks, their command lines, the probe.

Stacks, strongest first (the probe takes the first that starts and passes its self-check):

  bwrap     bubblewrap: new PID/net/IPC/UTS/mount namespaces, read-only binds of /usr and the
            interpreter (site-packages hidden), size-limited tmpfs for /work, /tmp, /dev/shm,
            empty environment, a uid of the jail's own (root) or a user namespace (non-root),
            seccomp, non-dumpable PID 1.
  unshare   root without bubblewrap or user namespaces: util-linux unshare for the namespaces;
            the jail builds the same private root itself (mounts + chroot) and drops to its uid.
  landlock  neither root nor user namespaces: Landlock (paths, TCP, signals) + seccomp +
            rlimits + a subreaper that kills every descendant.

Sockets: bwrap and unshare give the jail an empty network namespace of its own (a loopback
and nothing else, no route out), so there seccomp allows AF_INET/AF_INET6 sockets (a program
may open one; every connection fails inside the jail) once the server has checked that the
namespace is not the harness's and holds no other interface (``--netns``). The landlock stack
shares the harness's network: AF_INET/AF_INET6 sockets stay denied (EAFNOSUPPORT).
  none      only with ``--unsafe-no-sandbox``: rlimits and the verdict rules, no isolation.

``DAPO_BENCH_SANDBOX=<stack>`` forces one (tests use it to exercise the fallbacks).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import site
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import dapo_bench.sandbox.runner as runner_pkg
from dapo_bench.sandbox.runner.policy import Limits

STACK_ENV = "DAPO_BENCH_SANDBOX"
STACKS = ("bwrap", "unshare", "landlock", "none")
RUNNER_DIR = Path(runner_pkg.__file__).resolve().parent
JAIL_RUNNER = "/sandbox"  # where the runner directory appears inside bubblewrap
UID_RANGE = (1_500_000_000, 1_600_000_000)  # a fresh uid per jail: RLIMIT_NPROC is per uid


class SandboxUnavailable(RuntimeError):
    """No isolation stack works here; the message says what was tried and what to install."""


@dataclass(frozen=True)
class Interpreter:
    """The base interpreter (not a venv shim) and the directories it needs."""

    executable: str
    prefix: str
    hidden: tuple[str, ...]  # site-packages under the bound paths: hidden from candidates

    @classmethod
    def current(cls) -> Interpreter:
        exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
        prefix = os.path.realpath(sys.base_prefix)
        candidates = set(site.getsitepackages([sys.base_prefix, sys.base_exec_prefix]))
        paths = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
        candidates.update((paths["purelib"], paths["platlib"]))
        hidden = sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})
        return cls(exe, prefix, tuple(hidden))


@dataclass
class JailSpec:
    """A command that starts the in-jail server, and how to treat it."""

    stack: str
    argv: list[str]  # without --ctl
    env: dict[str, str]
    work: str  # the work directory as the jail sees it
    pid_namespace: bool
    host_dirs: list[str] = field(default_factory=list)  # to remove when the jail closes
    root_uid: int | None = None  # the uid the jail drops to, when started as root
    net_namespace: bool = False  # a network namespace of its own: AF_INET sockets allowed

    def cleanup(self) -> None:
        for path in self.host_dirs:
            shutil.rmtree(path, ignore_errors=True)


def _top_level_links() -> list[str]:
    """bwrap arguments recreating /lib, /lib64, /bin, /sbin as on the host."""
    args: list[str] = []
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _fresh_ids() -> tuple[int, int]:
    uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
    return uid, uid


def host_netns() -> str:
    """The harness's network namespace as ``/proc/self/ns/net`` reads (``net:[inode]``): a
    jail that allows AF_INET sockets checks, and reports, that its own is another one."""
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return ""


def _base_env(work: str, tmp: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "TMPDIR": tmp,
            "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


def bwrap_spec(interp: Interpreter, limits: Limits, bwrap: str) -> JailSpec:
    root = os.geteuid() == 0
    size = str(limits.tmpfs_size)
    argv = [bwrap]
    if root:
        # No user namespace: it would map the jail's uid back to root. The server drops to a
        # uid of its own instead, which needs CAP_SETUID/SETGID until it does.
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                 "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    argv += ["--die-with-parent", "--new-session", "--as-pid-1", "--clearenv"]
    for key, value in _base_env("/work", "/tmp").items():
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr", *_top_level_links()]
    bound = ["/usr"]
    for path in (interp.prefix, os.path.dirname(interp.executable)):
        if any(path == b or path.startswith(b + "/") for b in bound):
            continue
        for parent in _ancestors(path + "/x"):
            argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind", path, path]
        bound.append(path)
    for hidden in interp.hidden:
        if any(hidden.startswith(b + "/") for b in bound):
            argv += ["--perms", "0555", "--size", "4096", "--tmpfs", hidden]
    argv += ["--ro-bind", str(RUNNER_DIR), JAIL_RUNNER, "--proc", "/proc", "--dev", "/dev"]
    for path, perms in (("/tmp", "1777"), ("/dev/shm", "1777"), ("/work", "0777")):
        argv += ["--perms", perms, "--size", size, "--tmpfs", path]
    argv += ["--chdir", "/work", "--", interp.executable, "-I", "-S", "-B",
             f"{JAIL_RUNNER}/server.py", "--stack", "bwrap", "--work", "/work",
             "--wipe", "/tmp", "--wipe", "/dev/shm", "--seccomp", "--netns", host_netns()]
    uid = None
    if root:
        uid, gid = _fresh_ids()
        argv += ["--uid", str(uid), "--gid", str(gid)]
    return JailSpec("bwrap", argv, {}, "/work", True, root_uid=uid, net_namespace=True)


def unshare_spec(interp: Interpreter, limits: Limits, unshare: str) -> JailSpec:
    new_root = tempfile.mkdtemp(prefix="dapo-jail-")
    uid, gid = _fresh_ids()
    links = {name: os.readlink(name) for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64")
             if os.path.islink(name)}
    ro = ["/usr", *[n for n in ("/bin", "/sbin", "/lib", "/lib32", "/lib64")
                    if os.path.isdir(n) and not os.path.islink(n)]]
    for path in (interp.prefix, os.path.dirname(interp.executable), str(RUNNER_DIR)):
        if not any(path == b or path.startswith(b + "/") for b in ro):
            ro.append(path)
    build = {"root": new_root, "ro": ro, "symlinks": links,
             "hide": [h for h in interp.hidden if any(h.startswith(b + "/") for b in ro)],
             "tmpfs": ["/work", "/tmp", "/dev/shm"], "tmpfs_size": limits.tmpfs_size}
    argv = [unshare, "--mount", "--pid", "--fork", "--kill-child", "--net", "--ipc", "--uts",
            "--propagation", "private", "--", interp.executable, "-I", "-S", "-B",
            str(RUNNER_DIR / "server.py"), "--stack", "unshare", "--work", "/work",
            "--wipe", "/tmp", "--wipe", "/dev/shm", "--seccomp", "--netns", host_netns(),
            "--build-root", json.dumps(build), "--uid", str(uid), "--gid", str(gid)]
    return JailSpec("unshare", argv, _base_env("/work", "/tmp"), "/work", True, [new_root],
                    root_uid=uid, net_namespace=True)


def _allow_except(root: str, hidden: tuple[str, ...]) -> list[str]:
    """Paths covering ``root`` minus the ``hidden`` subtrees (Landlock only adds rights)."""
    inside = [h for h in hidden if h.startswith(root + "/")]
    if not inside:
        return [root]
    out: list[str] = []
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return out
    for name in entries:
        path = os.path.join(root, name)
        if path in inside:
            continue
        if any(h.startswith(path + "/") for h in inside) and os.path.isdir(path):
            out += _allow_except(path, hidden)
        else:
            out.append(path)
    return out


def landlock_spec(interp: Interpreter, limits: Limits) -> JailSpec:
    work = tempfile.mkdtemp(prefix="dapo-jail-")
    read = [*_allow_except("/usr", interp.hidden), *_allow_except(interp.prefix, interp.hidden),
            os.path.dirname(interp.executable), str(RUNNER_DIR)]
    read += [n for n in ("/bin", "/sbin", "/lib", "/lib32", "/lib64") if os.path.exists(n)]
    rules = {"read": read, "write": [work],
             "files": ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]}
    argv = [interp.executable, "-I", "-S", "-B", str(RUNNER_DIR / "server.py"),
            "--stack", "landlock", "--work", work, "--seccomp", "--landlock", json.dumps(rules)]
    if os.geteuid() == 0:
        # Root without bubblewrap or unshare: stay uid 0 (the interpreter may be unreadable by
        # any other uid) but hold no capability; the cgroup, when available, bounds processes.
        argv.append("--drop-caps")
    return JailSpec("landlock", argv, _base_env(work, work), work, False, [work])


def unsafe_spec(interp: Interpreter) -> JailSpec:
    work = tempfile.mkdtemp(prefix="dapo-unsafe-")
    argv = [interp.executable, "-I", "-S", "-B", str(RUNNER_DIR / "server.py"),
            "--stack", "none", "--work", work]
    return JailSpec("none", argv, _base_env(work, work), work, False, [work])


def candidate_stacks(unsafe: bool) -> list[str]:
    forced = os.environ.get(STACK_ENV)
    if forced:
        if forced not in STACKS:
            raise SandboxUnavailable(f"{STACK_ENV}={forced!r}: expected one of {STACKS}")
        if forced == "none" and not unsafe:
            raise SandboxUnavailable(f"{STACK_ENV}=none needs --unsafe-no-sandbox")
        return [forced]
    stacks = ["bwrap", "unshare", "landlock"] if os.geteuid() == 0 else ["bwrap", "landlock"]
    return [*stacks, "none"] if unsafe else stacks


def build_spec(stack: str, limits: Limits) -> JailSpec:
    """A fresh spec (fresh uid, fresh directories) for ``stack``; raises if its tools are
    missing."""
    interp = Interpreter.current()
    if stack == "bwrap":
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap is not installed (apt-get install bubblewrap)")
        return bwrap_spec(interp, limits, bwrap)
    if stack == "unshare":
        unshare = shutil.which("unshare")
        if unshare is None or os.geteuid() != 0:
            raise SandboxUnavailable("the unshare stack needs root and util-linux unshare")
        return unshare_spec(interp, limits, unshare)
    if stack == "landlock":
        return landlock_spec(interp, limits)
    return unsafe_spec(interp)
