"""Connections shared by the clients of a process, and the environment's proxy and CA settings.

Each client keeps its own ``requests.Session`` (credentials, cookies, hooks); underneath,
:class:`SharedTransport` sends through one process-wide connection pool per host and TLS
setting, so a new client (``Drive().get(uuid)`` in a loop) reuses the TCP and TLS
connection of the previous one. :class:`Environment` reads proxies and the CA bundle from
the environment once per host instead of once per request.

:mod:`cloudsigma.generic` imports this module when it makes its first client, so that
importing the SDK does not load requests.
"""

from __future__ import annotations

import collections
import os
import threading
import urllib.parse
import weakref
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

__all__ = ["Environment", "SharedTransport"]

#: Idle connections kept per host (urllib3's ``maxsize``): enough for the clients of a
#: default ThreadPoolExecutor (32 workers at most) without urllib3 discarding connections
#: and warning that the pool is full. Busier moments open more connections, then close them.
POOL_SIZE = 32

#: Hosts whose pools are kept while no live client uses them; beyond that the least
#: recently used idle ones are closed.
MAX_IDLE_HOSTS = 32

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: (scheme, host, port, verify, client cert, pool size): what makes a connection reusable.
PoolKey = tuple[str, str, int | None, bool | str, Any, int]


def origin_of(url: str) -> str:
    """The ``scheme://host:port`` start of an absolute URL, as written."""
    start = url.find("//") + 2
    slash = url.find("/", start)
    return url if slash < 0 else url[:slash]


def _pool_key(url: str, verify: bool | str, cert: Any) -> PoolKey:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # requests reports the bad port when it sends
        port = None
    return (scheme, (parts.hostname or "").lower(), port, verify, cert, POOL_SIZE)


class _Registry:
    """The process-wide pools, by :data:`PoolKey`, with the transports using each one."""

    def __init__(self, generation: int = 0) -> None:
        self.generation = generation
        self.lock = threading.Lock()
        self.adapters: collections.OrderedDict[PoolKey, HTTPAdapter] = collections.OrderedDict()
        self.users: dict[PoolKey, weakref.WeakSet[SharedTransport]] = {}

    def adapter(self, key: PoolKey, user: SharedTransport) -> HTTPAdapter:
        """The adapter for ``key`` (made on first use), now counted as used by ``user``."""
        with self.lock:
            adapter = self.adapters.get(key)
            if adapter is None:
                adapter = self.adapters[key] = HTTPAdapter(pool_maxsize=POOL_SIZE)
                self.users[key] = weakref.WeakSet()
            self.adapters.move_to_end(key)
            self.users[key].add(user)
            self._close_idle_beyond_limit()
            return adapter

    def release(self, key: PoolKey, user: SharedTransport) -> None:
        """``user`` is closed: close the pool of ``key`` if no other live client uses it."""
        with self.lock:
            users = self.users.get(key)
            if users is None:
                return
            users.discard(user)
            if not users:
                self.adapters[key].close()

    def _close_idle_beyond_limit(self) -> None:
        idle = [key for key in self.adapters if not self.users[key]]  # least recent first
        for key in idle[: max(len(idle) - MAX_IDLE_HOSTS, 0)]:
            self.adapters.pop(key).close()
            del self.users[key]


_registry = _Registry()


def _forget_pools_after_fork() -> None:
    """A forked child must not use its parent's sockets: it starts with no pooled connection.

    The parent's pools are dropped, not closed: closing would shut down TLS sessions the
    parent still uses.
    """
    global _registry
    _registry = _Registry(_registry.generation + 1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


class SharedTransport(BaseAdapter):
    """A ``requests`` transport adapter for one client's Session, over the shared pools.

    Mounted for ``http://`` and ``https://``, it hands each request to the process-wide
    ``HTTPAdapter`` for its scheme, host, port, TLS verification and client certificate.
    Credentials, cookies and hooks stay in the client's own Session: a pooled connection
    carries none of them. Mounting another adapter on the Session replaces this one, as
    with any ``requests`` adapter.
    """

    def __init__(self) -> None:
        super().__init__()
        self._adapters: dict[tuple[str, bool | str, Any], tuple[PoolKey, HTTPAdapter]] = {}
        self._generation = _registry.generation

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._adapters)} pools in use)"

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send ``request`` through the shared pool for it (arguments as ``HTTPAdapter.send``)."""
        adapter = self._adapter_for(request.url or "", verify, cert)
        return adapter.send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )

    def _adapter_for(self, url: str, verify: bool | str, cert: Any) -> HTTPAdapter:
        if self._generation != _registry.generation:  # forked: the pools known are the parent's
            self._adapters = {}
            self._generation = _registry.generation
        cert = tuple(cert) if isinstance(cert, list) else cert
        route = (origin_of(url), verify, cert)
        found = self._adapters.get(route)
        if found is None:
            key = _pool_key(url, verify, cert)
            found = self._adapters[route] = (key, _registry.adapter(key, self))
        return found[1]

    def close(self) -> None:
        """Stop using the shared pools, closing those no other live client uses."""
        used, self._adapters = self._adapters, {}
        if self._generation == _registry.generation:
            for key in {key for key, _ in used.values()}:
                _registry.release(key, self)


class Environment:
    """What the environment says about connecting to each host, read on first use.

    The rules are those of ``requests.Session.merge_environment_settings``:
    ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` give the proxies unless ``NO_PROXY``
    matches the host, and ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` is the CA file
    when TLS verification is on without a CA file of its own. Reading them took a good
    part of each request, so each host's answer is kept.
    """

    def __init__(self) -> None:
        self._proxies: dict[str, dict[str, str]] = {}
        self._ca_bundle: str | None = None

    def proxies(self, url: str) -> dict[str, str]:
        """The proxies the environment gives for ``url``'s host (a new dict each time)."""
        origin = origin_of(url)
        found = self._proxies.get(origin)
        if found is None:
            found = self._proxies[origin] = dict(get_environ_proxies(url))
        return dict(found)

    def verify(self, verify: bool | str) -> bool | str:
        """``verify`` itself, unless it is True: then the environment's CA bundle, if any."""
        if verify is not True:
            return verify
        if self._ca_bundle is None:
            environ = os.environ
            self._ca_bundle = (
                environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or ""
            )
        return self._ca_bundle or True

    def send_settings(
        self, url: str, verify: bool | str, session: requests.Session
    ) -> dict[str, Any]:
        """The ``proxies``, ``verify`` and ``cert`` for sending ``url`` through ``session``.

        The same as ``session.merge_environment_settings(url, {}, None, verify, None)``:
        the environment's proxies over the session's, and the session's client certificate.
        """
        proxies = self.proxies(url)
        if session.proxies:
            proxies = merge_setting(proxies, session.proxies)
        return {"proxies": proxies, "verify": self.verify(verify), "cert": session.cert}
