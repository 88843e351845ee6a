"""Where servers run: the locations, backfilling servers (not enabled here) and the VMware
servers of the account's VMware organisation."""

from __future__ import annotations

from . import fields
from .errors import permission
from .kernel import Account, Collection, new_uuid


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


class VmwareServers(Collection):
    """``/vmware_servers/`` (beta): VMware servers of the account's VMware organisation.

    The API only lists them: they are made in VMware, not through this API. The emulator adds
    them through :meth:`add` (``emu.add_vmware_server``, ``POST /_emulator/vmware_servers/``).
    """

    name = "vmware_servers"
    operations = {"list": 200, "get": 200}

    def add(self, account: Account, values: dict) -> dict:
        """Store a VMware server checked against the schema's required fields.

        :raises ApiError: 400 ``validation`` naming a missing or mistyped field.
        """
        uuid = new_uuid()
        server = {
            "cores_per_socket": fields.integer(values, "cores_per_socket", minimum=1),
            "cpus": fields.integer(values, "cpus", minimum=1),
            "deployed": fields.boolean(values, "deployed"),
            "description": fields.text(values, "description"),
            "enabled": fields.boolean(values, "enabled"),
            "memory": fields.integer(values, "memory", minimum=1),
            "name": fields.text(values, "name", None),
            "powered": fields.boolean(values, "powered", False),
            "organisation": fields.text(values, "organisation", account.uuid),
            "disk": fields.sequence(values, "disk", []),
            "media": fields.sequence(values, "media", []),
            "nics": fields.sequence(values, "nics", []),
            "resource_uri": self.uri(uuid),
            "uuid": uuid,
        }
        self.store(account)[uuid] = server
        self.backend.register(self.name, uuid, account)
        return server
