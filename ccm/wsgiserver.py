"""A WSGI app served by waitress, a multi-threaded production server, from a background thread.

The REST API and the GitHub sandbox both run this way, so that ``ccm serve`` hosts the API next
to its watcher, and tests host a sandbox next to the code under test.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import waitress
from waitress import wasyncore
from waitress.server import BaseWSGIServer

logger = logging.getLogger(__name__)


class BackgroundServer:
    """One waitress server bound to ``host:port`` (``port=0`` picks a free port)."""

    def __init__(self, app: Any, *, name: str, host: str, port: int, threads: int, **options: Any) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._create = lambda: waitress.create_server(app, host=host, port=port, threads=threads, **options)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:8000``; valid once started."""
        if self._server is None:
            raise RuntimeError(f"The {self.name} server has no URL until it is started.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind the socket and serve in a background thread; raises OSError if the port is taken."""
        if self._server is not None:
            raise RuntimeError(f"The {self.name} server is already serving {self.url}.")
        server = self._create()
        if not isinstance(server, BaseWSGIServer):
            server.close()
            raise ValueError(
                f"The {self.name} host {self.host!r} resolves to several addresses; "
                "give one address, such as 127.0.0.1."
            )
        self.port = server.effective_port
        self._server = server
        self._thread = threading.Thread(target=server.run, name=f"ccm-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the sockets, let requests in progress finish, and wait for the thread."""
        if self._server is None or self._thread is None:
            return
        server = self._server
        try:
            # Close the listening socket and every connection inside the server's own loop
            # thread (the trigger runs the function there), so that no socket is closed under a
            # poll() in progress. The loop ends once it has no sockets left.
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            # The trigger's pipe is closed already, so the loop has stopped on its own (every
            # socket closed); close whatever is left from this thread.
            wasyncore.close_all(server._map)
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        if self._thread.is_alive():
            logger.warning("The %s server thread did not stop within 10 s; leaving it as a daemon thread.", self.name)
        self._server = None
        self._thread = None
