"""``kashaf serve``: the production stack (gunicorn + web/gunicorn.conf.py) for local use.

The same server as in production rather than Flask's development server: no
debugger can ever be switched on, and what you try locally is what you deploy.
Binds 127.0.0.1 by default.
"""

from __future__ import annotations

import os
from pathlib import Path

from gunicorn.app.base import Application

CONFIG = Path(__file__).with_name("gunicorn.conf.py")


class _Server(Application):
    # load_config() below replaces Application's command-line parsing.
    def __init__(self, index_dir: Path, options: dict) -> None:
        self.index_dir = index_dir
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        self.load_config_from_file(str(CONFIG))
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from web import create_app

        return create_app(self.index_dir)


def serve(index_dir: Path, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> None:
    """Serve the index in ``index_dir`` on ``host:port`` until interrupted (Ctrl-C)."""
    index_dir = Path(index_dir).resolve()
    os.environ["KASHAF_INDEX"] = str(index_dir)  # the config and any re-exec see the same index
    options: dict = {"bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]}
    if workers is not None:
        options["workers"] = workers
    _Server(index_dir, options).run()
