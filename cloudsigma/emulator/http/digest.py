"""HTTP Digest authentication as the API offers it (RFC 7616 with MD5 and ``qop=auth``).

The server hands out nonces in its 401 challenges and checks each answer: the response
hash over the account's password, a nonce it issued and has not expired, a nonce count
that only grows (a replayed request is refused) and a ``uri`` that is the request's own.
"""

from __future__ import annotations

import collections
import hashlib
import secrets
import time
import urllib.request

#: The realm of every challenge (the Basic one too).
REALM = "CloudSigma"
#: Seconds a nonce is accepted; after that the client is told ``stale=true``.
NONCE_LIFETIME = 300.0
#: Nonces remembered at most; the oldest are forgotten first.
MAX_NONCES = 10000


class DigestRefused(Exception):
    """A Digest answer that does not authenticate; ``stale`` when only the nonce expired."""

    def __init__(self, message: str, *, stale: bool = False) -> None:
        super().__init__(message)
        self.stale = stale


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_digest(header: str) -> dict[str, str]:
    """The ``key=value`` parameters of a ``Digest ...`` Authorization header.

    :raises DigestRefused: for a header that does not parse.
    """
    _scheme, _, params = header.partition(" ")
    try:
        parsed = urllib.request.parse_keqv_list(urllib.request.parse_http_list(params))
    except (ValueError, IndexError) as error:  # an item without '=', or with nothing after it
        raise DigestRefused(
            "Malformed Digest authentication header: each parameter is key=value"
        ) from error
    return {key.lower(): value for key, value in parsed.items()}


def expected_response(params: dict[str, str], method: str, password: str) -> str:
    """The ``response`` a client that knows ``password`` computes (``qop=auth``, MD5)."""
    ha1 = md5_hex(f"{params['username']}:{params['realm']}:{password}")
    ha2 = md5_hex(f"{method}:{params['uri']}")
    return md5_hex(
        f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}"
    )


REQUIRED = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")


class DigestNonces:
    """The nonces this server issued, with their expiry and the highest count seen."""

    def __init__(self, lifetime: float = NONCE_LIFETIME) -> None:
        self.lifetime = lifetime
        self.opaque = secrets.token_hex(16)
        #: nonce -> [monotonic expiry, highest nonce count used]
        self._issued: collections.OrderedDict[str, list[float]] = collections.OrderedDict()

    def challenge(self, stale: bool = False) -> str:
        """A ``WWW-Authenticate`` value with a fresh nonce."""
        nonce = secrets.token_hex(16)
        self._issued[nonce] = [time.monotonic() + self.lifetime, 0]
        while len(self._issued) > MAX_NONCES:
            self._issued.popitem(last=False)
        text = (
            f'Digest realm="{REALM}", nonce="{nonce}", qop="auth", algorithm=MD5, '
            f'opaque="{self.opaque}"'
        )
        return text + ", stale=true" if stale else text

    def check(self, params: dict[str, str], method: str, raw_path: str) -> str:
        """Check everything but the password; returns the username.

        :raises DigestRefused: naming what is wrong.
        """
        missing = [key for key in REQUIRED if not params.get(key)]
        if missing:
            raise DigestRefused(f"the Digest answer lacks {', '.join(missing)}")
        if params.get("algorithm", "MD5").upper() != "MD5" or params["qop"] != "auth":
            raise DigestRefused("Digest authentication here is MD5 with qop=auth only")
        if params["realm"] != REALM:
            raise DigestRefused(f"the Digest realm is {REALM!r}")
        if params["uri"] != raw_path:
            raise DigestRefused("the Digest uri is not the path of this request")
        self.use_nonce(params["nonce"], params["nc"])
        return params["username"]

    def use_nonce(self, nonce: str, nc: str) -> None:
        """Count one use of ``nonce`` with count ``nc`` (hex), which must grow."""
        issued = self._issued.get(nonce)
        if issued is None:
            raise DigestRefused("this Digest nonce was not issued here", stale=True)
        if time.monotonic() > issued[0]:
            del self._issued[nonce]
            raise DigestRefused("this Digest nonce has expired", stale=True)
        try:
            count = int(nc, 16)
        except ValueError:
            raise DigestRefused(f"the Digest nonce count {nc!r} is not hexadecimal") from None
        if count <= issued[1]:
            raise DigestRefused("this Digest nonce count was already used (a replay?)")
        issued[1] = count

    def clear(self) -> None:
        self._issued.clear()
