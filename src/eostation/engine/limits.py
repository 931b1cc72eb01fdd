"""What a graph run may do and use: :class:`EngineLimits`, built once from ``Settings``.

Every evaluation carries one (``EvalContext.limits``, a required field), so no process
reads a limit from a free-form bag with a permissive fallback. The defaults deny: a
context built without settings has UDFs off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eostation.outbound import OutboundPolicy

if TYPE_CHECKING:
    from eostation.config import Settings

__all__ = ["EngineLimits"]


@dataclass(frozen=True)
class EngineLimits:
    """Limits of one graph run (see ``docs/security.md``).

    ``udf_enabled``: whether the setting lets ``run_udf`` run user code (it also needs its
    sandbox, checked on first use); ``udf_timeout_seconds``: wall
    time of one UDF process (its whole process group is killed then);
    ``udf_cpu_seconds`` / ``udf_memory_mb`` / ``udf_max_processes``: rlimits of the UDF
    process; ``udf_exchange_mb``: most a UDF worker may hold in its exchange folder
    (None: an eighth of the free space there); ``udf_hidden_paths``: what a UDF process must not see (the data directory and
    the database file); ``udf_env_dir``: where environments for the dependencies UDFs
    declare are built (None: UDFs cannot declare dependencies); ``outbound``: which hosts server-side requests may reach
    (:mod:`eostation.outbound`; by default no internal one); ``load_url_max_bytes``: largest ``load_url`` download; ``graph_max_nodes``:
    nodes of a graph counted over all callbacks; ``graph_max_depth``: nesting levels
    (callbacks, arrays and objects in arguments); ``graph_max_evaluations``: node runs of
    one evaluation, counting every callback call and user-defined process call.
    """

    udf_enabled: bool = False
    udf_timeout_seconds: float = 60.0
    udf_cpu_seconds: int = 60
    udf_memory_mb: int = 4096
    udf_max_processes: int = 16
    udf_exchange_mb: int | None = None
    load_url_max_bytes: int = 2 * 1024**3
    graph_max_nodes: int = 10_000
    graph_max_depth: int = 100
    graph_max_evaluations: int = 1_000_000
    udf_hidden_paths: tuple[str, ...] = ()
    udf_env_dir: str | None = None
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)

    @classmethod
    def from_settings(cls, settings: Settings, *, accounts: int = 1) -> EngineLimits:
        """The limits the configuration sets.

        ``udf_enabled`` is what the setting allows (``accounts`` no longer matters: the
        sandbox separates users); ``run_udf`` also checks that the sandbox can be built.
        """
        limits = settings.limits
        return cls(
            udf_enabled=settings.udf_enabled(),
            udf_timeout_seconds=limits.udf_timeout_seconds,
            udf_cpu_seconds=limits.udf_cpu_seconds,
            udf_memory_mb=limits.udf_memory_mb,
            udf_max_processes=limits.udf_max_processes,
            udf_exchange_mb=limits.udf_exchange_mb,
            load_url_max_bytes=limits.load_url_max_bytes,
            graph_max_nodes=limits.graph_max_nodes,
            graph_max_depth=limits.graph_max_depth,
            graph_max_evaluations=limits.graph_max_evaluations,
            udf_hidden_paths=_server_paths(settings),
            udf_env_dir=str(settings.data_dir / "udf-envs"),
            outbound=OutboundPolicy.from_settings(settings),
        )


def _server_paths(settings: Settings) -> tuple[str, ...]:
    paths = [str(settings.data_dir)]
    if settings.db_url.startswith("sqlite:///"):
        paths.append(settings.db_url.removeprefix("sqlite:///"))
    return tuple(dict.fromkeys(paths))
