"""The CloudSigma locations and their endpoints, for ``--location CODE``.

Taken from the API's own ``GET /locations/`` answer: every location serves its API at
``https://HOST/api/2.0/`` and its websocket at ``wss://direct.HOST/websocket``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LOCATIONS", "Location", "find_location"]


@dataclass(frozen=True)
class Location:
    """One location: its code (``zrh``), where it is, and the host of its API."""

    code: str
    display_name: str
    host: str

    @property
    def api_endpoint(self) -> str:
        return f"https://{self.host}/api/2.0/"

    @property
    def ws_endpoint(self) -> str:
        return f"wss://direct.{self.host}/websocket"


LOCATIONS: dict[str, Location] = {
    location.code: location
    for location in (
        Location("zrh", "Zurich, Switzerland", "zrh.cloudsigma.com"),
        Location("gva", "Geneva, Switzerland", "gva.cloudsigma.com"),
        Location("fra", "Frankfurt, Germany", "fra.cloudsigma.com"),
        Location("dus", "Dusseldorf, Germany", "dus.cloudsigma.com"),
        Location("dub", "Dublin, Ireland", "ec.servecentric.com"),
        Location("cwl", "Newport, Wales", "cwl.cloudsigma.com"),
        Location("lla", "Boden, Sweden", "cloud.hydro66.com"),
        Location("adb", "Izmir, Turkey", "siaflex.cloud"),
        Location("ruh", "Riyadh, Saudi Arabia", "ruh.cld.v2.sa"),
        Location("per", "Perth, Australia", "per.cloudsigma.com"),
        Location("tyo", "Tokyo, Japan", "tyo.cloudsigma.com"),
        Location("crk", "Clark, Philippines", "crk.cloudsigma.com"),
        Location("mnl", "Manila, Philippines", "mnl.cloudsigma.com"),
        Location("mnl2", "Manila-2, Philippines", "mnl2.cloudsigma.com"),
        Location("hnl", "Honolulu, United States", "hnl.cloudsigma.com"),
        Location("wdc", "Washington DC, United States", "wdc.alpha3cloud.com"),
        Location("mty", "Monterrey, Mexico", "mty.stratospherecloud.com"),
    )
}


def find_location(code: str) -> Location | None:
    """The location with this code (any case), or None."""
    return LOCATIONS.get(code.strip().lower())
