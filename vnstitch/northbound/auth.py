"""The REST API's bearer token: from the environment, the config, or generated at start.

Order: ``VNSTITCH_API_TOKEN`` in the environment, else ``[api] token`` in the config, else the
token stored in ``[api] token_file`` (created with a fresh random token, mode 0600, when
absent). Calls that change state always need it; read-only calls too unless
``[api] open_reads = true``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ENV_TOKEN = "VNSTITCH_API_TOKEN"
DEFAULT_TOKEN_FILE = Path.home() / ".local" / "state" / "vnstitch" / "api-token"


@dataclass(frozen=True)
class ApiToken:
    """The token and where it came from (for the start-up log line)."""

    value: str
    source: str

    def check(self, header: str | None) -> int | None:
        """None if ``Authorization`` carries this token; else the HTTP status (401/403)."""
        if not header:
            return 401
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return 401
        if not hmac.compare_digest(presented.strip().encode(), self.value.encode()):
            return 403
        return None


def load_or_create_token(configured: str | None, token_file: Path | None) -> ApiToken:
    """Resolve the API token, generating and storing one if nothing is configured."""
    env = os.environ.get(ENV_TOKEN)
    if env:
        return ApiToken(env, f"environment variable {ENV_TOKEN}")
    if configured:
        return ApiToken(configured, "the config file ([api] token)")
    path = token_file or DEFAULT_TOKEN_FILE
    try:
        text = path.read_text().strip()
        if text:
            return ApiToken(text, f"token file {path}")
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return ApiToken(value, f"generated at start, stored in {path} (owner-only)")
