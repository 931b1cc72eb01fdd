"""The ``run_udf`` syscall filter: a seccomp BPF program installed before user code runs.

Loaded by file path in the child (``python -I``; standard library only). The sandbox of
:mod:`.udf_sandbox` already takes network, processes and files away with namespaces;
this filter is the second line: syscalls a UDF never needs fail with ``EPERM`` —
debugging other processes, mounting, new namespaces, kernel keys, BPF, performance
counters, io_uring, loading kernels or modules, rebooting, swapping — and ``socket``
only creates ``AF_UNIX`` sockets (the empty network namespace is the first guard).
``clone`` with a namespace flag fails too; ``clone3``, whose flags a filter cannot read,
answers ``ENOSYS`` so the C library falls back to ``clone`` (threads and ``fork`` keep
working).

The program is written here as classic BPF (``struct sock_filter``) for x86-64 and
AArch64; any other architecture, or a kernel without seccomp filters, makes
:func:`install` raise :class:`Unavailable` — the server's start-up probe records that,
and the sandbox then runs without the filter (see ``docs/udf.md``).
"""

from __future__ import annotations

import ctypes
import errno
import platform
from typing import Any

__all__ = ["DENIED", "Unavailable", "install"]

# name -> syscall number per architecture (x86-64: unistd_64.h; AArch64: asm-generic).
_NUMBERS: dict[str, tuple[int, int]] = {
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "kcmp": (312, 272),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "unshare": (272, 97),
    "setns": (308, 268),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "acct": (163, 89),
    "quotactl": (179, 60),
    "settimeofday": (164, 170),
    "syslog": (103, 116),
    "open_by_handle_at": (304, 265),
}
DENIED = tuple(_NUMBERS)
"""The syscalls that fail with EPERM (besides ``socket`` and ``clone`` by argument)."""

_ARCHES = {"x86_64": (0, 0xC000003E), "aarch64": (1, 0xC00000B7)}  # AUDIT_ARCH_*
_SOCKET, _CLONE, _CLONE3 = (41, 198), (56, 220), (435, 435)
_X32_BIT = 0x40000000  # x86-64's x32 ABI: other numbers for the same calls
_NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
_AF_UNIX = 1

_LD_W_ABS, _JEQ_K, _JSET_K, _RET_K = 0x20, 0x15, 0x45, 0x06
_ALLOW, _KILL, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (low word of args[0])
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2


class Unavailable(OSError):
    """This kernel or architecture offers no seccomp filter."""


class _Filter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` as ``(code, jt, jf, k)`` instructions."""
    if machine not in _ARCHES:
        raise Unavailable(errno.ENOSYS, f"no seccomp filter for the {machine} architecture")
    column, arch = _ARCHES[machine]
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    denied = sorted({numbers[column] for numbers in _NUMBERS.values()})
    code: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, _ARCH),
        (_JEQ_K, 1, 0, arch),
        (_RET_K, 0, 0, _KILL),  # a foreign ABI (e.g. 32-bit calls): its numbers differ
        (_LD_W_ABS, 0, 0, _NR),
    ]
    if machine == "x86_64":
        code += [(_JSET_K, 0, 1, _X32_BIT), (_RET_K, 0, 0, eperm)]
    for number in denied:
        code += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, eperm)]
    code += [
        (_JEQ_K, 0, 1, _CLONE3[column]),
        (_RET_K, 0, 0, enosys),
        (_JEQ_K, 0, 3, _CLONE[column]),
        (_LD_W_ABS, 0, 0, _ARG0),
        (_JSET_K, 0, 5, _NAMESPACE_FLAGS),  # no namespace flag: -> allow
        (_RET_K, 0, 0, eperm),
        (_JEQ_K, 0, 3, _SOCKET[column]),  # neither clone nor socket: -> allow
        (_LD_W_ABS, 0, 0, _ARG0),
        (_JEQ_K, 1, 0, _AF_UNIX),  # AF_UNIX: -> allow
        (_RET_K, 0, 0, eperm),
        (_RET_K, 0, 0, _ALLOW),
    ]
    return code


def install() -> None:
    """Install the filter on this process (and everything it starts later).

    Needs ``no_new_privs`` (set by the sandbox first). Raises :class:`Unavailable` when
    the architecture or kernel has no seccomp filters, :class:`OSError` on other failures.
    """
    instructions = program(platform.machine())
    filters = (_Filter * len(instructions))(*(_Filter(*i) for i in instructions))
    prog = _Program(len(instructions), filters)
    libc: Any = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        if err == errno.EINVAL:  # CONFIG_SECCOMP_FILTER is not built into this kernel
            raise Unavailable(err, "the kernel offers no seccomp filters")
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {errno.errorcode.get(err, err)}")
