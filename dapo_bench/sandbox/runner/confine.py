"""Kernel confinement applied from inside the jail with raw syscalls (ctypes; stdlib only).

Why raw syscalls: the jail's interpreter sees the standard library only (site-packages are
hidden), and PyPI's seccomp/landlock bindings need packages the jail does not have. Each
function either does what it says or raises ``OSError``; the server reports which layers took.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def prctl(option: int, arg2: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0)), f"prctl({option})")


def drop_privileges(uid: int, gid: int) -> None:
    """Root -> an unprivileged uid/gid of the jail's own (root ignores RLIMIT_NPROC and owns
    root-only files); then no capabilities at all, and no way to regain any."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    clear_capabilities()
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def drop_all_capabilities() -> None:
    """For a jail that stays uid 0 (Landlock stack started as root with an interpreter no other
    uid can read): empty the bounding set too, so nothing can ever be regained."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)) < 0:
            break  # past the kernel's last capability
    clear_capabilities()
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def clear_capabilities() -> None:
    # capset(v3 header, two zeroed data structs): empties effective, permitted, inheritable.
    header = struct.pack("Ii", 0x20080522, 0)
    data = bytes(24)
    hbuf, dbuf = ctypes.create_string_buffer(header), ctypes.create_string_buffer(data)
    _check(_libc.capset(hbuf, dbuf), "capset")


def harden_process() -> None:
    """Non-dumpable: processes of the same uid cannot ptrace this one, read its memory or open
    its file descriptors through /proc. Subreaper: orphans and daemons re-parent here."""
    prctl(PR_SET_DUMPABLE, 0)
    prctl(PR_SET_CHILD_SUBREAPER, 1)


# --- seccomp ------------------------------------------------------------------------------

_ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
        "kcmp": 312, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "unshare": 272, "setns": 308, "move_mount": 429, "open_tree": 428, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "bpf": 321, "perf_event_open": 298, "keyctl": 250,
        "add_key": 248, "request_key": 249, "userfaultfd": 323, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "acct": 163, "swapon": 167,
        "swapoff": 168, "reboot": 169, "syslog": 103, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "fanotify_init": 300, "quotactl": 179,
        "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "personality": 135,
        "socket": 41, "clone": 56, "clone3": 435,
        "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93, "lchown": 94, "utime": 132,
        "utimes": 235, "futimesat": 261, "fchownat": 260, "fchmodat": 268, "utimensat": 280,
        "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197,
        "lremovexattr": 198, "fremovexattr": 199, "fchmodat2": 452,
    }),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
        "kcmp": 272, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "unshare": 97, "setns": 268, "move_mount": 429, "open_tree": 428, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "bpf": 280, "perf_event_open": 241, "keyctl": 219,
        "add_key": 217, "request_key": 218, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "acct": 89, "swapon": 224,
        "swapoff": 225, "reboot": 142, "syslog": 116, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "fanotify_init": 262, "quotactl": 60,
        "settimeofday": 170, "clock_settime": 112, "adjtimex": 171, "personality": 92,
        "socket": 198, "clone": 220, "clone3": 435,
        "fchmod": 52, "fchmodat": 53, "fchownat": 54, "fchown": 55, "utimensat": 88,
        "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15,
        "fremovexattr": 16, "fchmodat2": 452,
    }),
}
_NS_FLAGS = 0x7E020080  # CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET,TIME}
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
_EPERM, _ENOSYS, _EAFNOSUPPORT = 1, 38, 97
_AF_UNIX, _AF_INET, _AF_INET6 = 1, 2, 10


def _assemble(prog: list[tuple]) -> bytes:
    """Tiny classic-BPF assembler: ("label", name) marks a place; jumps name labels."""
    labels, index = {}, 0
    for ins in prog:
        if ins[0] == "label":
            labels[ins[1]] = index
        else:
            index += 1
    out, index = [], 0
    for ins in prog:
        if ins[0] == "label":
            continue
        code, jt, jf, k = ins
        if isinstance(jt, str):
            jt = labels[jt] - index - 1
        if isinstance(jf, str):
            jf = labels[jf] - index - 1
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise ValueError("BPF jump out of range")
        out.append(struct.pack("HBBI", code, jt, jf, k))
        index += 1
    return b"".join(out)


def seccomp_program(denied: tuple[str, ...], machine: str | None = None, inet: bool = False
                    ) -> bytes:
    """The filter: ``denied`` answer EPERM; ``socket()`` is allowed for ``AF_UNIX`` only, or
    also for ``AF_INET``/``AF_INET6`` with ``inet`` (only in a network namespace of the jail's
    own, where no connection can leave it); ``clone()`` may not create namespaces; ``clone3()``
    answers ENOSYS; any other architecture is killed."""
    arch, numbers = _ARCHES[machine or platform.machine()]
    families = (_AF_UNIX, _AF_INET, _AF_INET6) if inet else (_AF_UNIX,)
    prog: list[tuple] = [(_LD, 0, 0, 4), (_JEQ, 0, "kill", arch), (_LD, 0, 0, 0)]
    if arch == 0xC000003E:
        prog.append((_JGE, "deny", 0, 0x40000000))  # x32 syscalls
    for name in denied:
        if name in numbers:
            prog.append((_JEQ, "deny", 0, numbers[name]))
    prog += [
        (_JEQ, "socket", 0, numbers["socket"]),
        (_JEQ, "clone", 0, numbers["clone"]),
        (_JEQ, "nosys", 0, numbers["clone3"]),
        (_RET, 0, 0, _ALLOW),
        ("label", "socket"), (_LD, 0, 0, 16),
        *[(_JEQ, "allow", 0, family) for family in families],
        (_RET, 0, 0, _ERRNO | _EAFNOSUPPORT),
        ("label", "clone"), (_LD, 0, 0, 16), (_JSET, "deny", 0, _NS_FLAGS),
        ("label", "allow"), (_RET, 0, 0, _ALLOW),
        ("label", "deny"), (_RET, 0, 0, _ERRNO | _EPERM),
        ("label", "nosys"), (_RET, 0, 0, _ERRNO | _ENOSYS),
        ("label", "kill"), (_RET, 0, 0, _KILL),
    ]
    return _assemble(prog)


def apply_seccomp(denied: tuple[str, ...], inet: bool = False) -> None:
    if platform.machine() not in _ARCHES:
        raise OSError(0, f"no seccomp syscall table for {platform.machine()}")
    code = seccomp_program(denied, inet=inet)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(code) // 8, ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    _check(_libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(2), fbuf, ctypes.c_ulong(0),
                       ctypes.c_ulong(0)), "seccomp")


# --- Landlock -----------------------------------------------------------------------------

_LL_CREATE, _LL_ADD, _LL_RESTRICT = 444, 445, 446
_FS_FILE = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)  # rights valid on a file
_FS_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir


def landlock_abi() -> int:
    ret = _libc.syscall(_LL_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(ret) if ret > 0 else 0


def apply_landlock(read_paths: list[str], write_paths: list[str],
                   rw_files: list[str]) -> int:
    """Allow reading ``read_paths``, everything under ``write_paths`` and the device files
    ``rw_files``; deny every other path, TCP bind/connect (ABI 4+), and signals or abstract
    sockets aimed outside the sandbox (ABI 6+). Returns the ABI used."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError(0, "Landlock is not available")
    handled = (1 << 13) - 1
    if abi >= 2:
        handled |= 1 << 13
    if abi >= 3:
        handled |= 1 << 14
    if abi >= 5:
        handled |= 1 << 15
    net = 3 if abi >= 4 else 0
    scoped = 3 if abi >= 6 else 0
    attr = struct.pack("QQQ", handled, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    abuf = ctypes.create_string_buffer(attr)
    fd = _check(_libc.syscall(_LL_CREATE, abuf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)),
                "landlock_create_ruleset")
    try:
        for paths, rights in ((read_paths, _FS_READ), (write_paths, handled),
                              (rw_files, _FS_FILE)):
            for path in paths:
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights & handled
                    if not os.path.isdir(path):
                        allowed &= _FS_FILE
                    rule = ctypes.create_string_buffer(struct.pack("=Qi", allowed, pfd))
                    _check(_libc.syscall(_LL_ADD, ctypes.c_int(fd), ctypes.c_int(1), rule,
                                         ctypes.c_uint32(0)), f"landlock_add_rule({path})")
                finally:
                    os.close(pfd)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        _check(_libc.syscall(_LL_RESTRICT, ctypes.c_int(fd), ctypes.c_uint32(0)),
               "landlock_restrict_self")
    finally:
        os.close(fd)
    return abi


# --- network (the unshare stack's empty namespace) -----------------------------------------

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """Bring up ``lo`` of a fresh network namespace (bubblewrap does this itself), so that
    ``127.0.0.1`` inside the jail answers "connection refused" as it does under bubblewrap
    instead of "network unreachable". Needs CAP_NET_ADMIN: call it before the uid drop."""
    import fcntl
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req))[1]
        if flags & IFF_UP:
            return
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


# --- mounts (the unshare stack builds its own root) -----------------------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None
          ) -> None:
    _check(_libc.mount(source.encode(), target.encode(),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       data.encode() if data else None), f"mount {source} -> {target}")


def bind_readonly(source: str, target: str) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
