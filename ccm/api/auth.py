"""Token authentication and role checks of the REST API.

Callers send their token in the ``CCM-Token`` header. A request is authenticated and authorized
from its headers alone, before any of its body is read or parsed: 401 when the token is
missing or unknown, 403 when the token's role lacks the route's permission.
"""

from __future__ import annotations

import logging

from bottle import BaseRequest

from ccm.api.errors import ApiError, ErrorCode
from ccm.tokens import ROLE_PERMISSIONS, Permission, TokenRecord, TokenStore

logger = logging.getLogger(__name__)

TOKEN_HEADER = "CCM-Token"

_PERMISSION_WORDS = {
    Permission.READ: "read pipelines",
    Permission.WRITE: "provision, tear down or trigger pipelines",
}


def authorize(tokens: TokenStore, request: BaseRequest, permission: Permission) -> TokenRecord:
    """Return the caller's token record, or raise the 401 or 403 ``ApiError``."""
    presented = request.get_header(TOKEN_HEADER)
    if not presented:
        raise ApiError(
            401,
            ErrorCode.MISSING_TOKEN,
            f"The request has no {TOKEN_HEADER} header. Send the API token in it; an "
            "administrator creates one with `ccm token create --role api --name NAME`.",
        )
    record = tokens.authenticate(presented)
    if record is None:
        logger.info("Rejected a request from %s with an unknown token", request.remote_addr)
        raise ApiError(
            401,
            ErrorCode.INVALID_TOKEN,
            f"The {TOKEN_HEADER} header contains no valid token: it is unknown or was revoked. "
            "Check the token, or ask an administrator for a new one.",
        )
    if not record.allows(permission):
        allowed = sorted(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
        raise ApiError(
            403,
            ErrorCode.FORBIDDEN,
            f"The token {record.name!r} has the role {record.role.value}, which may not "
            f"{_PERMISSION_WORDS[permission]}. Use a token with one of the roles "
            f"{', '.join(allowed)}.",
        )
    return record
