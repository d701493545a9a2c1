"""Progress reporting for ``kashaf index``: a live bar on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


class Progress:
    """Callable ``(done, total)``: redraws at most 5×/s on a TTY, logs every 10 % otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.logged = -1

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        rate = done / max(now - self.start, 1e-6)
        eta = (total - done) / rate if rate else 0.0
        if self.tty:
            if now - self.last < 0.2 and done < total:
                return
            self.last = now
            width = 30
            filled = int(width * done / max(total, 1))
            bar = "█" * filled + "·" * (width - filled)
            line = f"\r{bar} {done}/{total} docs  {rate:,.0f} docs/s  ETA {_fmt(eta)}"
            self.stream.write(line + ("\n" if done >= total else ""))
            self.stream.flush()
        else:
            step = done * 10 // max(total, 1)
            if step != self.logged:
                self.logged = step
                self.stream.write(f"indexed {done}/{total} docs ({rate:,.0f} docs/s, ETA {_fmt(eta)})\n")
                self.stream.flush()
