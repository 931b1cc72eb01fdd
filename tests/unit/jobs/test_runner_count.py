"""``eostation serve`` starts as many runners as one user may run jobs at once."""

from __future__ import annotations

import pytest

from eostation.config import Settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, 2),  # the advertised default of concurrent_jobs
        ({"EOSTATION_CONCURRENT_JOBS": "5"}, 5),
        ({"EOSTATION_RUNNERS": "3"}, 3),
        ({"EOSTATION_RUNNERS": "0"}, 0),  # only `eostation worker` processes run jobs
    ],
)
def test_runner_count(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: int) -> None:
    for key in ("EOSTATION_RUNNERS", "EOSTATION_CONCURRENT_JOBS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Settings().runner_count == expected
