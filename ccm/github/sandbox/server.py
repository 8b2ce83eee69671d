"""The sandbox server: the WSGI app on a real multi-threaded HTTP server, in a background thread."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

import waitress
from waitress import wasyncore
from waitress.server import BaseWSGIServer

from ccm.github.sandbox.app import build_app
from ccm.github.sandbox.world import SandboxWorld

logger = logging.getLogger(__name__)

# Worker threads. Requests beyond this many at once wait in waitress's queue; they do not fail.
THREADS = 16


class SandboxServer:
    """Serves a world over HTTP on ``host``; ``port=0`` picks a free port, read it from ``url``."""

    def __init__(self, world: SandboxWorld, host: str = "127.0.0.1", port: int = 0) -> None:
        self.world = world
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:8765``; valid once started."""
        if self._server is None:
            raise RuntimeError("The sandbox server has no URL until start() is called.")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        if self._server is not None:
            raise RuntimeError(f"The sandbox server is already serving {self.url}.")
        self.world.faults.allow_holds()
        server = waitress.create_server(
            build_app(self.world), host=self.host, port=self.port, threads=THREADS
        )
        if not isinstance(server, BaseWSGIServer):
            server.close()
            raise ValueError(
                f"The sandbox host {self.host!r} resolves to several addresses; "
                "give one address, such as 127.0.0.1."
            )
        self.port = server.effective_port
        self._server = server
        self._thread = threading.Thread(target=server.run, name="ccm-sandbox", daemon=True)
        self._thread.start()
        logger.info("GitHub sandbox serving %s", self.url)
        return self

    def stop(self) -> None:
        """Release held requests, close the sockets, wait for the thread, and save a persisted world."""
        if self._server is None or self._thread is None:
            return
        self.world.faults.release_holds()
        server = self._server
        # Close the listening socket and every open connection inside the server's own loop
        # thread (the trigger runs the function there), so that no socket is closed under a
        # poll() in progress. The loop ends once it has no sockets left.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            # The trigger's pipe is closed already, so the loop has stopped on its own (every
            # socket closed); close whatever is left from this thread.
            wasyncore.close_all(server._map)
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        if self._thread.is_alive():
            logger.warning(
                "The sandbox server thread did not stop within 10 s; leaving it as a daemon thread."
            )
        self._server = None
        self._thread = None
        self.world.save()
        logger.info("GitHub sandbox stopped")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
