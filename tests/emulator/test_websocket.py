"""The event websocket: async_auth cookie, one frame per change, deletions included."""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
from socket import SO_LINGER, SOL_SOCKET

import aiohttp
import pytest
import websocket
from emulator_support import GIB, Api

from cloudsigma.emulator.http.events import Websockets


def open_socket(emu, api, path="/websocket"):
    response = api.post("accounts/action/", params={"do": "authenticate_asynchronous"}, json={})
    cookie = response.cookies["async_auth"]
    url = emu.ws_endpoint.replace("/websocket", path)
    return websocket.create_connection(url, cookie=f"async_auth={cookie}", timeout=5)


def frames_until(socket, predicate, limit=50):
    seen = []
    for _ in range(limit):
        frame = json.loads(socket.recv())
        seen.append(frame)
        if predicate(frame):
            return seen
    raise AssertionError(f"no matching frame in {seen}")


def test_websocket_without_cookie_is_refused_with_401(emu):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(emu.ws_endpoint, timeout=5)
    assert refused.value.status_code == 401


def test_websocket_with_an_unknown_cookie_is_refused(emu):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(emu.ws_endpoint, cookie="async_auth=forged", timeout=5)
    assert refused.value.status_code == 401


@pytest.mark.parametrize("path", ["/websocket", "/2.0/websocket"])
def test_drive_create_status_change_and_delete_each_send_a_frame(emu, api, path):
    socket = open_socket(emu, api, path)
    try:
        drive = api.create("drives", name="d", size=GIB, media="disk")
        uri = drive["resource_uri"]
        created = frames_until(socket, lambda f: f["resource_uri"] == uri)[-1]
        assert created["resource_type"] == "drives" and created["object"]["status"] == "creating"
        emu.advance()
        changed = frames_until(socket, lambda f: f["resource_uri"] == uri)[-1]
        assert changed["object"]["status"] == "unmounted"
        api.delete(f"drives/{drive['uuid']}/")
        deleted = frames_until(socket, lambda f: f["resource_uri"] == uri)[-1]
        assert deleted == {"resource_type": "drives", "resource_uri": uri}
    finally:
        socket.close()


def test_server_start_sends_server_frames_with_identical_uri(emu, api, server):
    socket = open_socket(emu, api)
    try:
        api.action("servers", server["uuid"], "start")
        emu.advance()
        frames = frames_until(socket, lambda f: f.get("object", {}).get("status") == "running")
        statuses = [
            f["object"]["status"] for f in frames if f["resource_uri"] == server["resource_uri"]
        ]
        assert statuses == ["starting", "running"]
    finally:
        socket.close()


def test_frames_go_only_to_the_owning_account(emu, api, other_api):
    theirs = open_socket(emu, other_api)
    mine = open_socket(emu, api)
    try:
        api.create("drives", name="mine", size=GIB, media="disk")
        other_api.create("drives", name="theirs", size=GIB, media="disk")
        frame = json.loads(theirs.recv())
        assert frame["object"]["name"] == "theirs"
        assert json.loads(mine.recv())["object"]["name"] == "mine"
    finally:
        theirs.close()
        mine.close()


def test_balance_profile_and_job_changes_send_frames(emu, api, drive):
    socket = open_socket(emu, api)
    try:
        api.ok("PUT", "profile/", json={"first_name": "Ada"})
        profile = frames_until(socket, lambda f: f["resource_type"] == "profile")[-1]
        assert profile["resource_uri"] == "/api/2.0/profile/"
        api.action("drives", drive["uuid"], "clone")
        frames_until(socket, lambda f: f["resource_type"] == "jobs")
        api.create("subscriptions", resource="dssd", amount=GIB, period="1 month")
        balance = frames_until(socket, lambda f: f["resource_type"] == "balance")[-1]
        assert balance["resource_uri"] == "/api/2.0/balance/"
    finally:
        socket.close()


def test_stopping_the_emulator_closes_open_websockets():
    from cloudsigma.emulator import Emulator

    emulator = Emulator().start()
    try:
        client = Api(emulator.api_endpoint, emulator.username, emulator.password)
        socket = open_socket(emulator, client)
        client.close()
        stopper = threading.Thread(target=emulator.stop)
        stopper.start()
        stopper.join(30)
        assert not stopper.is_alive(), "stop() waited for the websocket client"
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(3):
                socket.recv()
        socket.close()
    finally:
        emulator.stop()


class ClosingSocket:
    """A websocket whose client has gone: every send meets a closing transport."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)
        raise aiohttp.ClientConnectionResetError("Cannot write to closing transport")


def test_the_pump_stops_quietly_when_the_client_is_gone_with_frames_still_queued():
    socket = ClosingSocket()

    async def pump_three_frames() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        for number in range(3):
            queue.put_nowait(f"frame {number}")
        client_side = asyncio.get_running_loop().create_future()  # never sees the close frame
        await Websockets.pump(socket, queue, client_side)  # type: ignore[arg-type]
        client_side.cancel()

    asyncio.run(pump_three_frames())
    assert socket.sent == ["frame 0"]  # the rest is dropped, not sent into a closed socket


def test_a_client_cut_off_with_many_frames_queued_leaves_no_error_in_the_log(emu, api, caplog):
    socket = open_socket(emu, api)
    account = emu.account()
    frame = {"resource_type": "drives", "resource_uri": "/api/2.0/drives/x/", "object": {}}

    def many_changes_at_once() -> None:
        for _ in range(2000):
            for listener in list(emu.backend.listeners):
                listener(account, frame)

    socket.sock.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))  # reset, no close frame
    with caplog.at_level(logging.DEBUG, logger="aiohttp"):
        emu.call(many_changes_at_once)
        socket.sock.close()
        for _ in range(200):  # until the emulator has ended its side
            if not emu.call(lambda: len(emu.api.websockets.sockets)):
                break
            time.sleep(0.05)
    assert not emu.api.websockets.sockets
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert api.get("drives/").status_code == 200  # and the emulator goes on serving
