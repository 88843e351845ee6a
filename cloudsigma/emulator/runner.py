"""Run the emulator in a background thread: ``with Emulator() as emu: ...``."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .backend import DEFAULT_PASSWORD, DEFAULT_USERNAME, Backend
from .http.app import ApiServer, Listener, check_latency
from .http.guard import TOKEN_HEADER
from .http.hosts import ALL, API_HOST, DIRECT_HOST
from .http.parsing import MAX_JSON_BODY
from .models.kernel import Account
from .models.statemachine import TimingProfile, timing_profile

#: The first line of every configuration file the emulator writes; only such a file is
#: replaced without ``overwrite_config``.
CONFIG_MARKER = "# written by cloudsigma-emulator, which replaces this file when it starts again"
T = TypeVar("T")


class Emulator:
    """A local CloudSigma API on ``host:port`` (API, websocket, uploads and downloads).

    Like the cloud, it can listen as two hosts: the API host on ``port`` and the direct host
    (raw upload, downloads, websocket) on ``direct_port``; downloads asked of the API host
    then answer a redirect to a signed link on the direct host.

    :param host: address to listen on.
    :param port: port to listen on; 0 picks a free one.
    :param tls: serve HTTPS/WSS with a certificate from a throw-away CA (needs ``trustme``);
        the CA is written to :attr:`ca_path`.
    :param username: e-mail of the default account.
    :param password: password of the default account.
    :param transition_delay: seconds each status change takes; 0 means on the next loop turn,
        ``None`` means only when :meth:`advance` is called.
    :param config_path: where to write the configuration file (default: a temporary directory).
    :param max_body: the largest JSON request body accepted, in bytes.
    :param access_log: log every request at INFO level (off by default, for speed).
    :param serial_unknown_path: what the serial context answers for an unknown path
        (``'empty'`` or ``'silent'``).
    :param faults: faults to inject into API answers, e.g. ``'seed=7,503=0.02,reset_after=0.01'``
        (see :mod:`cloudsigma.emulator.faults`).
    :param direct_port: listen as a separate direct host on this port (0 picks a free one);
        None (the default) serves every role on ``port``.
    :param strict: answer 400 to filters, query parameters and body fields the API would
        ignore, instead of ignoring them with a warning in :attr:`journal`.
    :param timing: how long status changes take: ``"uniform"`` (each takes
        ``transition_delay``), ``"realistic"`` (the cloud's pace per kind of change, see
        :data:`cloudsigma.emulator.models.statemachine.REALISTIC`) or a
        :class:`~cloudsigma.emulator.models.statemachine.TimingProfile`. With a profile,
        ``transition_delay=None`` still means "only when advanced".
    :param latency: seconds added to every API and websocket request, half before and half
        after it is handled (a network round trip); the other requests wait meanwhile.
    :param overwrite_config: replace an existing ``config_path`` even if the emulator did not
        write it (by default such a file is left alone and :meth:`start` refuses).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        transition_delay: float | None = 0.05,
        *,
        config_path: str | None = None,
        max_body: int = MAX_JSON_BODY,
        access_log: bool = False,
        serial_unknown_path: str = "empty",
        faults: str | dict | None = None,
        direct_port: int | None = None,
        strict: bool = False,
        timing: str | TimingProfile | None = None,
        latency: float = 0.0,
        overwrite_config: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.direct_port = direct_port
        self.tls = tls
        self.username = username
        self.password = password
        self.backend = Backend(transition_delay, timing)
        self.api = ApiServer(self.backend, max_body=max_body, access_log=access_log, strict=strict)
        self.latency = latency
        self.api.on_reset = self._on_reset
        self.api.faults.configure(faults)
        self.serial_unknown_path = serial_unknown_path
        self.ca_path: str | None = None
        self._config_path = config_path
        self.overwrite_config = overwrite_config
        self._workdir: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self._serial: dict[str, Any] = {}
        #: The server uuid each serial device found, by the uuid or name it was asked for.
        self._serial_bindings: dict[str, str] = {}
        self.backend.create_account(username, password)

    def __repr__(self) -> str:
        state = f"listening on {self.base_url}" if self._thread else "stopped"
        return f"<Emulator {state}, user {self.username}>"

    # endpoints ----------------------------------------------------------------
    @property
    def public_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.public_host}:{self.port}"

    @property
    def api_endpoint(self) -> str:
        return f"{self.base_url}/api/2.0/"

    @property
    def direct_url(self) -> str:
        """The direct host's base URL (the API host's when one listener serves all)."""
        if self.direct_port is None:
            return self.base_url
        return f"{'https' if self.tls else 'http'}://{self.public_host}:{self.direct_port}"

    @property
    def direct_endpoint(self) -> str:
        """Where raw uploads and downloads go: the location's ``upload_url``."""
        return f"{self.direct_url}/api/2.0/"

    @property
    def ws_endpoint(self) -> str:
        return f"{self.direct_url.replace('http', 'ws', 1)}/websocket"

    @property
    def listeners(self) -> list[Listener]:
        """What listens: the API host (or the one listener), then the direct host if apart."""
        return list(self._listeners)

    @property
    def config_path(self) -> str:
        """The configuration file with the endpoints and credentials (mode 600)."""
        return self._config_path or os.path.join(self._ensure_workdir(), "cloudsigma.conf")

    def config_lines(self) -> list[str]:
        lines = [
            f"api_endpoint = {self.api_endpoint}",
            f"ws_endpoint = {self.ws_endpoint}",
            f"username = {self.username}",
            f"password = {self.password}",
        ]
        if self.ca_path:
            lines.append(f"ca_bundle = {self.ca_path}")
        lines.append(f"direct_endpoint = {self.direct_endpoint}")
        lines.append(f"emulator_token = {self.control_token}")
        return lines

    @property
    def control_token(self) -> str:
        """The token that requests to ``/_emulator/`` send in ``X-Emulator-Token``."""
        return self.api.control_token

    @property
    def control_headers(self) -> dict[str, str]:
        """The headers of a control request: the token, and the JSON content type."""
        return {TOKEN_HEADER: self.control_token, "Content-Type": "application/json"}

    # lifecycle ----------------------------------------------------------------
    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Emulator:
        """Listen in a background thread; returns when the port is open.

        :raises RuntimeError: if it is already running or cannot listen.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._check_config_path()
        ssl_context = self._tls_context() if self.tls else None
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run,
            args=(ssl_context, ready, failure),
            name="cloudsigma-emulator",
            daemon=True,
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError(
                f"the emulator could not listen on {self.host}:{self.port}: {failure[0]}"
            ) from failure[0]
        self.api.hosts.api_url, self.api.hosts.direct_url = self.base_url, self.direct_url
        self.backend.set_base_url(self.base_url, self.public_host, self.direct_url)
        self._write_config()
        return self

    def _run(
        self, ssl_context: ssl.SSLContext | None, ready: threading.Event, failure: list
    ) -> None:
        loop = self._loop
        assert loop is not None  # start() creates it before the thread
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen(ssl_context))
        except BaseException as error:  # noqa: BLE001 - reported to start()
            failure.append(error)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        for listener in self._listeners:
            loop.run_until_complete(listener.close())
        self._listeners = []
        loop.close()

    async def _listen(self, ssl_context: ssl.SSLContext | None) -> None:
        role = ALL if self.direct_port is None else API_HOST
        self._listeners = [Listener(self.api, self.host, self.port, ssl_context, role)]
        self.port = await self._listeners[0].start()
        if self.direct_port is not None:
            direct = Listener(self.api, self.host, self.direct_port, ssl_context, DIRECT_HOST)
            self._listeners.append(direct)
            self.direct_port = await direct.start()

    def stop(self) -> None:
        """Stop listening and release temporary files; calling it again does nothing."""
        if self._thread is None or self._loop is None:
            return
        for device in self._serial.values():
            device.stop()
        self._serial.clear()
        self._serial_bindings.clear()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None
        self.backend.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _ensure_workdir(self) -> str:
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix="cloudsigma-emulator-")
        return self._workdir

    def _tls_context(self) -> ssl.SSLContext:
        try:
            import trustme
        except ImportError as error:
            raise RuntimeError(
                "TLS needs the trustme package: pip install 'cloudsigma[emulator]'"
            ) from error
        authority = trustme.CA()
        names = sorted({"127.0.0.1", "localhost", self.public_host})
        certificate = authority.issue_cert(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        directory = os.path.dirname(os.path.abspath(self.config_path))
        self.ca_path = os.path.join(directory, "cloudsigma-emulator-ca.pem")
        authority.cert_pem.write_to_path(self.ca_path)
        return context

    def _check_config_path(self) -> None:
        """:raises RuntimeError: when the configuration file cannot be written, or would
        replace a file that the emulator did not write (unless ``overwrite_config``)."""
        path = os.path.abspath(self.config_path)
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise RuntimeError(f"cannot write the configuration {path}: {folder} does not exist")
        if os.path.isdir(path):
            raise RuntimeError(f"cannot write the configuration {path}: it is a folder")
        if self.overwrite_config or not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8", errors="replace") as existing:
                first_line = existing.readline(len(CONFIG_MARKER) + 1).rstrip("\n")
        except OSError as error:
            raise RuntimeError(f"cannot read the configuration {path}: {error}") from error
        if first_line != CONFIG_MARKER:
            raise RuntimeError(
                f"{path} exists and was not written by the emulator (it may hold real "
                "credentials); choose another file, or replace it with --force "
                "(overwrite_config=True)"
            )

    def _write_config(self) -> None:
        text = "\n".join([CONFIG_MARKER, *self.config_lines()]) + "\n"
        descriptor = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as config_file:
            config_file.write(text)
        os.chmod(self.config_path, 0o600)

    # state access from other threads -------------------------------------------
    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the emulator's event loop and return its result.

        ``function`` may change objects directly: billing computes every account's use again.
        """

        def run_and_note() -> T:
            try:
                return function(*args)
            finally:
                self.backend.usage_may_have_changed()

        if self._loop is None or self._thread is None or threading.current_thread() is self._thread:
            return run_and_note()

        async def run() -> T:
            return run_and_note()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def reset(self) -> None:
        """Forget all state; the default account is created again (with a new uuid)."""
        self.call(self.api.reset)

    def _on_reset(self) -> None:
        for device in self._serial.values():
            device.stop()
        self._serial.clear()
        self._serial_bindings.clear()
        self.backend.create_account(self.username, self.password)

    def create_account(self, email: str, password: str) -> Account:
        """Add another account (isolated from the others)."""
        return self.call(self.backend.create_account, email, password)

    def add_vmware_server(self, email: str | None = None, **values: Any) -> dict:
        """Give an account (default: the default one) a VMware server; ``values`` are the
        fields of ``/vmware_servers/`` (``cores_per_socket``, ``cpus``, ``deployed``,
        ``description``, ``enabled`` and ``memory`` are required)."""
        account = self.account(email)
        return self.call(self.backend.vmware_servers.add, account, values)

    def account(self, email: str | None = None) -> Account:
        """The account with ``email`` (default: the default account)."""
        return self.backend.by_email[(email or self.username).lower()]

    @property
    def transition_delay(self) -> float | None:
        return self.backend.transitions.delay

    @transition_delay.setter
    def transition_delay(self, delay: float | None) -> None:
        self.backend.transitions.delay = delay

    @property
    def timing(self) -> TimingProfile | None:
        """The timing profile of status changes (None: every change takes the one delay)."""
        return self.backend.transitions.profile

    @timing.setter
    def timing(self, timing: str | TimingProfile | None) -> None:
        self.backend.transitions.profile = timing_profile(timing)

    @property
    def latency(self) -> float:
        """Seconds added to every API and websocket request (a round trip)."""
        return self.api.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.api.latency = check_latency(seconds)

    def advance(self, seconds: float | None = None) -> int:
        """Apply pending status changes now (all, or those due within ``seconds``).

        :returns: the number of changes applied.
        """
        return self.call(self.backend.transitions.advance, seconds)

    @property
    def clock(self) -> Any:
        """The emulated clock of billing: ``.now()``, ``.freeze()``, ``.frozen``."""
        return self.backend.clock

    def advance_clock(self, seconds: float) -> int:
        """Let ``seconds`` of emulated time pass: due status changes happen, subscriptions
        start and end, and burst is billed; returns the status changes applied."""
        return self.call(self.backend.pass_time, seconds)

    def step(self) -> bool:
        """Apply only the earliest pending status change; returns whether there was one."""
        return self.call(self.backend.transitions.step)

    def set_faults(self, faults: str | dict | None) -> dict:
        """Replace the injected faults (None or ``''`` turns them off); returns the new report."""
        self.api.faults.configure(faults)
        return self.api.faults.report()

    @property
    def journal(self) -> list[dict]:
        """The requests seen so far: ``{"method", "path", "status"}``, plus ``warnings`` naming
        the filters, parameters and body fields a request carried that the API ignores."""
        return list(self.api.journal.entries)

    @property
    def strict(self) -> bool:
        """Whether what the API would ignore is refused with 400 (see the ``strict`` argument)."""
        return self.api.strict

    @strict.setter
    def strict(self, strict: bool) -> None:
        self.api.strict = strict

    # server context --------------------------------------------------------------
    def serial_device(self, server: str) -> str:
        """A pty path that answers the server context protocol for ``server`` (uuid or name).

        The server may be created later; once found, the device stays bound to that server's
        uuid, so a rename keeps it and another server taking the name does not get it.
        """
        if server not in self._serial:
            from .serial_context import SerialContextServer

            device = SerialContextServer(
                lambda: self.call(self._bound_context, server),
                unknown_path=self.serial_unknown_path,
            )
            device.start()
            self._serial[server] = device
        return self._serial[server].path

    def _bound_context(self, key: str) -> dict:
        uuid = self._serial_bindings.get(key)
        if uuid is None:
            found = self._find_server(key, by_name=True)
            if found is None:
                return {}
            uuid = self._serial_bindings[key] = found[1]["uuid"]
        found = self._find_server(uuid, by_name=False)
        return {} if found is None else self.backend.servers.context(*found)

    def _find_server(self, key: str, *, by_name: bool) -> tuple[Account, dict] | None:
        servers = self.backend.servers
        for account in self.backend.iter_accounts():
            store = servers.store(account)
            found = store.get(key)
            if found is None and by_name:
                found = next((s for s in store.values() if s["name"] == key), None)
            if found is not None:
                return account, found
        return None

    def context_of(self, server_key: str) -> dict:
        """The server context of the server with this uuid or name (``{}`` if there is none)."""
        found = self._find_server(server_key, by_name=True)
        return {} if found is None else self.backend.servers.context(*found)
