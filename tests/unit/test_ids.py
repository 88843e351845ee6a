"""Every id given to the SDK names one object, or the call fails before anything is sent.

Ids are generated: path traversal, empty strings, None, slashes, '?', '#', escapes such as
``%2f``, whitespace and any other text, against every method of every resource that takes
an id, the transfers, the bulk helpers and the command line.
"""

from __future__ import annotations

import inspect
import uuid as uuid_module
from typing import Any

import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st
from unit_support import API, PASSWORD, USERNAME

from cloudsigma import _ids, errors, resource
from cloudsigma.bulk import DrivesBulk
from cloudsigma.download import Download
from cloudsigma.generic import GenericClient
from cloudsigma.resumable_upload import Upload
from cloudsigma.upload_client import CSUploader

SEED_SETTINGS = settings(max_examples=60, derandomize=True, deadline=None)
DRIVE = "5c33a9b1-0000-4000-8000-000000000001"


class NothingMayBeSent(requests.adapters.BaseAdapter):
    """Fails any request: an invalid id must be refused before the HTTP layer."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(f"{request.method} {request.url}")
        raise AssertionError(f"sent {request.method} {request.url}")

    def close(self) -> None:
        pass


def quiet_client() -> tuple[GenericClient, NothingMayBeSent]:
    client = GenericClient(API, USERNAME, PASSWORD, retry=0)
    adapter = NothingMayBeSent()
    client.http.mount("https://", adapter)
    client.http.mount("http://", adapter)
    return client, adapter


def id_methods() -> list[tuple[type[resource.ResourceBase], str, str]]:
    """``(class, method, argument)`` for every public resource method whose first
    parameter is an id (``uuid``, ``virtual_router_uuid``, ...)."""
    found = []
    for name in resource.__all__:
        cls = getattr(resource, name)
        if not (isinstance(cls, type) and issubclass(cls, resource.ResourceBase)):
            continue
        if cls.resource_name is None:
            continue
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            if method_name.startswith("_") or method_name in ("get_from_url", "upload_chunk"):
                continue
            params = list(inspect.signature(method).parameters)[1:]
            if params and (params[0] == "uuid" or params[0].endswith("_uuid")):
                found.append((cls, method_name, params[0]))
    return found


ID_METHODS = id_methods()


def call_with_id(cls: type[resource.ResourceBase], method: str, value: Any) -> Any:
    client, adapter = quiet_client()
    api = cls.from_client(client)
    bound = getattr(api, method)
    params = list(inspect.signature(bound).parameters.values())[1:]
    extra = [{} if p.default is inspect.Parameter.empty else p.default for p in params]
    extra = [
        "running" if p.name == "status" else "drives" if p.name == "resource_name" else e
        for p, e in zip(params, extra, strict=True)
        if p.default is inspect.Parameter.empty
    ]
    try:
        bound(value, *extra)
    finally:
        assert adapter.sent == []


def valid_for(kind: str | None, text: str) -> bool:
    try:
        _ids.check_id(text, kind or _ids.SEGMENT)
    except errors.InvalidIdError:
        return False
    return True


HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "../servers/" + DRIVE,
        DRIVE + "/../../servers",
        "..",
        ".",
        "a/b",
        DRIVE + "/",
        DRIVE + "?x=1",
        DRIVE + "#frag",
        "%2e%2e%2fservers",
        DRIVE.replace("-", "%2d"),
        " " + DRIVE,
        DRIVE + "\n",
        "\u2028",
        "ｄｒｉｖｅ",
        DRIVE.upper().replace("A", "Ａ"),
        "\x00",
    ]
)
IDS = st.one_of(HOSTILE, st.text(max_size=40), st.none(), st.integers(), st.binary(max_size=10))


def id_is_optional(cls: type[resource.ResourceBase], method: str) -> bool:
    """Whether the method's id defaults to None (None then means the collection)."""
    first = list(inspect.signature(getattr(cls, method)).parameters.values())[1]
    return first.default is None


def has_ids(cls: type[resource.ResourceBase]) -> bool:
    """A collection of objects with ids (not one like Balance, whose get() takes none)."""
    get_params = list(inspect.signature(cls.get).parameters)[1:]
    return cls.id_kind is not None and bool(get_params)


#: Resource methods with an id, for collections that have ids.
WITH_IDS = [entry for entry in ID_METHODS if has_ids(entry[0])]
#: How many (method, id) pairs to generate: ``make test`` runs a few per method.
GENERATED = 4 * len(WITH_IDS)


@settings(max_examples=GENERATED, derandomize=True, deadline=None)
@example(entry=WITH_IDS[0], value="")
@example(entry=WITH_IDS[0], value=None)
@example(entry=WITH_IDS[0], value="../servers/" + DRIVE)
@given(entry=st.sampled_from(WITH_IDS), value=IDS)
def test_an_id_that_names_no_single_object_is_refused_before_sending(
    entry: tuple[type[resource.ResourceBase], str, str], value: Any
) -> None:
    cls, method, argument = entry
    kind = cls.id_kind or _ids.SEGMENT
    if value is None and id_is_optional(cls, method):
        return  # such as Accounts.allowed_methods(uuid=None): the collection itself
    if isinstance(value, bytes):
        text = value.decode("ascii", "replace")
        if valid_for(kind, text) and text.isascii():
            return  # a well-formed id: covered below
    if isinstance(value, str) and valid_for(kind, value):
        return
    if isinstance(value, int) and kind in (_ids.NUMBER, _ids.UUID_OR_NUMBER) and value >= 0:
        return
    with pytest.raises(errors.InvalidIdError) as caught:
        call_with_id(cls, method, value)
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, errors.ApiClientError)
    assert error.argument == argument and argument in str(error)
    assert "nothing was sent" in str(error)


@pytest.mark.parametrize(
    ("cls", "method", "argument"), WITH_IDS, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_every_method_with_an_id_refuses_traversal(
    cls: type[resource.ResourceBase], method: str, argument: str
) -> None:
    with pytest.raises(errors.InvalidIdError, match=argument):
        call_with_id(cls, method, "../servers/" + DRIVE)


def test_every_id_method_is_covered() -> None:
    names = {(cls.__name__, method) for cls, method, _ in ID_METHODS}
    assert {("Drive", "delete"), ("Drive", "get"), ("Server", "start"), ("IP", "get")} <= names
    assert ("VirtualRouters", "enable_nat") in names and ("Tags", "list_resource") in names


@pytest.mark.parametrize(
    ("cls", "good"),
    [
        (resource.Drive, DRIVE),
        (resource.Drive, DRIVE.upper()),
        (resource.IP, "185.12.6.183"),
        (resource.IP, "2a01:7e01::f03c:91ff:fe96:5c3b"),
        (resource.Licenses, "12"),
        (resource.Subscriptions, 7273),
        (resource.Subscriptions, str(uuid_module.UUID(int=7))),
        (resource.Locations, "ZRH"),
    ],
)
def test_a_well_formed_id_is_sent_as_one_path_segment(
    cls: type[resource.ResourceBase], good: Any
) -> None:
    client = GenericClient(API, USERNAME, PASSWORD, retry=0)
    import responses

    with responses.RequestsMock() as mock:
        mock.get(f"{API}{cls.resource_name}/{good}/", json={"uuid": str(good)})
        assert cls.from_client(client).get(good) == {"uuid": str(good)}


@pytest.mark.parametrize("cls", [resource.Drive, resource.Server, resource.IP, resource.Tags])
def test_get_without_an_id_is_refused_where_the_collection_has_ids(
    cls: type[resource.ResourceBase],
) -> None:
    client, adapter = quiet_client()
    with pytest.raises(errors.InvalidIdError, match="uuid None"):
        cls.from_client(client).get()
    assert adapter.sent == []


def test_get_without_an_id_reads_a_collection_that_has_none() -> None:
    import responses

    client = GenericClient(API, USERNAME, PASSWORD, retry=0)
    with responses.RequestsMock() as mock:
        mock.get(API + "balance/", json={"balance": "10", "currency": "CHF"})
        assert resource.Balance.from_client(client).get()["currency"] == "CHF"


@pytest.mark.parametrize(
    "url", ["/api/2.0/drives/../servers/x/", "/api/2.0/drives/%2e%2e/", "/api/2.0/drives/a/?x"]
)
def test_get_from_url_refuses_paths_that_could_name_another_object(url: str) -> None:
    client, adapter = quiet_client()
    with pytest.raises(errors.InvalidIdError, match="url"):
        resource.Drive.from_client(client).get_from_url(url)
    assert adapter.sent == []


def test_tags_list_resource_checks_the_collection_name_too() -> None:
    client, adapter = quiet_client()
    with pytest.raises(errors.InvalidIdError, match="resource_name"):
        resource.Tags.from_client(client).list_resource(DRIVE, "../servers")
    assert adapter.sent == []


@SEED_SETTINGS
@given(value=HOSTILE)
def test_transfers_and_bulk_helpers_refuse_bad_ids_before_sending(
    value: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    image = tmp_path_factory.mktemp("ids") / "image.raw"
    image.write_bytes(b"x" * 10)
    kwargs = {"api_endpoint": API, "username": USERNAME, "password": PASSWORD}
    attempts = [
        lambda: Download(value, image.with_suffix(".out"), generic_client_kwargs=kwargs),
        lambda: Upload(image, drive_uuid=value, generic_client_kwargs=kwargs),
        lambda: DrivesBulk(id_prefix="p", client=quiet_client()[0]).delete(value, "name"),
    ]
    if value:  # CSUploader treats an empty uuid as "create a drive", as pycloudsigma did
        attempts.append(lambda: CSUploader(API, image, 5, USERNAME, PASSWORD, uuid=value))
    for attempt in attempts:
        with pytest.raises(errors.InvalidIdError):
            attempt()


@pytest.mark.parametrize("bad", ["", "../servers/" + DRIVE, "a/b"])
def test_the_command_line_refuses_a_bad_id_and_sends_nothing(
    bad: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudsigma.cli import main

    deletes: list[str] = []

    def send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        if request.method == "DELETE":
            deletes.append(str(request.url))
        raise requests.ConnectionError("no API here")  # a name lookup finds nothing

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    monkeypatch.setenv("CLOUDSIGMA_API_ENDPOINT", API)
    monkeypatch.setenv("CLOUDSIGMA_USERNAME", USERNAME)
    monkeypatch.setenv("CLOUDSIGMA_PASSWORD", PASSWORD)
    status = main(["drives", "delete", bad])
    assert status != 0 and deletes == []
    assert repr(bad) in capsys.readouterr().err
