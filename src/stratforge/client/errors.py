"""What a failed request raises: the API's own detail, with its field paths and hints."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the server refused or could not serve.

    ``detail`` is the API's ``detail`` as sent: for a 422 a list of ``{loc, msg, type}``
    problems, each naming the field (``body.strategy.name``) and saying how to fix it
    (the registry's "did you mean" hint included); otherwise a sentence. ``str()`` gives
    one line per problem, so printing the error is enough for a person or an agent.
    """

    def __init__(self, status_code: int, detail: Any, *, method: str = "", url: str = "") -> None:
        self.status_code = status_code
        self.detail = detail
        self.method = method
        self.url = url
        super().__init__(self.describe())

    @property
    def problems(self) -> list[tuple[str, str]]:
        """(dotted field path, message) for each problem; the path is "" when none."""
        if isinstance(self.detail, list):
            return [_problem(item) for item in self.detail]
        return [("", str(self.detail))]

    @property
    def fields(self) -> list[str]:
        """The dotted paths of the fields at fault (``body.strategy.name``)."""
        return [path for path, _ in self.problems if path]

    def describe(self) -> str:
        lines = [f"{path}: {message}" if path else message for path, message in self.problems]
        return "\n".join(lines) or f"HTTP {self.status_code}"


class AuthError(ApiError):
    """401: the server wants an API key (``STRATFORGE_API_KEY``) and got none or another."""


class NotFound(ApiError):
    """404: no such job, dataset, plugin or market."""


class ServerUnavailable(ApiError):
    """No server answered at the client's URL (refused, unreachable, timed out)."""


def _problem(item: Any) -> tuple[str, str]:
    if not isinstance(item, dict):
        return "", str(item)
    loc = item.get("loc") or ()
    return ".".join(str(part) for part in loc), str(item.get("msg", ""))


def error_for(status_code: int, detail: Any, *, method: str = "", url: str = "") -> ApiError:
    """The most specific error class for a status."""
    cls = {401: AuthError, 403: AuthError, 404: NotFound}.get(status_code, ApiError)
    return cls(status_code, detail, method=method, url=url)
