"""Runners and Dask workers run niced, so that the API gets a core first (status polls)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="per-thread nice values are read from /proc"
)

ROOT = Path(__file__).resolve().parents[3]


def thread_nices(pid: int) -> list[int]:
    """The nice value of every thread of process ``pid`` (field 19 of ``/proc/…/stat``)."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        out.append(int(stat.rsplit(")", 1)[1].split()[16]))
    return out


# In a child process: niceness cannot be taken back without privileges.
SCRIPT = textwrap.dedent(
    """
    import json, os, threading
    from eostation.jobs.priority import lower_priority
    from eostation.jobs.priority_plugin import LowPriority

    started = threading.Event()
    stop = threading.Event()
    def wait():
        started.set()
        stop.wait()
    early = threading.Thread(target=wait)  # started before: must be niced too
    early.start()
    started.wait()
    first = lower_priority(7)
    again = lower_priority(3)  # never lowers it
    LowPriority(9).setup(None)  # what each Dask worker runs
    tids = os.listdir("/proc/self/task")
    nices = [os.getpriority(os.PRIO_PROCESS, int(t)) for t in tids]
    late = []
    t = threading.Thread(target=lambda: late.append(os.getpriority(os.PRIO_PROCESS, 0)))
    t.start(); t.join()
    stop.set(); early.join()
    print(json.dumps({"first": first, "again": again, "threads": nices, "late": late}))
    """
)


def test_lower_priority_nices_every_thread_and_never_goes_back() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if os.getpriority(os.PRIO_PROCESS, 0) != 0:
        pytest.skip("the test process itself runs niced")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    assert report["first"] == 7 and report["again"] == 7
    # The thread started before the call is niced too; the plugin raised it to 9.
    assert len(report["threads"]) >= 2 and set(report["threads"]) == {9}
    assert report["late"] == [9]  # a thread started afterwards inherits it
