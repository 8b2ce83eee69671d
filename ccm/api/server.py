"""``PipelineAPI``: the REST API on waitress, a multi-threaded production WSGI server.

The server runs in a background thread, so ``ccm api`` runs it in the foreground and ``ccm
serve`` next to the watcher in the same process. It binds to 127.0.0.1 unless configured otherwise, so
put a TLS-terminating proxy in front of it before exposing it beyond the host.
"""

from __future__ import annotations

import logging
from types import TracebackType

from ccm.api.app import create_app
from ccm.manager import PipelineManager
from ccm.monitor.service import PipelineMonitor
from ccm.tokens import TokenStore
from ccm.wsgiserver import BackgroundServer

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Provisions wait for a reconcile pass (GitHub round trips), so reads get threads of their own.
DEFAULT_THREADS = 16
# Waitress buffers a whole request body before calling the app. Past this size waitress itself
# responds 413 in plain text, and the app's own JSON 413 covers bodies between 64 KiB and this.
WAITRESS_MAX_BODY_BYTES = 1024 * 1024


class PipelineAPI:
    """The REST API served on ``host:port``; ``port=0`` picks a free port, read it from ``url``."""

    def __init__(
        self,
        manager: PipelineManager,
        monitor: PipelineMonitor,
        tokens: TokenStore,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        self.app = create_app(manager, monitor, tokens)
        self.threads = threads
        self._server = BackgroundServer(
            self.app,
            name="API",
            host=host,
            port=port,
            threads=threads,
            max_request_body_size=WAITRESS_MAX_BODY_BYTES,
            ident="ccm",
        )

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:8000``; valid once started."""
        return self._server.url

    def start(self) -> PipelineAPI:
        """Bind the socket and serve in a background thread; raises OSError if the port is taken."""
        self._server.start()
        logger.info("API serving %s with %d threads", self.url, self.threads)
        return self

    def stop(self) -> None:
        """Close the sockets, let requests in progress finish, and wait for the thread."""
        if self._server.running:
            self._server.stop()
            logger.info("API stopped")

    def __enter__(self) -> PipelineAPI:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
