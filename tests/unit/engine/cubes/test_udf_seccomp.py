"""The UDF syscall filter: its BPF program evaluated instruction by instruction, and the
filter in a real sandboxed UDF (a denied call fails with EPERM and the run says so)."""

from __future__ import annotations

import errno
import os
import platform
import textwrap
from pathlib import Path

import pytest

from eostation.engine.processes.cubes import udf_seccomp
from eostation.engine.processes.cubes.udf_process import sandbox_problem, seccomp_problem
from tests.unit.engine.cubes.test_udf_isolation import _refused, _run
from tests.unit.engine.cubes.test_udf_isolation import data_dir as data_dir

X86, ARM = 0xC000003E, 0xC00000B7
ALLOW, EPERM = 0x7FFF0000, 0x00050000 | errno.EPERM


def _verdict(machine: str, arch: int, nr: int, arg0: int = 0) -> int:
    """Run the filter's classic BPF on one ``struct seccomp_data``: what the kernel would."""
    words = {0: nr, 4: arch, 16: arg0 & 0xFFFFFFFF}
    code = udf_seccomp.program(machine)
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:  # ld [k]
            acc, pc = words[k], pc + 1
        elif op == 0x15:  # jeq #k
            pc += 1 + (jt if acc == k else jf)
        elif op == 0x45:  # jset #k
            pc += 1 + (jt if acc & k else jf)
        elif op == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected BPF op {op:#x}")


def test_the_filter_denies_what_a_udf_never_needs_and_allows_the_rest() -> None:
    assert _verdict("x86_64", X86, 101) == EPERM  # ptrace
    assert _verdict("x86_64", X86, 272) == EPERM  # unshare
    assert _verdict("x86_64", X86, 321) == EPERM  # bpf
    assert _verdict("x86_64", X86, 165) == EPERM  # mount
    assert _verdict("x86_64", X86, 0) == ALLOW  # read
    assert _verdict("x86_64", X86, 9) == ALLOW  # mmap
    assert _verdict("x86_64", X86, 57) == ALLOW  # fork
    # socket: only AF_UNIX
    assert _verdict("x86_64", X86, 41, 1) == ALLOW
    assert _verdict("x86_64", X86, 41, 2) == EPERM  # AF_INET
    assert _verdict("x86_64", X86, 41, 16) == EPERM  # AF_NETLINK
    # clone: a fork or a thread passes, a new namespace does not; clone3 falls back
    assert _verdict("x86_64", X86, 56, 0x01200011) == ALLOW  # glibc fork's flags
    assert _verdict("x86_64", X86, 56, 0x003D0F00) == ALLOW  # pthread_create's flags
    assert _verdict("x86_64", X86, 56, 0x10000000 | 17) == EPERM  # CLONE_NEWUSER
    assert _verdict("x86_64", X86, 56, 0x40000000 | 17) == EPERM  # CLONE_NEWNET
    assert _verdict("x86_64", X86, 435) == 0x00050000 | errno.ENOSYS
    # the x32 ABI and a foreign architecture cannot slip past the numbers
    assert _verdict("x86_64", X86, 0x40000000 | 101) == EPERM
    assert _verdict("x86_64", 0x40000003, 26) == 0x80000000  # i386 ptrace: killed
    # AArch64 has its own numbers
    assert _verdict("aarch64", ARM, 117) == EPERM  # ptrace
    assert _verdict("aarch64", ARM, 101) == ALLOW  # nanosleep there, not ptrace
    assert _verdict("aarch64", ARM, 198, 2) == EPERM  # socket(AF_INET)
    assert len(udf_seccomp.DENIED) >= 30
    with pytest.raises(udf_seccomp.Unavailable, match="riscv64"):
        udf_seccomp.program("riscv64")


DENIED_CALL = """
def probe(context):
    libc = ctypes.CDLL(None, use_errno=True)
    results = {}
    for name, number, args in context["calls"]:
        rc = libc.syscall(number, *args)
        results[name] = os.strerror(ctypes.get_errno()) if rc == -1 else "allowed"
    if context.get("fail"):
        rc = libc.syscall(*context["fail"])
        if rc == -1:
            raise OSError(ctypes.get_errno(), "ptrace(PTRACE_TRACEME): " + os.strerror(ctypes.get_errno()))
    return results
"""

_X86_CALLS = [
    ["ptrace", 101, [0, 0, 0, 0]],  # PTRACE_TRACEME: allowed without a filter
    ["unshare", 272, [0x10000000]],  # a new user namespace: allowed without a filter
    ["socket_inet", 41, [2, 1, 0]],  # AF_INET in the empty network namespace: allowed
    ["keyctl", 250, [0, -1, 0]],  # KEYCTL_GET_KEYRING_ID
    ["getpid", 39, []],
]


@pytest.mark.slow  # sandboxed UDF processes
def test_a_udf_calling_a_denied_syscall_gets_eperm_and_the_run_says_so(data_dir: Path) -> None:
    if platform.machine() != "x86_64":
        pytest.skip("the syscall numbers of this test are x86-64's")
    if sandbox_problem() is not None or seccomp_problem() is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must install the UDF seccomp filter: {seccomp_problem()}")
        pytest.skip(f"no seccomp filter here: {sandbox_problem() or seccomp_problem()}")
    seen = _run(textwrap.dedent(DENIED_CALL), data_dir, {"calls": _X86_CALLS})
    assert seen["getpid"] == "allowed"
    for name in ("ptrace", "unshare", "socket_inet", "keyctl"):
        assert seen[name] == "Operation not permitted", seen
    message, errors = _refused(DENIED_CALL, data_dir, {"calls": [], "fail": [101, 0, 0, 0, 0]})
    assert "Operation not permitted" in message and "ptrace(PTRACE_TRACEME)" in errors


@pytest.mark.slow
def test_the_probe_reports_the_filter_and_ci_requires_it(data_dir: Path) -> None:
    """Where the sandbox runs, its UDFs run under the filter (``Seccomp: 2``), or the probe
    says why not; with ``CI=true`` the filter is required."""
    problem = seccomp_problem()
    if os.environ.get("CI") == "true":
        assert sandbox_problem() is None and problem is None, problem
    if sandbox_problem() is not None:
        pytest.skip(f"no UDF sandbox here: {sandbox_problem()}")
    code = """
    def probe(context):
        status = open("/proc/self/status").read().splitlines()
        return [line.split()[1] for line in status if line.startswith("Seccomp:")]
    """
    mode = _run(textwrap.dedent(code), data_dir, {})
    if problem is None:
        assert mode == ["2"]  # SECCOMP_MODE_FILTER
    else:
        assert mode == ["0"] and "seccomp" in problem
