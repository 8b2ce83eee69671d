"""The REST API that VPS Manager calls: routes, token auth with roles, the OpenAPI document.

``create_app(manager, monitor, tokens)`` builds the WSGI app; ``PipelineAPI`` serves it with
waitress in a background thread.
"""

from ccm.api.app import create_app
from ccm.api.server import PipelineAPI

__all__ = ["PipelineAPI", "create_app"]
