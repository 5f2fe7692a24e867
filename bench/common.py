"""What every benchmark shares: sizes, interleaved timing, and the shape of a result."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Config",
    "Section",
    "Target",
    "Timing",
    "machine",
    "ratio",
    "ratio_target",
    "time_interleaved",
]


@dataclass(frozen=True)
class Config:
    """Sizes and repetitions; ``Config.quick()`` is the smoke run."""

    quick: bool = False
    iterate_n: int = 10_000
    iterate_reps: int = 7
    counts_n: int = 1_000
    bulk_k_counts: int = 150
    hydrate_n: int = 10_000
    hydrate_reps: int = 5
    memory_n: int = 50_000
    latency: float = 0.02
    latency_n: int = 5_000
    latency_reps: int = 5
    bulk_n: int = 500
    bulk_reps: int = 2
    requests_m: int = 300
    requests_reps: int = 7
    import_reps: int = 7

    @classmethod
    def full(cls) -> Config:
        return cls()

    @classmethod
    def quick_run(cls) -> Config:
        return cls(
            quick=True,
            iterate_n=2_000,
            iterate_reps=3,
            counts_n=300,
            bulk_k_counts=150,
            hydrate_n=2_000,
            hydrate_reps=3,
            memory_n=10_000,
            latency_n=1_000,
            latency_reps=1,
            bulk_n=100,
            bulk_reps=1,
            requests_m=100,
            requests_reps=3,
            import_reps=2,
        )


@dataclass(frozen=True)
class Timing:
    """Wall and CPU seconds of each repetition (after the warm-up)."""

    wall: tuple[float, ...]
    cpu: tuple[float, ...]
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def min(self) -> float:
        return min(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def cpu_min(self) -> float:
        return min(self.cpu)


def time_interleaved(
    contenders: dict[str, Callable[[], Any]], reps: int, warmup: int = 1
) -> dict[str, Timing]:
    """Run each contender ``warmup + reps`` times, round-robin, so drift hits all alike.

    ``Timing.result`` keeps the last run's result, or its ``len()``: holding every
    contender's rows would make the collector walk them during the others' runs.
    ``gc.collect()`` runs before each run; the collector stays enabled (a real script has it
    on).
    """
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    results: dict[str, Any] = {}
    for round_number in range(warmup + reps):
        for name, fn in contenders.items():
            gc.collect()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            result = fn()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            results[name] = len(result) if isinstance(result, (list, tuple)) else result
            del result
            if round_number >= warmup:
                walls[name].append(wall)
                cpus[name].append(cpu)
    return {
        name: Timing(tuple(walls[name]), tuple(cpus[name]), results[name]) for name in contenders
    }


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


@dataclass(frozen=True)
class Target:
    """One claim of the issue, and whether this run bears it out.

    ``measured`` is the value the verdict is taken on (a median), ``minimum`` the same figure
    on the minima of the repetitions, ``limit`` the target (``"<= 1.15x"``).
    """

    claim: str
    measured: str
    held: bool
    note: str = ""
    goal: str = ""  # short forms for the README table and the chart
    result: str = ""
    limit: str = ""
    minimum: str = ""


def ratio_target(
    claim: str,
    goal: str,
    ours: Timing,
    base: Timing,
    limit: float,
    *,
    cpu: bool = True,
    note: str = "",
    at_most: bool = True,
) -> Target:
    """``ours / base`` (client CPU, or wall time) against ``limit``: median decides, min shown."""
    if cpu:
        med, low = ratio(ours.cpu_median, base.cpu_median), ratio(ours.cpu_min, base.cpu_min)
    else:
        med, low = ratio(ours.median, base.median), ratio(ours.min, base.min)
    held = med <= limit if at_most else med >= limit
    sign = "<=" if at_most else ">="
    return Target(
        claim,
        f"{med:.2f}x",
        held,
        note=note,
        goal=goal,
        result=f"{med:.2f}x",
        limit=f"{sign} {limit:g}x",
        minimum=f"{low:.2f}x",
    )


@dataclass
class Section:
    """One benchmark's outcome: a table, its targets, and what the chart shows of it."""

    key: str
    title: str
    method: str
    columns: list[str]
    rows: list[list[str]]
    targets: list[Target] = field(default_factory=list)
    chart: list[tuple[str, float]] = field(default_factory=list)
    chart_unit: str = ""
    seconds: float = 0.0


def machine() -> dict[str, str]:
    """CPU model, cores, memory, OS and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import requests

    from freshbooks_orm import __version__

    try:
        from importlib.metadata import version

        sdk = version("freshbooks-sdk")
    except Exception:  # the SDK is optional; the benchmark says so when it is missing
        sdk = "not installed"
    try:
        load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "load average unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "load": load,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "freshbooks_orm": __version__,
        "requests": requests.__version__,
        "freshbooks-sdk": sdk,
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:,.1f} ms"
