"""VNC tunnels: open_vnc gives a URL where an RFB server greets, checks the server's
vnc_password by VNC authentication (DES challenge-response, RFC 6143) and shows a blank
screen; close_vnc and a stop take it away."""

from __future__ import annotations

import re
import socket
import struct
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from emulator_support import server_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsigma.emulator.http.vnc import des_encrypt, vnc_key

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # cryptography < 43
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

PASSWORD = "s3cret-pw"


def reversed_bits(byte: int) -> int:
    """Bit reversal by shifting, independent of the emulator's string-based one."""
    result = 0
    for _ in range(8):
        result = (result << 1) | (byte & 1)
        byte >>= 1
    return result


def client_response(password: str, challenge: bytes) -> bytes:
    """What a VNC client answers: DES of the challenge under the bit-reversed password."""
    key = bytes(reversed_bits(b) for b in password.encode("latin-1")[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def address(url: str) -> tuple[str, int]:
    assert re.fullmatch(r"vnc://[^:/@]+:\d+", url), url  # pycloudsigma splits it at ':'
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 0


def log_in(url: str, password: str, version: bytes = b"RFB 003.008\n") -> tuple[socket.socket, int]:
    """Connect, agree on ``version`` and answer the challenge; returns the SecurityResult."""
    sock = socket.create_connection(address(url), timeout=5)
    assert read_exactly(sock, 12) == b"RFB 003.008\n"
    sock.sendall(version)
    if version == b"RFB 003.003\n":
        assert struct.unpack(">I", read_exactly(sock, 4))[0] == 2
    else:
        assert read_exactly(sock, 2) == bytes([1, 2])  # one security type: VNC authentication
        sock.sendall(bytes([2]))
    challenge = read_exactly(sock, 16)
    sock.sendall(client_response(password, challenge))
    return sock, struct.unpack(">I", read_exactly(sock, 4))[0]


def refused(url: str) -> bool:
    try:
        socket.create_connection(address(url), timeout=2).close()
    except OSError:
        return True
    return False


@pytest.fixture
def vnc_server(api, emu) -> dict:
    server = api.create("servers", **server_body("desk", vnc_password=PASSWORD))
    api.action("servers", server["uuid"], "start")
    emu.advance()
    return server


@pytest.fixture
def vnc_url(api, vnc_server) -> str:
    return api.action("servers", vnc_server["uuid"], "open_vnc")["vnc_url"]


def test_des_encrypts_the_standard_test_vector():
    # FIPS 81 / the classic "Now is t" vector: key 0123456789ABCDEF
    assert des_encrypt(bytes.fromhex("0123456789ABCDEF"), b"Now is t") == bytes.fromhex(
        "3FA40E8A984D4815"
    )


@settings(max_examples=50, derandomize=True, deadline=None)
@given(password=st.text(alphabet=st.characters(max_codepoint=255), max_size=12))
def test_vnc_key_is_the_bit_reversed_first_eight_bytes(password):
    expected = bytes(reversed_bits(b) for b in password.encode("latin-1")[:8].ljust(8, b"\0"))
    assert vnc_key(password) == expected


def test_the_tunnel_greets_with_rfb_3_8_before_the_client_says_anything(vnc_url):
    with socket.create_connection(address(vnc_url), timeout=5) as sock:
        greeting = sock.recv(16)
    assert greeting == b"RFB 003.008\n"
    assert re.fullmatch(rb"RFB \d+\.\d+\n", greeting)


def test_right_password_logs_in_and_shows_a_blank_screen(vnc_url, vnc_server):
    sock, result = log_in(vnc_url, PASSWORD)
    with sock:
        assert result == 0
        sock.sendall(b"\x01")  # ClientInit, shared
        width, height = struct.unpack(">HH", read_exactly(sock, 4))
        pixel_format = read_exactly(sock, 16)
        name = read_exactly(sock, struct.unpack(">I", read_exactly(sock, 4))[0])
        assert (width, height) == (640, 480) and pixel_format[0] == 32
        assert name == vnc_server["name"].encode()
        sock.sendall(struct.pack(">BxH", 2, 1) + struct.pack(">i", 0))  # SetEncodings: raw
        sock.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 8, 4))  # FramebufferUpdateRequest
        header = read_exactly(sock, 16)
        assert struct.unpack(">BxHHHHHi", header) == (0, 1, 0, 0, 8, 4, 0)
        assert read_exactly(sock, 8 * 4 * 4) == bytes(128)


def test_wrong_password_fails_with_a_reason(vnc_url):
    sock, result = log_in(vnc_url, "not-it")
    with sock:
        assert result == 1
        reason = read_exactly(sock, struct.unpack(">I", read_exactly(sock, 4))[0])
        assert reason == b"Authentication failed"
        assert sock.recv(1) == b""  # and the connection ends


def test_only_the_first_eight_characters_of_the_password_count(vnc_url):
    sock, result = log_in(vnc_url, PASSWORD[:8] + "anything")
    sock.close()
    assert result == 0


def test_an_rfb_3_3_client_is_told_the_security_type(vnc_url):
    sock, result = log_in(vnc_url, PASSWORD, version=b"RFB 003.003\n")
    sock.close()
    assert result == 0


def test_a_second_open_vnc_gives_the_same_tunnel(api, vnc_server, vnc_url):
    again = api.action("servers", vnc_server["uuid"], "open_vnc")["vnc_url"]
    assert again == vnc_url


def test_close_vnc_takes_the_tunnel_away_and_a_new_one_has_a_new_port(api, vnc_server, vnc_url):
    sock, result = log_in(vnc_url, PASSWORD)
    assert result == 0
    answer = api.action("servers", vnc_server["uuid"], "close_vnc")
    assert answer == {"action": "close_vnc", "result": "success", "uuid": vnc_server["uuid"]}
    assert refused(vnc_url)
    assert sock.recv(1) == b""  # an open session ends too
    sock.close()
    reopened = api.action("servers", vnc_server["uuid"], "open_vnc")["vnc_url"]
    assert reopened != vnc_url and not refused(reopened)


@pytest.mark.parametrize("action", ["stop", "restart"])
def test_a_stop_ends_the_tunnel(api, emu, vnc_server, vnc_url, action):
    api.action("servers", vnc_server["uuid"], action)
    emu.advance()
    assert refused(vnc_url)


def test_reset_closes_every_tunnel(emu, vnc_url):
    emu.reset()
    assert refused(vnc_url)


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    password=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    other=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
)
def test_the_tunnel_checks_whatever_vnc_password_the_server_has(
    emu, vnc_server, vnc_url, password, other
):
    stored = emu.backend.servers.store(emu.account())[vnc_server["uuid"]]
    emu.call(lambda: stored.update(vnc_password=password))
    sock, result = log_in(vnc_url, password)
    sock.close()
    assert result == 0
    sock, result = log_in(vnc_url, other)
    sock.close()
    same_key = password[:8].ljust(8, "\0") == other[:8].ljust(8, "\0")
    assert result == (0 if same_key else 1)


class FakeTransport:
    """The part of an asyncio transport a tunnel touches: it is aborted or not."""

    def __init__(self) -> None:
        self.aborted = self.closed = False

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted or self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


@pytest.mark.parametrize("closed_first", [False, True])
def test_a_closing_tunnel_ends_connections_whose_handler_has_not_run_yet(closed_first):
    import asyncio

    from cloudsigma.emulator.http.vnc import Tunnel, TunnelProtocol

    async def never_started(reader, writer):  # the handler task is never run here
        raise AssertionError("not reached")

    async def scenario() -> FakeTransport:
        listening = socket.create_server(("127.0.0.1", 0))
        tunnel = Tunnel(listening)
        transport = FakeTransport()
        if closed_first:
            tunnel.close()
        protocol = TunnelProtocol(tunnel, never_started)
        protocol.connection_made(transport)
        tunnel.close()
        protocol.connection_lost(None)
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        assert tunnel.connections == set()
        return transport

    assert asyncio.run(scenario()).aborted
