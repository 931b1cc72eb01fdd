"""The ``run_udf`` sandbox: what a UDF process does to itself before any user code runs.

Loaded by file path in the child (``python -I``; standard library only, never imported
by the server's engine code) and run as a script by the server's start-up probe
(:func:`eostation.engine.processes.cubes.udf_process.sandbox_problem`). :func:`enter`
either builds the whole sandbox or raises :class:`SandboxError`: there is no partial,
best-effort mode, so a server that cannot build it keeps UDFs off.

1. New mount, network, PID and IPC namespaces; without root, also a user namespace that
   maps only the server's own uid and gid.
2. A fork: the sandboxed process is PID 1 of the new PID namespace, so when it ends (or
   is killed with its session at the wall-clock limit) the kernel kills every process
   the UDF started, even one in a new session. The process outside waits and exits with
   its status.
3. A fresh ``/proc`` (no other process is visible); empty tmpfs mounts over the server's
   data directory and database, over ``/dev/shm``, over the temporary directory that holds
   the run's work directory (keeping only that one), and over home directories (as root,
   those others cannot enter, e.g. ``/root``; otherwise the server user's home) keeping
   only the paths the interpreter needs.
4. As root: its own unprivileged uid/gid, no supplementary groups. Without root: every
   capability dropped (so the UDF cannot unmount what hides the server's files).
   ``no_new_privs`` in both cases.
5. rlimits: address space, file size, processes (counted per uid as root, per user
   namespace otherwise), no core files; CPU seconds (``SIGXCPU``, then ``SIGKILL`` a
   second later) per call, in the fork that runs it (:func:`limit_call`).
6. The seccomp filter of :mod:`.udf_seccomp` (``launch["seccomp"]``: required once the
   start-up probe found the kernel offers it; the probe records why not otherwise).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import resource
import signal
import socket
import stat
import sys
from pathlib import Path
from typing import Any

__all__ = ["SandboxError", "enter", "kill_others", "limit_call"]

_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
# statvfs flag -> mount flag, for the flags a remount must repeat.
_KEPT_FLAGS = ((2, 2), (4, 4), (8, 8), (1024, 1024), (2048, 2048), (4096, 1 << 21))
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS = 1, 4, 38
_CAP_VERSION_3 = 0x20080522


class SandboxError(OSError):
    """A step of the sandbox could not be taken; the UDF must not run."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _call(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SandboxError(err, f"{what}: {os.strerror(err)}")


def _mount(libc: Any, source: str, target: str, fstype: str | None, flags: int, data: str) -> None:
    _call(
        libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _cover(libc: Any, directory: Path, keep: set[Path], read_only: bool = False) -> None:
    """An empty tmpfs over ``directory`` that still shows the ``keep`` paths below it.

    Each kept path is opened before the tmpfs hides it and bind-mounted back at its own
    place on the tmpfs (through ``/proc/self/fd``), with fresh 0755 directories on the
    way: nothing else of ``directory`` shows, and a closed directory on the way (a
    0700 data directory or home) no longer blocks the run's own uid. With ``read_only``
    the tmpfs and those mounts cannot be written.
    """
    tops = sorted(p for p in keep if not any(_below(p, other) for other in keep))
    opened = [(path, os.open(path, os.O_PATH), path.is_dir()) for path in tops]
    try:
        flags = _MS_NOSUID | _MS_NODEV
        _mount(libc, "tmpfs", str(directory), "tmpfs", flags, "size=64k,mode=0755")
        for path, fd, is_dir in opened:
            place = directory / path.relative_to(directory)
            if is_dir:
                place.mkdir(mode=0o755, parents=True, exist_ok=True)
            else:
                place.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                place.touch()
            _mount(libc, f"/proc/self/fd/{fd}", str(place), None, _MS_BIND | _MS_REC, "")
            if read_only:
                _read_only(libc, place)
        if read_only:
            _read_only(libc, directory)
    finally:
        for _, fd, _ in opened:
            os.close(fd)


def _read_only(libc: Any, place: Path) -> None:
    """Remount ``place`` read-only, keeping the flags a user namespace may not clear."""
    kept = os.statvfs(place).f_flag
    flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
    for statvfs_flag, mount_flag in _KEPT_FLAGS:
        if kept & statvfs_flag:
            flags |= mount_flag
    _mount(libc, "none", str(place), None, flags, "")


def _below(path: Path, directory: Path) -> bool:
    return path != directory and directory in path.parents


def _closed_ancestor(path: Path) -> Path | None:
    """The top-most directory above ``path`` that others cannot enter."""
    parts = path.parts
    for i in range(2, len(parts)):
        ancestor = Path(*parts[:i])
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor
    return None


def _needed() -> set[Path]:
    """What the interpreter reads: its prefixes, ``sys.path`` (with a UDF environment)."""
    needed = {Path(p).resolve() for p in sys.path if p and Path(p).exists()}
    needed |= {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    needed.add(Path(sys.executable).resolve().parent)
    return needed


def _covers(
    workdir: Path, as_root: bool, needed: set[Path], temporary: list[str]
) -> dict[Path, set[Path]]:
    """The directories to cover, each with the paths below it that must stay visible:
    homes, the directory holding the work directory (``/dev/shm`` or the temporary
    directory) and the server's temporary directories."""
    homes: set[Path] = set()
    if as_root:
        homes = {found for p in needed if (found := _closed_ancestor(p))}
    else:
        homes.add(Path(pwd.getpwuid(os.getuid()).pw_dir).resolve())
    covers: dict[Path, set[Path]] = {
        home: {p for p in needed if _below(p, home)} for home in homes if home.is_dir()
    }
    for tmp in {Path(t).resolve() for t in temporary if Path(t).is_dir()}:
        if tmp != Path("/"):
            covers[tmp] = {p for p in needed if _below(p, tmp)}
    tmp = workdir.resolve().parent
    if tmp != Path("/"):
        covers[tmp] = {workdir.resolve(), *(p for p in needed if _below(p, tmp))}
    return covers


def _hide(libc: Any, paths: list[str], needed: set[Path]) -> None:
    """Empty read-only mounts over ``paths``; a directory holding a needed path (a UDF
    environment in the data directory) keeps that path, read-only."""
    for path in paths:
        target = Path(path)
        if target.is_dir():
            keep = {p for p in needed if _below(p, target.resolve())}
            if keep:
                _cover(libc, target.resolve(), keep, read_only=True)
                continue
            flags = _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
            _mount(libc, "tmpfs", path, "tmpfs", flags, "size=4k,mode=0555")
        elif target.exists():
            _mount(libc, "/dev/null", path, None, _MS_BIND, "")


def _drop_capabilities(libc: Any) -> None:
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _call(libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


def _wait_and_exit(pid: int) -> None:
    """The process outside the PID namespace: wait for the sandboxed one, exit like it."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status))


def limit_call(launch: dict[str, Any]) -> None:
    """The CPU-time limit of one call (run in the fork that serves it: CPU time counts
    per process, so each call gets the whole limit)."""
    cpu = int(launch.get("cpu_seconds", 0))
    if cpu > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def kill_others() -> None:
    """SIGKILL every process of the sandbox but this one (PID 1) and reap them."""
    for _ in range(100):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
        for pid in others:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        if not others:
            return


def _limit(launch: dict[str, Any]) -> None:
    pairs = {
        resource.RLIMIT_AS: int(launch.get("memory_bytes", 0)),
        resource.RLIMIT_FSIZE: int(launch.get("file_bytes", 0)),
        resource.RLIMIT_NPROC: int(launch.get("max_processes", 0)),
    }
    for which, value in pairs.items():
        if value > 0:
            resource.setrlimit(which, (value, value))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def enter(launch: dict[str, Any], workdir: Path) -> None:
    """Build the sandbox around this process, or raise :class:`SandboxError`.

    Returns only in the sandboxed process; the process that called it waits outside
    and exits with the sandboxed one's status.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    uid = launch.get("uid")
    as_root = uid is not None
    hidden = [str(p) for p in launch.get("hidden", [])]
    needed = _needed()
    covers = _covers(workdir, as_root, needed, list(launch.get("tmp", [])))
    flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC
    real_uid, real_gid = os.getuid(), os.getgid()
    try:
        if as_root:
            _call(libc.unshare(flags), "unshare")
        else:
            _call(libc.unshare(_CLONE_NEWUSER | flags), "unshare (user namespace)")
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{real_uid} {real_uid} 1")
            Path("/proc/self/gid_map").write_text(f"{real_gid} {real_gid} 1")
    except OSError as exc:
        raise SandboxError(exc.errno, f"namespaces are not available: {exc}") from None
    pid = os.fork()
    if pid:
        _wait_and_exit(pid)
    os.umask(0o022)
    try:
        _call(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
        _mount(libc, "none", "/", None, _MS_REC | _MS_PRIVATE, "")
        _mount(libc, "proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "")
        for directory, keep in sorted(covers.items()):
            _cover(libc, directory, keep)
        os.chdir(workdir)  # the old work directory's parent must not stay reachable via ..
        shm = [] if Path("/dev/shm").resolve() in covers else ["/dev/shm"]
        _hide(libc, [*hidden, *shm], needed)
        if uid is not None:
            os.setgroups([])
            os.setgid(int(uid))
            os.setuid(int(uid))
            # Credentials changed: the kernel cleared the parent-death signal.
            _call(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
        else:
            _drop_capabilities(libc)
        _call(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        # Calls run in forks of this process: none may ptrace it to reach later calls.
        _call(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(DUMPABLE)")
        _limit(launch)
        if launch.get("seccomp"):
            _seccomp().install()
    except (OSError, AttributeError) as exc:  # AttributeError: a libc without unshare/mount
        raise SandboxError(getattr(exc, "errno", None) or 0, str(exc)) from None


def _seccomp() -> Any:
    """:mod:`.udf_seccomp`, loaded by file path like this module."""
    path = Path(__file__).with_name("udf_seccomp.py")
    spec = importlib.util.spec_from_file_location("udf_seccomp", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _probe(workdir: Path) -> None:
    """Build the sandbox and check it: no network, the data directory hidden; then try
    the seccomp filter and record in ``out/seccomp`` whether it is on, or why not."""
    import json

    launch = json.loads((workdir / "launch.json").read_text())
    try:
        enter(launch, workdir)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", int(launch.get("port", 1)))) == 0:
                raise SandboxError(0, "a loopback connection succeeded inside the sandbox")
        seccomp = _seccomp()
        try:
            seccomp.install()
            verdict = "on"
        except seccomp.Unavailable as exc:
            verdict = f"seccomp is not available: {exc.strerror}"
        except OSError as exc:
            raise SandboxError(exc.errno or 0, f"the seccomp filter: {exc}") from None
        if verdict == "on" and _inet_socket_allowed():
            raise SandboxError(0, "the seccomp filter let an AF_INET socket through")
        (workdir / "out" / "seccomp").write_text(verdict)
        for path in launch.get("hidden", []):
            if Path(path).is_dir() and any(Path(path).iterdir()):
                raise SandboxError(0, f"{path} is still visible inside the sandbox")
    except SandboxError as exc:
        (workdir / "out" / "problem").write_text(str(exc))
        raise SystemExit(3) from None
    (workdir / "out" / "ok").write_text("ok")


def _inet_socket_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    except PermissionError:
        return False
    return True


if __name__ == "__main__":
    _probe(Path(sys.argv[1]))
