"""Where servers run: the locations, and backfilling servers (not enabled here)."""

from __future__ import annotations

from .errors import permission
from .kernel import Account, Collection


class Locations(Collection):
    """``/locations/``: one location, this emulator."""

    name = "locations"
    operations = {"list": 200, "get": 200}

    def store(self, account: Account | None) -> dict[str, dict]:
        base, direct = self.backend.base_url, self.backend.direct_url
        location = {
            "id": "EMU",
            "display_name": "Local emulator",
            "country_code": "CH",
            "api_endpoint": f"{base}/api/2.0/",
            "upload_url": f"{direct}/api/2.0/",
            "websocket_url": f"{direct.replace('http', 'ws', 1)}/websocket",
            "default_frontend_url": f"{base}/ui/",
            "alternative_frontend_url": f"{base}/ui/",
            "default_frontend_signup_url": f"{base}/ui/",
            "documentation_url": "https://docs.cloudsigma.com",
        }
        return {"EMU": location}


class BServers(Collection):
    """``/bservers/``: backfilling servers need a feature this emulator does not offer."""

    name = "bservers"

    def visible(self, account: Account) -> list[dict]:
        raise permission("backfilling servers are not enabled for this account")

    def find(self, account: Account, uuid: str, need: str = "LIST") -> dict:
        raise permission("backfilling servers are not enabled for this account")

    def prepare(self, account: Account, values: dict) -> dict:
        raise permission("backfilling servers are not enabled for this account")
