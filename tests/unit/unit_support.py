"""Constants and small helpers shared by the unit tests."""

from __future__ import annotations

API = "https://api.test/api/2.0/"
USERNAME = "user@example.com"
PASSWORD = "s3cret-Passw0rd"
