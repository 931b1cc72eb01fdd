"""Dependencies of a UDF: PEP 723 inline script metadata, one environment per set, built with uv.

A UDF declares what it needs as CDSE supports it in batch jobs::

    # /// script
    # dependencies = ["numpy-financial"]
    # ///

The set is resolved with ``uv pip compile`` against the server's own installed versions
as constraints, so numpy, xarray, openeo and the rest are never downloaded again nor
replaced; only what the server lacks is installed (``--no-deps``, wheels only:
``--no-build`` keeps a source distribution's build script from running on the server)
into ``<udf_env_dir>/<key>``, where ``key`` hashes the Python version, the server's
versions and the set. The UDF process appends that directory to ``sys.path`` behind the
server's environment and sees it read-only. Builds are atomic (a temporary directory
renamed into place), so concurrent runs of the same set never see half an environment.
Direct references (``pkg @ https://…``, local paths) are refused: uv fetches only from
its index, never from a URL a user chose.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from eostation.errors import ProcessParameterInvalid

__all__ = ["declared", "environment"]

_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
_BUILD_SECONDS = 600


def _invalid(reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process="run_udf", parameter="udf", reason=reason)


def declared(code: str) -> list[str]:
    """The dependencies the ``script`` metadata block of ``code`` declares (sorted, normalised).

    Raises ``ProcessParameterInvalid`` for a malformed block or requirement, and for
    direct references (URLs, paths).
    """
    blocks = [m for m in _BLOCK.finditer(code) if m.group("type") == "script"]
    if not blocks:
        return []
    if len(blocks) > 1:
        raise _invalid("the UDF has more than one '# /// script' metadata block")
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        metadata = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(f"the UDF's '# /// script' block is not valid TOML: {exc}") from None
    dependencies = metadata.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise _invalid("'dependencies' in the UDF's script block must be a list of strings")
    out = set()
    for text in dependencies:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise _invalid(
                f"the UDF dependency '{text}' is not a valid requirement: {exc}"
            ) from None
        if requirement.url:
            raise _invalid(
                f"the UDF dependency '{text}' is a direct reference; name a package from "
                "the package index instead"
            )
        out.add(str(requirement))
    return sorted(out)


@functools.cache
def _server_pins() -> dict[str, str]:
    """The server environment's distributions (name -> version); fixed for the process's life."""
    pins: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            pins[canonicalize_name(name)] = dist.version
    return pins


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise _invalid("UDF dependencies need uv, which this server lacks") from None
        return found


def _run_uv(args: list[str], cache: Path) -> str:
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "UV_NO_PROGRESS": "1"}
    try:
        done = subprocess.run(
            [_uv(), *args],
            capture_output=True,
            text=True,
            timeout=_BUILD_SECONDS,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise _invalid(
            f"installing the UDF's dependencies took longer than {_BUILD_SECONDS} s"
        ) from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        detail = " ".join(lines[-6:])[:1500]
        raise _invalid(f"the UDF's dependencies cannot be installed: {detail}")
    return done.stdout


def environment(dependencies: list[str], root: Path) -> Path | None:
    """The directory holding what ``dependencies`` need beyond the server (built once), or
    None when nothing is declared."""
    if not dependencies:
        return None
    pins = _server_pins()
    key_source = json.dumps([sys.version, sorted(pins.items()), dependencies])
    key = hashlib.sha256(key_source.encode()).hexdigest()[:24]
    target = root / key
    if (target / ".complete").exists():
        return target
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    cache = root / ".uv-cache"
    with tempfile.TemporaryDirectory(prefix=f".build-{key}-", dir=root) as tmp:
        work = Path(tmp)
        (work / "requirements.in").write_text("\n".join(dependencies) + "\n")
        (work / "constraints.txt").write_text(
            "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))
        )
        python = ["--python", sys.executable, "--no-build", "--quiet"]
        resolved = _run_uv(
            [
                *("pip", "compile", str(work / "requirements.in")),
                *("-c", str(work / "constraints.txt"), "--no-header", "--no-annotate"),
                *python,
            ],
            cache,
        )
        missing = [
            line.strip()
            for line in resolved.splitlines()
            if line.strip() and not line.startswith("#")
            if canonicalize_name(re.split(r"[=<>!~; \[]", line.strip())[0]) not in pins
        ]
        site = work / "site"
        site.mkdir()
        if missing:
            (work / "install.txt").write_text("\n".join(missing) + "\n")
            _run_uv(
                [
                    *("pip", "install", "--target", str(site), "--no-deps"),
                    *python,
                    *("-r", str(work / "install.txt")),
                ],
                cache,
            )
        (site / ".complete").write_text(
            json.dumps({"dependencies": dependencies, "installed": missing})
        )
        for path in [site, *site.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            site.rename(target)
        except OSError:  # another run built the same set meanwhile
            if not (target / ".complete").exists():
                raise
    return target
