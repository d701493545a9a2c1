"""How many workers this machine runs, from its cores and its memory (web/gunicorn.conf.py).

Searching is CPU-bound Python run one request at a time per worker (web/worker.py), so
more workers than cores only queue for the same CPUs; one more than the cores keeps a
core busy while another worker waits on the disk. Each worker also costs memory, so
the count is capped by what the machine (or the container's cgroup limit) can give
them, leaving the other half of the memory to the page cache, which holds the index
files all workers share. ``KASHAF_WORKERS`` overrides the result; ``KASHAF_WORKER_MB``
is the memory planned per worker.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

WORKER_MB = 300  # planned resident memory of one worker (docs/serving.md, "Memory")
MAX_WORKERS = 8
MEMORY_SHARE = 0.5  # of the machine's memory, for the workers; the rest is the page cache's


def default_workers(cores: int, memory_bytes: int | None, worker_mb: int = WORKER_MB) -> int:
    """Workers for ``cores`` CPUs and ``memory_bytes`` of memory (``None``: unknown).

    >>> default_workers(2, 24 << 30)   # this project's 2-core, 24 GiB machine
    3
    >>> default_workers(16, 24 << 30)  # many cores: capped
    8
    >>> default_workers(4, 1 << 30)    # 1 GiB: what fits beside the page cache
    1
    """
    by_cpu = min(max(1, cores) + 1, MAX_WORKERS)
    if not memory_bytes:
        return by_cpu
    by_memory = int(memory_bytes * MEMORY_SHARE) // (max(1, worker_mb) << 20)
    return max(1, min(by_cpu, by_memory))


def machine_memory() -> int | None:
    """Bytes of memory this process may use: the cgroup limit if one is set, else the RAM."""
    limit = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(path).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 1 << 60:  # "max" or a huge number: no limit
            limit = int(raw)
            break
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        ram = None
    if limit and ram:
        return min(limit, ram)
    return limit or ram


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under ``taskset`` or a container)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_from_env(environ: dict[str, str] | None = None) -> int:
    """``KASHAF_WORKERS`` if set, else :func:`default_workers` for this machine."""
    env = os.environ if environ is None else environ
    raw = (env.get("KASHAF_WORKERS") or "").strip()
    if raw:
        return int(raw)
    worker_mb = int((env.get("KASHAF_WORKER_MB") or "").strip() or WORKER_MB)
    return default_workers(cpu_count(), machine_memory(), worker_mb)


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def one_malloc_arena() -> bool:
    """Make glibc's malloc keep a single arena in this process (``mallopt(M_ARENA_MAX, 1)``);
    ``False`` where that is not glibc. Called in each worker before its threads start.

    A worker serves requests on 32 threads, one search at a time (web/worker.py), and glibc
    gives threads arenas of their own: each keeps what its requests freed (a query's
    collection-sized vectors), so a worker's private memory grew with the threads that had
    served a search. Measured with one gunicorn worker after 400 searches on a 300,000-
    document index: 258 MB of anonymous memory, 196 MB with one arena, at the same CPU per
    request; the searches never ran concurrently, so the arenas saved no lock waits.
    """
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def release_free_memory() -> bool:
    """Give the memory malloc holds free back to the kernel (glibc's ``malloc_trim(0)``);
    ``False`` where that is not glibc or nothing was released. Called by gunicorn's master
    after it warmed the index, before it forks workers.

    The warm-up searches free collection-sized vectors, and glibc keeps their chunks in its
    heap (its mmap threshold rises to the size of the largest freed one). A worker forked
    then reuses those chunks for its own vectors: ``numpy.zeros`` clears them, and every page
    it clears is a copy-on-write copy of the master's. At a million documents that made a
    fresh worker's first search cost 274 CPU ms instead of 46 (14 ``numpy.zeros``: 175 ms).
    Trimmed, the pages are gone from the master and a worker's first writes get fresh zero
    pages: 73 CPU ms, and the same 46 ms per search afterwards (``benchmarks/`` notes in
    README, "Measured").
    """
    try:
        return bool(ctypes.CDLL(None).malloc_trim(0))
    except (OSError, AttributeError):
        return False
