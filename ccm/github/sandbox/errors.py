"""The error response of a simulated GitHub endpoint."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class GitHubError(Exception):
    """An error status and message as GitHub would send them, with the documentation link."""

    def __init__(self, status: int, message: str, documentation_url: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "documentation_url": self.documentation_url,
            "status": str(self.status),
        }


def not_found(documentation_url: str = DOCS) -> GitHubError:
    return GitHubError(404, "Not Found", documentation_url)
