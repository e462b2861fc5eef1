"""The warm interpreter inside the jail: forks one child per program, then resets (stdlib only).

Started once per worker by the harness (``dapo_bench.sandbox.stacks``); spawning a jail costs
about 45 ms here against about 1 ms for a fork, so the jail is kept and reset between programs:
every process but this one is killed and the writable directories are emptied. If a reset
cannot be completed this process exits and the harness starts a fresh jail.

This process never reads a job: it passes the job's file descriptors to the child, so no test
data or reference program is ever in its memory for a later child to find. It is non-dumpable
(its memory and descriptors are out of reach of same-uid processes) and, where it is PID 1 of a
PID namespace, immune to signals from the candidates.

Control protocol (SOCK_SEQPACKET on --ctl FD):
  server -> harness  {"op": "ready", ...facts}   once, after confinement
  harness -> server  {"op": "run"} + fds [job memfd, result pipe, log pipe]
  harness -> server  {"op": "stop"}   optional: the verdict is known, kill the program
  server -> harness  {"op": "done", "status": wait status, "cpu": seconds, "stray": n
                      [, "retire": true when the jail cannot be reset and must be replaced]}
"""

from __future__ import annotations

import argparse
import array
import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import stat
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import confine
import policy
import runner

MAX_RESET_ENTRIES = 100_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--ctl", type=int, required=True)
    p.add_argument("--stack", required=True)
    p.add_argument("--uid", type=int)
    p.add_argument("--gid", type=int)
    p.add_argument("--work", required=True)
    p.add_argument("--wipe", action="append", default=[])
    p.add_argument("--seccomp", action="store_true")
    p.add_argument("--drop-caps", action="store_true", help="stay uid 0 but hold no capability")
    p.add_argument("--build-root", help="unshare stack: JSON spec of the root to build")
    p.add_argument("--landlock", help="landlock stack: JSON {read, write, files}")
    p.add_argument("--netns", metavar="HOST_NETNS",
                   help="the jail has a network namespace of its own (the host's is "
                        "HOST_NETNS, as /proc/self/ns/net reads): once checked, allow "
                        "AF_INET/AF_INET6 sockets")
    return p.parse_args(argv)


def recv_job(ctl: socket.socket) -> tuple[dict | None, list[int]]:
    fds = array.array("i")
    msg, ancdata, _flags, _addr = ctl.recvmsg(4096, socket.CMSG_SPACE(8 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if not msg:
        return None, list(fds)
    return json.loads(msg), list(fds)


def child(ctl: socket.socket, fds: list[int], args: argparse.Namespace) -> None:
    """In the forked child: wire fds 1-4, read the job, confine further, run it. Never returns."""
    try:
        ctl.close()
        job_fd, result_fd, log_fd = (fcntl.fcntl(fd, fcntl.F_DUPFD, 11) for fd in fds)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.dup2(result_fd, runner.RESULT_FD)
        os.dup2(job_fd, 4)
        os.closerange(5, 1 << 16)
        with os.fdopen(4, "rb") as handle:
            handle.seek(0)
            job = json.loads(handle.read())
        os.chdir(args.work)
        os.setsid()
        if args.landlock:
            spec = json.loads(args.landlock)
            confine.apply_landlock(spec["read"], spec["write"], spec["files"])
            confine.apply_seccomp(policy.DENIED_SYSCALLS + policy.DENIED_METADATA_SYSCALLS)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    except BaseException:
        os._exit(3)
    runner.main(job)


def wait_or_stop(ctl: socket.socket, pid: int) -> tuple[int, Any]:
    """Wait for the program, or kill it when the harness says its verdict is already known
    (its first wrong result): most programs graded in RL are wrong, most tests need not run.
    If the harness goes away, stop too."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([pidfd, ctl], [], [])
            if pidfd in ready:
                break
            try:
                msg = ctl.recv(4096)
            except OSError:
                msg = b""
            if not msg:  # the harness closed the jail
                os.kill(pid, signal.SIGKILL)
                os._exit(0)
            if json.loads(msg).get("op") == "stop":
                os.kill(pid, signal.SIGKILL)
    finally:
        os.close(pidfd)
    _, status, usage = os.wait4(pid, 0)
    return status, usage


def kill_everything(pid_ns: bool) -> int:
    """Kill every process of the jail but this one; return how many stray ones there were."""
    me = os.getpid()
    stray = 0
    for _ in range(10_000):
        if pid_ns:
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)  # every process in this PID namespace but us
        else:
            for pid in _descendants(me):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return stray
            if pid == 0:
                break
            stray += 1
        time.sleep(0.001)
    raise RuntimeError("processes keep appearing")


def _descendants(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            parent[int(name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        kids = [pid for pid, ppid in parent.items() if ppid == current]
        found += kids
        frontier += kids
    return found


def wipe(directory: str) -> None:
    """Empty ``directory`` without recursion (a hostile tree may be deep), within a budget."""
    stack, dirs, seen = [directory], [], 0
    while stack:
        current = stack.pop()
        if current != directory:  # the top is the jail's mount point, not ours to chmod
            os.chmod(current, 0o700)
        dirs.append(current)
        with os.scandir(current) as entries:
            for entry in entries:
                seen += 1
                if seen > MAX_RESET_ENTRIES:
                    raise RuntimeError("too many files to reset")
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    os.unlink(entry.path)
    for path in reversed(dirs[1:]):
        os.rmdir(path)


def build_root(spec: dict) -> None:
    """unshare stack (root, no user namespaces): a private root of read-only binds and
    size-limited tmpfs, entered with chroot before the uid is dropped."""
    new = spec["root"]
    confine.mount("none", "/", None, confine.MS_REC | confine.MS_PRIVATE)
    confine.mount("tmpfs", new, "tmpfs", confine.MS_NOSUID | confine.MS_NODEV, "size=1m,mode=755")
    for path in spec["ro"]:
        target = new + path
        os.makedirs(target, mode=0o755, exist_ok=True)
        confine.bind_readonly(path, target)
    for path in spec["hide"]:
        confine.mount("tmpfs", new + path, "tmpfs", confine.MS_NOSUID | confine.MS_NODEV,
                      "size=4k,mode=555")
    for link, target in spec["symlinks"].items():
        os.symlink(target, new + link)
    os.makedirs(new + "/dev", mode=0o755)
    for dev in ("null", "zero", "urandom", "random"):
        open(new + "/dev/" + dev, "w").close()
        confine.mount("/dev/" + dev, new + "/dev/" + dev, None, confine.MS_BIND)
    for path in spec["tmpfs"]:
        os.makedirs(new + path, exist_ok=True)
        confine.mount("tmpfs", new + path, "tmpfs", confine.MS_NOSUID | confine.MS_NODEV,
                      f"size={spec['tmpfs_size']},mode=1777")
    os.makedirs(new + "/proc", exist_ok=True)
    confine.mount("proc", new + "/proc", "proc", confine.MS_NOSUID | confine.MS_NODEV)
    os.chdir(new)
    os.chroot(".")
    os.chdir("/")


def network_namespace() -> tuple[str, list[str]]:
    """This process's network namespace (as ``/proc/self/ns/net`` reads) and its interfaces."""
    try:
        ns = os.readlink("/proc/self/ns/net")
    except OSError:
        ns = ""
    names = []
    try:
        with open("/proc/self/net/dev") as handle:
            for line in handle.readlines()[2:]:
                names.append(line.split(":", 1)[0].strip())
    except OSError:
        names = ["unknown"]
    return ns, names


def check_own_network(host_netns: str) -> str:
    """Before sockets are allowed: the jail's network namespace is not the host's and holds
    nothing but a loopback, so no connection can leave it. Exits (the jail does not start)
    otherwise."""
    ns, names = network_namespace()
    if not ns or ns == host_netns:
        raise SystemExit(f"--netns: the jail shares the host's network namespace ({ns!r})")
    if set(names) - {"lo"}:
        raise SystemExit(f"--netns: the jail's network namespace has interfaces {names}")
    return ns


def sockets_left() -> bool:
    """Whether TCP or UDP state outlived the program in the jail's network namespace (a
    TIME_WAIT entry shows up in ``/proc/net/tcp`` for a minute): a later program could read
    it, so the jail is replaced instead of reused."""
    for name in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        try:
            with open(f"/proc/self/net/{name}") as handle:
                if len(handle.read(4096).splitlines()) > 1:
                    return True
        except FileNotFoundError:  # no IPv6 in this kernel
            continue
        except OSError:
            return True
    return False


def facts(args: argparse.Namespace, layers: list[str]) -> dict:
    status = {}
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("CapEff", "CapBnd", "NoNewPrivs", "Seccomp"):
                    status[key] = value.strip()
    except OSError:
        pass
    net = "unknown"
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.2)
        try:
            probe.connect(("127.0.0.1", 9))
            net = "reachable"
        except OSError as exc:
            net = f"blocked ({exc.strerror or exc})"
        finally:
            probe.close()
    except OSError as exc:
        net = f"blocked ({exc.strerror or exc})"
    netns, interfaces = network_namespace()
    return {"op": "ready", "stack": args.stack, "pid": os.getpid(), "uid": os.getuid(),
            "layers": layers, "net": net, "netns": netns, "interfaces": interfaces, **status}


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    import builtins

    if not hasattr(builtins, "exit"):  # started with -S: give programs exit() and quit()
        import site

        site.setquit()
    ctl = socket.socket(fileno=args.ctl)
    layers: list[str] = []
    if args.build_root:
        build_root(json.loads(args.build_root))
        layers.append("private-root")
    if args.netns is not None:
        check_own_network(args.netns)  # before any socket is allowed
        if args.build_root:
            confine.loopback_up()  # the unshare stack: bubblewrap brings lo up itself
    if args.uid is not None:
        confine.drop_privileges(args.uid, args.gid)
        layers.append(f"uid={args.uid}")
    if args.drop_caps:
        confine.drop_all_capabilities()
        layers.append("no-capabilities")
    # a change of credentials clears the parent-death signal bubblewrap/unshare set: set it
    # again, so the jail dies with the process that started it
    confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    os.chdir(args.work)
    confine.harden_process()
    layers.append("non-dumpable")
    if args.netns is not None:
        layers.append("netns(lo)")
    if args.seccomp:
        confine.apply_seccomp(policy.DENIED_SYSCALLS, inet=args.netns is not None)
        layers.append("seccomp")
    if args.landlock:
        layers.append(f"landlock-abi{confine.landlock_abi()}")
    pid_ns = os.getpid() == 1
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    ctl.sendall(json.dumps(facts(args, layers)).encode())
    for directory in [args.work, *args.wipe]:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise SystemExit(f"{directory} is not a directory")
    while True:
        job, fds = recv_job(ctl)
        if job is None:
            return
        if job.get("op") != "run" or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            child(ctl, fds, args)
        for fd in fds:
            os.close(fd)
        status, usage = wait_or_stop(ctl, pid)
        stray = kill_everything(pid_ns)
        for directory in [args.work, *args.wipe]:
            wipe(directory)
        done = {"op": "done", "status": status, "stray": stray,
                "cpu": usage.ru_utime + usage.ru_stime}
        if args.netns is not None and sockets_left():
            done["retire"] = True  # the harness closes this jail and starts a fresh one
        ctl.sendall(json.dumps(done).encode())


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BaseException as exc:  # report start-up failures on stderr for the harness
        if not isinstance(exc, SystemExit):
            import traceback

            traceback.print_exc()
        raise
