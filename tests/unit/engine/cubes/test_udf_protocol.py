"""The UDF exchange format: arrays written once and mapped by the reader, and every
malformed or oversized buffer refused with a ProtocolError (never a crash or a copy)."""

from __future__ import annotations

import json
import mmap
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from eostation.engine.processes.cubes.udf_protocol import (
    ProtocolError,
    read_message,
    write_message,
)


def _mapped(values: np.ndarray) -> bool:
    """Whether ``values`` is a view of a file mapping (no copy in the reader)."""
    base = values
    while isinstance(base, np.ndarray):
        base = base.base  # type: ignore[assignment]
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def _cube() -> xr.DataArray:
    values = np.arange(2 * 3 * 4000, dtype=np.float32).reshape(2, 3, 4000)  # 96 kB: mapped
    return xr.DataArray(
        values,
        dims=("bands", "y", "x"),
        coords={"bands": ["B04", "B08"], "y": [10.0, 20.0, 30.0], "x": np.arange(4000.0)},
        attrs={"units": "reflectance"},
    )


def test_a_cube_round_trips_and_its_values_are_mapped_not_copied(tmp_path: Path) -> None:
    cube = _cube()
    fortran = np.asfortranarray(np.arange(20_000, dtype="<i8").reshape(200, 100))
    write_message(tmp_path / "m", {"data": cube, "f": fortran, "n": 3, "s": ["a"]})
    back = read_message(tmp_path / "m")
    xr.testing.assert_identical(back["data"], cube)
    assert back["data"].values.dtype == np.float32 and _mapped(back["data"].values)
    np.testing.assert_array_equal(back["f"], fortran)
    assert back["f"].flags.f_contiguous and _mapped(back["f"])
    assert (back["n"], back["s"]) == (3, ["a"])
    # Private mapping: the reader may change its array, the file stays as written.
    back["data"].values[0, 0, 0] = -1.0
    assert read_message(tmp_path / "m")["data"].values[0, 0, 0] == 0.0
    assert not _mapped(back["data"].coords["y"].values)  # small: read, not mapped
    # Empty and 0-d arrays need no mapping
    write_message(tmp_path / "e", {"e": np.zeros((0, 3)), "z": np.float64(2.5) * np.ones(())})
    empty = read_message(tmp_path / "e")
    assert empty["e"].shape == (0, 3) and float(empty["z"]) == 2.5


def test_more_arrays_than_a_message_may_hold_are_refused(tmp_path: Path) -> None:
    write_message(tmp_path / "m", {"a": np.ones(2)})
    (tmp_path / "m" / "message.json").write_text(json.dumps({"ok": [{"$array": 0}] * 10_001}))
    with pytest.raises(ProtocolError, match="at most 10000 arrays"):
        read_message(tmp_path / "m")


def _header(tmp_path: Path, shape: tuple[int, ...], dtype: str = "<f4") -> Path:
    """A message whose array 0 is a bare ``.npy`` header for ``shape`` (no data yet)."""
    folder = tmp_path / "forged"
    folder.mkdir()
    (folder / "message.json").write_text('{"ok": {"$array": 0}}')
    with (folder / "0.npy").open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": dtype, "fortran_order": False, "shape": shape}
        )
    return folder


def test_a_buffer_shorter_or_longer_than_its_header_is_refused(tmp_path: Path) -> None:
    folder = _header(tmp_path, (1000, 1000))
    with (folder / "0.npy").open("ab") as f:
        f.write(b"\0" * 4096)  # far less than the 4 MB announced
    with pytest.raises(
        ProtocolError, match=r"announces 1000000 values of float32, the file holds 4096 bytes"
    ):
        read_message(folder)
    with (folder / "0.npy").open("ab") as f:
        f.write(b"\0" * (4_000_000 - 4096 + 8))  # 8 bytes too many
    with pytest.raises(ProtocolError, match="the file holds 4000008 bytes"):
        read_message(folder)


def test_a_buffer_beyond_the_limit_is_refused_before_it_is_touched(tmp_path: Path) -> None:
    folder = _header(tmp_path, (64, 1024, 1024))  # 256 MiB announced
    with (folder / "0.npy").open("r+b") as f:
        f.truncate(os.path.getsize(folder / "0.npy") + 256 * 2**20)  # sparse: no memory
    assert read_message(folder, max_bytes=512 * 2**20)["ok"].shape == (64, 1024, 1024)
    with pytest.raises(ProtocolError, match="more than the limit of 100 MiB"):
        read_message(folder, max_bytes=100 * 2**20)


def test_pickled_object_arrays_links_and_other_formats_are_refused(tmp_path: Path) -> None:
    folder = _header(tmp_path, (2,), dtype="|O")
    with (folder / "0.npy").open("ab") as f:
        f.write(b"\0" * 16)
    with pytest.raises(ProtocolError, match=r"not a plain \.npy array|Python objects"):
        read_message(folder)
    (folder / "0.npy").unlink()
    np.save(folder / "0.npy", np.ones(3))
    os.link(folder / "0.npy", tmp_path / "kept")  # a link the writer could shrink later
    with pytest.raises(ProtocolError, match=r"0\.npy has other links"):
        read_message(folder)
    (tmp_path / "kept").unlink()
    assert read_message(folder)["ok"].tolist() == [1.0, 1.0, 1.0]
    (folder / "0.npy").unlink()
    (folder / "0.npy").symlink_to(tmp_path / "elsewhere.npy")
    np.save(tmp_path / "elsewhere.npy", np.ones(3))
    with pytest.raises(ProtocolError, match="cannot be opened"):
        read_message(folder)
    (folder / "0.npy").unlink()
    (folder / "0.npy").write_bytes(b"\x93NUMPY\x03\x00" + b"\0" * 60)
    with pytest.raises(ProtocolError, match=r"not a plain \.npy array"):
        read_message(folder)


def test_work_directories_go_to_dev_shm_only_with_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eostation.engine.processes.cubes import udf_pool

    monkeypatch.setattr(udf_pool, "_SHM", tmp_path)  # a real, writable directory
    assert udf_pool.exchange_root() == tmp_path
    monkeypatch.setattr(udf_pool, "_SHM_ROOM", 1 << 62)  # more than any disk has free
    assert udf_pool.exchange_root() == Path(tempfile.gettempdir())
    monkeypatch.setattr(udf_pool, "_SHM", tmp_path / "missing")  # a container without it
    assert udf_pool.exchange_root() == Path(tempfile.gettempdir())
