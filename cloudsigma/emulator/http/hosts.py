"""The two hosts of a location: the API host and the direct host (raw upload, downloads and
the websocket), and the signed links by which the API host hands a download to the direct
host without passing credentials on.

One listener may serve every role (the default); with a direct listener of its own, the API
host answers a download with a redirect to a signed link, and in strict mode each host
refuses what belongs to the other, naming the right one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from aiohttp import web

from ..models.errors import ApiError, permission, validation

ROLE = web.AppKey("role", str)
#: One listener for everything.
ALL = "all"
#: ``{loc}.cloudsigma.com``: the API.
API_HOST = "api"
#: ``direct.{loc}.cloudsigma.com``: raw upload, downloads, the websocket.
DIRECT_HOST = "direct"

#: Handlers that belong to the direct host.
DIRECT_HANDLERS = frozenset({"simple_upload", "download", "signed_download"})
#: Seconds a signed download link works.
LINK_LIFETIME = 300


class HostRoles:
    """Which host serves what, and the signed download links between them.

    :ivar api_url: the API host's base URL (``http://127.0.0.1:PORT``), once listening.
    :ivar direct_url: the direct host's base URL; the same as ``api_url`` when one
        listener serves every role.
    """

    def __init__(self) -> None:
        self.api_url: str | None = None
        self.direct_url: str | None = None
        self._key = secrets.token_bytes(32)

    @property
    def split(self) -> bool:
        """Whether the direct host listens apart from the API host."""
        return self.direct_url is not None and self.direct_url != self.api_url

    def refusal(self, role: str, handler: str, strict: bool) -> ApiError | None:
        """The error for a request sent to the wrong host (strict mode only), else None."""
        if not strict or role == ALL:
            return None
        if role == API_HOST and handler == "simple_upload":
            return validation(
                "the raw upload is served by the direct host, not the API host: send it to "
                f"{self.direct_url}/api/2.0/drives/upload/ (the location's upload_url)"
            )
        if role == DIRECT_HOST and handler not in DIRECT_HANDLERS:
            return validation(
                "the direct host serves raw uploads, downloads and the websocket only; send "
                f"API calls to {self.api_url}/api/2.0/ (the location's api_endpoint)"
            )
        return None

    def websocket_refusal(self, role: str, strict: bool) -> ApiError | None:
        """The error for a websocket opened on the API host in strict mode, else None."""
        if strict and role == API_HOST:
            return validation(
                f"the websocket is served by the direct host: connect to "
                f"{(self.direct_url or '').replace('http', 'ws', 1)}/websocket"
            )
        return None

    # signed links -------------------------------------------------------------
    def _signature(self, account_uuid: str, drive_uuid: str, expires: int) -> str:
        message = f"{account_uuid}:{drive_uuid}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def download_link(self, account_uuid: str, drive_uuid: str) -> str:
        """A link on the direct host that downloads the drive without credentials."""
        expires = int(time.time()) + LINK_LIFETIME
        token = f"{account_uuid}.{expires}.{self._signature(account_uuid, drive_uuid, expires)}"
        return f"{self.direct_url}/api/2.0/drives/{drive_uuid}/download/{token}/"

    def redirect_download(self, account_uuid: str, drive_uuid: str) -> web.Response:
        """302 to the signed link (an empty body, typed as the API types its empty answers)."""
        link = self.download_link(account_uuid, drive_uuid)
        return web.Response(
            status=302, headers={"Location": link}, content_type="text/html", charset="utf-8"
        )

    def account_of_link(self, drive_uuid: str, token: str) -> str:
        """The account uuid a signed link was made for.

        :raises ApiError: 403 for a link that is forged, for another drive, or expired.
        """
        account_uuid, _, rest = token.partition(".")
        expires_text, _, signature = rest.partition(".")
        expires = int(expires_text) if expires_text.isdigit() else 0
        expected = self._signature(account_uuid, drive_uuid, expires)
        if not secrets.compare_digest(signature.encode(), expected.encode()):
            raise permission("this download link is not valid for this drive")
        if time.time() > expires:
            raise permission("this download link has expired; ask the API host for a new one")
        return account_uuid
