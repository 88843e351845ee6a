"""Resources: their URLs, bodies and actions, waiting for a status, and paged iteration."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from operator import methodcaller
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import errors, resource
from cloudsigma.generic import GenericClient
from cloudsigma.resource import WaitPolicy

UUID = "5c33a9b1-0000-4000-8000-000000000001"
UUID_B = "5c33a9b1-0000-4000-8000-00000000000b"
ANY_URL = re.compile(r"https://api\.test/.*")

RESOURCE_NAMES = {
    "Drive": "drives",
    "LibDrive": "libdrives",
    "Server": "servers",
    "BServer": "bservers",
    "ServersAvailabilityGroups": "servers/availability_groups",
    "Snapshot": "snapshots",
    "RemoteSnapshot": "remotesnapshots",
    "Tags": "tags",
    "Acls": "acls",
    "Jobs": "jobs",
    "IP": "ips",
    "VLAN": "vlans",
    "FirewallPolicy": "fwpolicies",
    "Subscriptions": "subscriptions",
    "SubscriptionCalculator": "subscriptioncalculator",
    "Ledger": "ledger",
    "Balance": "balance",
    "Discount": "discount",
    "Pricing": "pricing",
    "AuditLog": "logs",
    "Licenses": "licenses",
    "Capabilites": "capabilities",
    "Accounts": "accounts",
    "CurrentUsage": "currentusage",
    "BurstUsage": "burstusage",
    "Locations": "locations",
    "Profile": "profile",
    "GlobalContext": "global_context",
    "NotificationContact": "notification_contacts",
    "NotificationPreference": "notification_preferences",
    "InitUpload": "initupload",
    "DriveUsers": "driveusers",
    "VirtualRouters": "virtualrouters",
    "Lans": "lans",
    "Upstream": "upstream",
    "IpAliases": "ipaliases",
    "Routes": "routes",
    "PortForwards": "portforwards",
    "AddressForwards": "addressforwards",
    "VrFwPolicies": "vrfwpolicies",
    "VrFwFilters": "vrfwfilters",
    "Vpc": "vpc",
    "Nodes": "nodes",
    "HostAvailabilityZones": "hostavailabilityzones",
    "HostAllocationPools": "hostallocationpools",
    "Keypairs": "keypairs",
    "Pubkeys": "pubkeys",
    "BackupSchedulers": "backupschedulers",
    "Tunnels": "tunnels",
    "GroupedSubscriptions": "groupedsubscriptions",
    "Usage": "usage",
    "DailyBurstUsage": "dailyburstusage",
    "VmwareServers": "vmware_servers",
    "DrivesAvailabilityGroups": "drives/availability_groups",
    "CloudStatus": "cloud_status",
}


class Recorder:
    """Answers every request with ``answer`` and records (method, path, query, json body)."""

    def __init__(self, answer: Any = None, status: int = 200) -> None:
        self.answer = {"objects": [{"uuid": UUID}]} if answer is None else answer
        self.status = status
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        for method in ("GET", "POST", "PUT", "DELETE"):
            responses.add_callback(method, ANY_URL, callback=self._answer)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        self.calls.append((request.method, parts.path, dict(parse_qsl(parts.query)), body))
        return self.status, {"Content-Type": "application/json"}, json.dumps(self.answer)


def make(cls: type[resource.ResourceBase]) -> Any:
    return cls(API, USERNAME, PASSWORD, retry=0)


@pytest.mark.parametrize(("class_name", "name"), sorted(RESOURCE_NAMES.items()))
@responses.activate
def test_every_resource_lists_its_collection(class_name: str, name: str) -> None:
    recorder = Recorder()
    instance = make(getattr(resource, class_name))
    assert instance.resource_name == name
    assert instance.list() == [{"uuid": UUID}]
    assert recorder.calls == [("GET", f"/api/2.0/{name}/", {"limit": "0"}, None)]


P = "/api/2.0/"
ACTION_CASES: list[tuple[str, Callable[[Any], Any], tuple[str, str, dict[str, str], Any]]] = [
    (
        "Drive",
        lambda r: r.list_detail({"status": "mounted"}),
        ("GET", P + "drives/detail/", {"limit": "0", "status": "mounted"}, None),
    ),
    ("Drive", lambda r: r.get(UUID), ("GET", f"{P}drives/{UUID}/", {}, None)),
    ("Drive", lambda r: r.get(UUID.encode()), ("GET", f"{P}drives/{UUID}/", {}, None)),
    ("Drive", lambda r: r.get_schema(), ("GET", P + "drives/schema/", {}, None)),
    (
        "Drive",
        lambda r: r.get_from_url(f"/api/2.0/drives/{UUID}/"),
        ("GET", f"{P}drives/{UUID}/", {}, None),
    ),
    (
        "Drive",
        lambda r: r.update(UUID, {"name": "n"}),
        ("PUT", f"{P}drives/{UUID}/", {}, {"name": "n"}),
    ),
    ("Drive", lambda r: r.delete(UUID), ("DELETE", f"{P}drives/{UUID}/", {}, None)),
    (
        "Drive",
        lambda r: r.create({"name": "d"}, avoid=["a", "b"]),
        ("POST", P + "drives/", {"avoid": "a,b"}, {"objects": [{"name": "d"}]}),
    ),
    (
        "Drive",
        lambda r: r.clone(UUID, avoid="x"),
        ("POST", f"{P}drives/{UUID}/action/", {"do": "clone", "avoid": "x"}, {}),
    ),
    (
        "Drive",
        lambda r: r.resize(UUID, {"size": 5}),
        ("POST", f"{P}drives/{UUID}/action/", {"do": "resize"}, {"size": 5}),
    ),
    (
        "Server",
        lambda r: r.start(UUID),
        ("POST", f"{P}servers/{UUID}/action/", {"do": "start"}, {}),
    ),
    (
        "Server",
        lambda r: r.start(UUID, allocation_method="fast"),
        ("POST", f"{P}servers/{UUID}/action/", {"do": "start"}, {"allocation_method": "fast"}),
    ),
    *[
        (
            "Server",
            methodcaller(verb, UUID),
            ("POST", f"{P}servers/{UUID}/action/", {"do": verb}, {}),
        )
        for verb in (
            "stop",
            "restart",
            "shutdown",
            "open_vnc",
            "close_vnc",
            "open_console",
            "close_console",
        )
    ],
    (
        "BServer",
        lambda r: r.stop(UUID),
        ("POST", f"{P}bservers/{UUID}/action/", {"do": "stop"}, {}),
    ),
    ("Server", lambda r: r.runtime(UUID), ("GET", f"{P}servers/{UUID}/runtime/", {}, None)),
    (
        "Server",
        lambda r: r.clone(UUID, {"name": "c"}, avoid=["s"]),
        ("POST", f"{P}servers/{UUID}/action/", {"do": "clone", "avoid": "s"}, {"name": "c"}),
    ),
    ("Server", lambda r: r.delete(UUID), ("DELETE", f"{P}servers/{UUID}/", {}, None)),
    *[
        (
            "Server",
            methodcaller(method, UUID),
            ("DELETE", f"{P}servers/{UUID}/", {"recurse": recurse}, None),
        )
        for method, recurse in (
            ("delete_with_all_drives", "all_drives"),
            ("delete_with_disks", "disks"),
            ("delete_with_cdroms", "cdroms"),
        )
    ],
    (
        "Snapshot",
        lambda r: r.clone(UUID),
        ("POST", f"{P}snapshots/{UUID}/action/", {"do": "clone"}, {}),
    ),
    (
        "RemoteSnapshot",
        lambda r: r.clone(UUID, {"name": "r"}),
        ("POST", f"{P}remotesnapshots/{UUID}/action/", {"do": "clone"}, {"name": "r"}),
    ),
    *[
        (
            "Tags",
            methodcaller(kind, UUID),
            ("GET", f"{P}tags/{UUID}/{kind}/", {}, None),
        )
        for kind in ("drives", "servers", "ips", "vlans")
    ],
    (
        "Subscriptions",
        lambda r: r.extend(UUID),
        ("POST", f"{P}subscriptions/{UUID}/action/", {"do": "extend"}, {}),
    ),
    (
        "Accounts",
        lambda r: r.authenticate_asynchronous(),
        ("POST", P + "accounts/action/", {"do": "authenticate_asynchronous"}, {}),
    ),
    ("Profile", lambda r: r.get(), ("GET", P + "profile/", {}, None)),
    (
        "Profile",
        lambda r: r.update({"first_name": "A"}),
        ("PUT", P + "profile/", {}, {"first_name": "A"}),
    ),
    ("GlobalContext", lambda r: r.get(), ("GET", P + "global_context/", {}, None)),
    (
        "GlobalContext",
        lambda r: r.update({"k": "v"}),
        ("POST", P + "global_context/", {}, {"k": "v"}),
    ),
    (
        "NotificationPreference",
        lambda r: r.update([{"type": "info"}]),
        ("PUT", P + "notification_preferences/", {}, [{"type": "info"}]),
    ),
    (
        "VirtualRouters",
        lambda r: r.enable_nat(UUID, None),
        ("POST", f"{P}virtualrouters/{UUID}/action/", {"do": "enable_nat"}, {}),
    ),
    (
        "VirtualRouters",
        lambda r: r.get_log(UUID, None, {"lines": "5"}),
        ("POST", f"{P}virtualrouters/{UUID}/action/", {"do": "get_log", "lines": "5"}, {}),
    ),
    (
        "Lans",
        lambda r: r.configure_dhcp(UUID, {"a": 1}),
        ("POST", f"{P}lans/{UUID}/action/", {"do": "configure_dhcp"}, {"a": 1}),
    ),
    (
        "Upstream",
        lambda r: r.configure_vpn(UUID, None),
        ("POST", f"{P}upstream/{UUID}/action/", {"do": "configure_vpn"}, {}),
    ),
    (
        "VrFwPolicies",
        lambda r: r.disable(UUID, None),
        ("POST", f"{P}vrfwpolicies/{UUID}/action/", {"do": "disable"}, {}),
    ),
    (
        "VrFwFilters",
        lambda r: r.enable_logging(UUID, None),
        ("POST", f"{P}vrfwfilters/{UUID}/action/", {"do": "enable_logging"}, {}),
    ),
    (
        "ServersAvailabilityGroups",
        lambda r: r.get(UUID),
        ("GET", f"{P}servers/availability_groups/{UUID}/", {}, None),
    ),
    (
        "DrivesAvailabilityGroups",
        lambda r: r.get(UUID),
        ("GET", f"{P}drives/availability_groups/{UUID}/", {}, None),
    ),
    ("CloudStatus", lambda r: r.get(), ("GET", P + "cloud_status/", {}, None)),
    (
        "Server",
        lambda r: r.start(UUID, avoid=["a", "b"]),
        ("POST", f"{P}servers/{UUID}/action/", {"do": "start", "avoid": "a,b"}, {}),
    ),
    (
        "LibDrive",
        lambda r: r.clone(UUID, {"name": "n"}, avoid="x"),
        ("POST", f"{P}libdrives/{UUID}/action/", {"do": "clone", "avoid": "x"}, {"name": "n"}),
    ),
    (
        "Drive",
        lambda r: r.set_scheduler(UUID, "s"),
        ("POST", f"{P}drives/{UUID}/action/", {"do": "set_scheduler"}, {"backup_policy_uuid": "s"}),
    ),
    *[
        (
            class_name,
            lambda r: r.delete_many([UUID, UUID_B.encode()]),
            ("DELETE", f"{P}{name}/", {}, {"objects": [{"uuid": UUID}, {"uuid": UUID_B}]}),
        )
        for class_name, name in (
            ("Drive", "drives"),
            ("Snapshot", "snapshots"),
            ("RemoteSnapshot", "remotesnapshots"),
            ("BackupSchedulers", "backupschedulers"),
        )
    ],
    (
        "Subscriptions",
        lambda r: r.auto_renew(UUID),
        ("POST", f"{P}subscriptions/{UUID}/action/", {"do": "auto_renew"}, {}),
    ),
    (
        "Subscriptions",
        lambda r: r.auto_renew(UUID, False),
        ("POST", f"{P}subscriptions/{UUID}/action/", {"do": "auto_renew"}, {"auto_renew": False}),
    ),
    *[
        (
            "VirtualRouters",
            methodcaller(verb, UUID),
            ("POST", f"{P}virtualrouters/{UUID}/action/", {"do": verb}, {}),
        )
        for verb in ("enable_vpn", "disable_vpn", "get_keys", "export_key")
    ],
    *[
        ("Accounts", methodcaller(verb), ("POST", P + "accounts/action/", {"do": verb}, {}))
        for verb in ("logout", "check_login")
    ],
    (
        "Keypairs",
        lambda r: r.generate("k"),
        ("POST", P + "keypairs/", {}, {"objects": [{"name": "k", "algorithm_type": "ed25519"}]}),
    ),
    (
        "Usage",
        lambda r: r.list(poll_time_gt="2024-04-01", poll_time_lt="2024-05-01"),
        (
            "GET",
            P + "usage/",
            {"limit": "0", "poll_time_gt": "2024-04-01", "poll_time_lt": "2024-05-01"},
            None,
        ),
    ),
]


@pytest.mark.parametrize(
    ("class_name", "operation", "expected"),
    ACTION_CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(ACTION_CASES)],
)
@responses.activate
def test_operation_sends_the_request_pycloudsigma_sends(
    class_name: str, operation: Callable[[Any], Any], expected: tuple[Any, ...]
) -> None:
    recorder = Recorder()
    operation(make(getattr(resource, class_name)))
    assert recorder.calls == [expected]


@pytest.mark.parametrize(
    ("data", "sent"),
    [
        ({"name": "a"}, {"objects": [{"name": "a"}]}),
        ([{"name": "a"}, {"name": "b"}], {"objects": [{"name": "a"}, {"name": "b"}]}),
        (({"name": "a"},), {"objects": [{"name": "a"}]}),
        ({"objects": [{"name": "a"}]}, {"objects": [{"name": "a"}]}),
    ],
)
@responses.activate
def test_create_wraps_the_data_in_objects(data: Any, sent: Any) -> None:
    recorder = Recorder()
    assert make(resource.Server).create(data) == {"uuid": UUID}
    assert recorder.calls == [("POST", P + "servers/", {}, sent)]


@pytest.mark.parametrize("data", ["name", 5, None])
@responses.activate
def test_create_rejects_other_data_before_sending(data: Any) -> None:
    recorder = Recorder()
    with pytest.raises(TypeError, match="dict or a list"):
        make(resource.Server).create(data)
    assert recorder.calls == []


@responses.activate
def test_create_of_several_returns_a_list() -> None:
    Recorder(answer={"objects": [{"uuid": "a"}, {"uuid": "b"}]}, status=201)
    assert make(resource.Drive).create([{}, {}]) == [{"uuid": "a"}, {"uuid": "b"}]


@responses.activate
def test_get_price_returns_the_price() -> None:
    recorder = Recorder(answer={"objects": [{"price": "12.5"}]})
    assert make(resource.SubscriptionCalculator).get_price(2000, "1 month", "cpu") == "12.5"
    assert recorder.calls[0][3] == {
        "objects": [{"amount": 2000, "period": "1 month", "resource": "cpu"}]
    }


@responses.activate
def test_upload_chunk_link() -> None:
    recorder = Recorder(answer={"link": "/api/2.0/upload_link/abc"})
    link = make(resource.Drive).get_upload_chunk_link(UUID, 3, chunk_size=1024)
    assert link == "/api/2.0/upload_link/abc"
    assert recorder.calls[0][2:] == (
        {"do": "upload_chunk"},
        {"chunk_number": 3, "chunk_size": 1024},
    )


IMAGE = bytes(range(256)) * 10 + b"\xff\xfe\x00t"  # 2564 bytes, not valid UTF-8


@pytest.mark.parametrize(
    ("chunk_number", "chunk_size", "span"),
    [(0, 1000, (0, 1000)), (1, 1000, (1000, 1564)), (0, 4096, (0, 2564)), (0, 2564, (0, 2564))],
)
@responses.activate
def test_upload_chunk_posts_the_raw_bytes_of_the_chunk(
    tmp_path: Path, chunk_number: int, chunk_size: int, span: tuple[int, int]
) -> None:
    image = tmp_path / "image.raw"
    image.write_bytes(IMAGE)
    responses.post(API + "upload_link/abc/", status=200, json={})
    answer = make(resource.Drive).upload_chunk(
        "/api/2.0/upload_link/abc", str(image), chunk_number, chunk_size
    )
    assert answer.status_code == 200
    request = responses.calls[0].request
    offset, length = span
    assert request.body == IMAGE[offset : offset + length]
    assert request.headers["Content-Type"] == "application/octet-stream"
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(("size", "number", "chunk"), [(10, 1, 10), (10, -1, 5), (10, 0, 0)])
def test_chunk_span_rejects_chunks_that_do_not_exist(size: int, number: int, chunk: int) -> None:
    with pytest.raises(ValueError, match="chunk"):
        resource.chunk_span(size, number, chunk)


@responses.activate
def test_initupload_takes_name_and_size_from_the_image(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    image.write_bytes(b"x" * 1234)
    recorder = Recorder(status=201)
    data = {"media": "disk"}
    make(resource.InitUpload).create(data, avoid="d1", image_path=str(image))
    assert recorder.calls == [
        (
            "POST",
            P + "initupload/",
            {"avoid": "d1"},
            {"objects": [{"media": "disk", "name": "disk.img", "size": 1234}]},
        )
    ]
    assert data == {"media": "disk"}


@responses.activate
def test_response_hook_can_be_attached_and_detached() -> None:
    Recorder()
    drives = make(resource.Drive)
    seen: list[str] = []
    drives.attach_response_hook(lambda response, *a, **k: seen.append(response.request.method))
    drives.list()
    drives.detach_response_hook()
    drives.list()
    assert seen == ["GET"]


def test_from_client_shares_the_client() -> None:
    client = GenericClient(API, USERNAME, PASSWORD)
    drives = resource.Drive.from_client(client)
    assert drives.c is client and isinstance(drives, resource.Drive)
    assert PASSWORD not in repr(drives)


def test_resource_without_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="resource_name"):
        resource.ResourceBase(API, USERNAME, PASSWORD).list()


# --- waiting ---------------------------------------------------------------------------------


class FakeClock:
    """Monotonic time that moves only when the code under test sleeps."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        monkeypatch.setattr(resource, "_monotonic", lambda: self.now)
        monkeypatch.setattr(resource, "_sleep", self.sleep)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return FakeClock(monkeypatch)


def serve_statuses(statuses: list[Any]) -> None:
    """Answer GET of the drive with these statuses in turn (an int is an error status)."""
    for status in statuses:
        if isinstance(status, int):
            responses.get(f"{API}drives/{UUID}/", status=status, json=[{"error_type": "notexist"}])
        else:
            responses.get(f"{API}drives/{UUID}/", json={"uuid": UUID, "status": status})


@responses.activate
def test_wait_for_status_returns_the_object_once_it_has_the_status(clock: FakeClock) -> None:
    serve_statuses(["creating", "creating", "unmounted"])
    drive = make(resource.Drive).wait_for_status(UUID, "unmounted", timeout=60, interval=2)
    assert drive == {"uuid": UUID, "status": "unmounted"}
    assert clock.sleeps == [2, 3.0]


@responses.activate
def test_wait_for_status_accepts_any_of_several(clock: FakeClock) -> None:
    serve_statuses(["resizing", "mounted"])
    policy = WaitPolicy(timeout=10, interval=1, factor=1)
    drive = make(resource.Drive).wait_for_status(UUID, ("mounted", "unmounted"), policy=policy)
    assert drive["status"] == "mounted" and clock.sleeps == [1]


@responses.activate
def test_wait_for_status_timeout_names_resource_uuid_wanted_and_last_status(
    clock: FakeClock,
) -> None:
    serve_statuses(["creating", "cloning_dst"])
    with pytest.raises(errors.WaitTimeoutError) as caught:
        make(resource.Drive).wait_for_status(UUID, "unmounted", timeout=30, interval=5)
    message = str(caught.value)
    assert message == (
        f"drives {UUID} did not reach status unmounted within 30 s; last seen status: cloning_dst"
    )
    assert isinstance(caught.value, TimeoutError)
    assert clock.sleeps == [5, 7.5, 10.0, 7.5]  # the last poll happens at the deadline


@responses.activate
def test_wait_for_status_polls_once_more_at_the_deadline(clock: FakeClock) -> None:
    serve_statuses(["creating"] * 3 + ["unmounted"])
    policy = WaitPolicy(timeout=10, interval=4, factor=1)
    drive = make(resource.Drive).wait_for_status(UUID, "unmounted", policy=policy)
    assert drive["status"] == "unmounted" and clock.sleeps == [4, 4, 2]


@responses.activate
def test_wait_for_status_raises_api_errors(clock: FakeClock) -> None:
    serve_statuses([404])
    with pytest.raises(errors.ClientError):
        make(resource.Drive).wait_for_status(UUID, "unmounted", timeout=30)


@responses.activate
def test_wait_deleted_returns_on_404(clock: FakeClock) -> None:
    serve_statuses(["unmounted", "unmounted", 404])
    assert make(resource.Drive).wait_deleted(UUID, timeout=60) is None
    assert len(clock.sleeps) == 2


@responses.activate
def test_wait_deleted_times_out_naming_the_object(clock: FakeClock) -> None:
    serve_statuses(["mounted"])
    with pytest.raises(errors.WaitTimeoutError, match=f"drives {UUID} was not deleted within 5 s"):
        make(resource.Drive).wait_deleted(UUID, timeout=5)


@responses.activate
def test_wait_deleted_raises_other_errors(clock: FakeClock) -> None:
    serve_statuses([403])
    with pytest.raises(errors.PermissionError):
        make(resource.Drive).wait_deleted(UUID, timeout=5)


@pytest.mark.parametrize(
    "kwargs", [{"timeout": -1}, {"interval": 0}, {"factor": 0.5}, {"max_interval": 0}]
)
def test_invalid_wait_policy_is_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        WaitPolicy(**kwargs)


def test_wait_policy_intervals_grow_up_to_the_maximum() -> None:
    intervals = WaitPolicy(interval=1, factor=2, max_interval=5).intervals()
    assert [next(intervals) for _ in range(5)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    ("policy", "sleeps"),
    [
        (WaitPolicy(timeout=0), []),
        (WaitPolicy(timeout=1, interval=5), [1]),
        (WaitPolicy(timeout=7, interval=2, factor=2, max_interval=3), [2, 3, 2]),
    ],
)
def test_wait_policy_polls_at_once_then_after_each_interval_until_the_deadline(
    policy: WaitPolicy, sleeps: list[float]
) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    polls = list(policy.polls(sleep, lambda: now[0]))
    assert slept == sleeps
    assert polls == list(range(len(sleeps) + 1))


# --- paging ----------------------------------------------------------------------------------


def serve_pages(total: int, path: str = "drives/") -> list[dict[str, str]]:
    """Serve ``total`` drives with limit/offset paging; returns the queries seen."""
    queries: list[dict[str, str]] = []
    drives = [{"uuid": f"d{i}"} for i in range(total)]

    def page(request: Any) -> tuple[int, dict[str, str], str]:
        query = dict(parse_qsl(urlsplit(request.url).query))
        queries.append(query)
        limit, offset = int(query["limit"]), int(query["offset"])
        body = {
            "meta": {"limit": limit, "offset": offset, "total_count": total},
            "objects": drives[offset : offset + limit],
        }
        return 200, {}, json.dumps(body)

    responses.add_callback("GET", API + path, callback=page)
    return queries


@pytest.mark.parametrize(
    ("total", "page_size", "requests"), [(7, 3, 3), (6, 3, 2), (0, 3, 1), (1, 100, 1)]
)
@responses.activate
def test_iter_all_pages_through_everything(total: int, page_size: int, requests: int) -> None:
    queries = serve_pages(total)
    drives = list(make(resource.Drive).iter_all({"status": "mounted"}, page_size=page_size))
    assert drives == [{"uuid": f"d{i}"} for i in range(total)]
    assert len(queries) == requests
    assert [q["offset"] for q in queries] == [str(page_size * i) for i in range(requests)]
    assert all(q["limit"] == str(page_size) and q["status"] == "mounted" for q in queries)


@responses.activate
def test_iter_all_follows_total_count_when_the_server_caps_the_page() -> None:
    drives = [{"uuid": f"d{i}"} for i in range(5)]
    for offset in (0, 2, 4):
        page = {"meta": {"limit": 2, "total_count": 5}, "objects": drives[offset : offset + 2]}
        responses.get(API + "drives/", json=page)
    assert list(make(resource.Drive).iter_all(page_size=100)) == drives
    offsets = [dict(parse_qsl(urlsplit(c.request.url).query))["offset"] for c in responses.calls]
    assert offsets == ["0", "2", "4"]


@responses.activate
def test_iter_all_without_total_count_stops_at_a_short_page() -> None:
    responses.get(API + "drives/", json={"objects": [{"uuid": "a"}, {"uuid": "b"}]})
    responses.get(API + "drives/", json={"objects": [{"uuid": "c"}]})
    assert len(list(make(resource.Drive).iter_all(page_size=2))) == 3
    assert len(responses.calls) == 2


@responses.activate
def test_iter_detail_uses_the_detail_listing() -> None:
    serve_pages(4, path="servers/detail/")
    assert len(list(make(resource.Server).iter_detail(page_size=2))) == 4


@responses.activate
def test_iter_all_of_a_bare_list_yields_it_once() -> None:
    responses.get(API + "servers/availability_groups/", json=[["a", "b"], ["c"]])
    groups = list(make(resource.ServersAvailabilityGroups).iter_all())
    assert groups == [["a", "b"], ["c"]]
    assert len(responses.calls) == 1


def test_iter_all_rejects_a_page_size_below_one() -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(make(resource.Drive).iter_all(page_size=0))
