"""The sandbox server: the WSGI app on a real multi-threaded HTTP server, in a background thread."""

from __future__ import annotations

import logging
from types import TracebackType

from ccm.github.sandbox.app import build_app
from ccm.github.sandbox.world import SandboxWorld
from ccm.wsgiserver import BackgroundServer

logger = logging.getLogger(__name__)

# Worker threads. Requests beyond this many at once wait in waitress's queue; they do not fail.
THREADS = 16


class SandboxServer:
    """Serves a world over HTTP on ``host``; ``port=0`` picks a free port, read it from ``url``."""

    def __init__(self, world: SandboxWorld, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = world
        self._server = BackgroundServer(build_app(world), name="sandbox", host=host, port=port, threads=THREADS)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:8765``; valid once started."""
        return self._server.url

    def start(self) -> SandboxServer:
        self.world.faults.allow_holds()
        self._server.start()
        logger.info("GitHub sandbox serving %s", self.url)
        return self

    def stop(self) -> None:
        """Release held requests, close the sockets, wait for the thread, and save a persisted world."""
        if not self._server.running:
            return
        self.world.faults.release_holds()
        self._server.stop()
        self.world.save()
        logger.info("GitHub sandbox stopped")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
