"""The handlers of every collection route: listing, one object, create, update, delete,
actions, schema. They treat every collection alike; what differs is data on the collection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..backend import Backend
from ..models.errors import ApiError, validation
from ..models.kernel import API, Account, Collection, query_arguments
from ..models.listing import make_filter, order, page, select_fields
from .parsing import BodyReader, objects_of
from .responses import empty_response, json_response
from .strict import RequestChecks


def answer_or_empty(status: int, body: object) -> web.Response:
    """A JSON answer, or the empty one when ``status`` is 204."""
    return empty_response() if status == 204 else json_response(status, body)


#: The operations that serve each route of the table: a collection serves a route when it
#: offers one of them (OPTIONS answers from this).
ROUTE_OPERATIONS: dict[str, tuple[str, ...]] = {
    "list": ("read", "list"),
    "list_detail": ("list",),
    "get": ("get",),
    "create": ("create", "replace"),
    "put_collection": ("write",),
    "update": ("update",),
    "delete": ("delete",),
    "bulk_delete": ("bulk_delete",),
    "action": ("action",),
    "collection_action": ("action",),
    "availability_groups": ("availability_groups",),
    "availability_group": ("availability_groups",),
    "runtime": ("runtime",),
    "related": ("related",),
    "related_detail": ("related",),
}


def answers_visitors(collection: Collection, handler: str) -> bool:
    """Whether ``collection`` answers the route ``handler`` to a caller without credentials
    (an operation of its ``anonymous`` set serves the route)."""
    return any(op in collection.anonymous for op in ROUTE_OPERATIONS.get(handler, ()))


def serves(collection: Collection, handler: str) -> bool:
    """Whether ``collection`` really serves the route ``handler`` (a row of the route table
    names every collection alike; what each offers is data on the collection)."""
    operations = ROUTE_OPERATIONS.get(handler)
    return operations is None or any(collection.offers(op) for op in operations)


class CollectionHandlers:
    """``/<res>/...`` for every collection of the backend."""

    def __init__(self, backend: Backend, bodies: BodyReader, checks: RequestChecks) -> None:
        self.backend = backend
        self.bodies = bodies
        self.checks = checks

    def handlers(self) -> dict[str, Callable[..., Awaitable[web.StreamResponse]]]:
        return {
            "list": self.on_list,
            "list_detail": self.on_list_detail,
            "get": self.on_get,
            "schema": self.on_schema,
            "create": self.on_create,
            "put_collection": self.on_put_collection,
            "update": self.on_update,
            "delete": self.on_delete,
            "bulk_delete": self.on_bulk_delete,
            "action": self.on_action,
            "collection_action": self.on_collection_action,
            "availability_groups": self.on_availability_groups,
            "availability_group": self.on_availability_group,
            "runtime": self.on_runtime,
            "related": self.on_related,
            "related_detail": self.on_related_detail,
        }

    def collection(self, name: str) -> Collection:
        """The collection served at ``/<name>/``.

        :raises ApiError: 404 for an unknown name.
        """
        found = self.backend.collections.get(name)
        if found is None:
            raise ApiError(404, "notexist", f"no resource {name!r} in this API")
        return found

    def offered_on_one(self, name: str, method: str, operation: str) -> Collection:
        """The collection ``name`` when it offers ``operation`` on one of its objects.

        :raises ApiError: 405 (``method`` is not allowed on ``/<name>/<uuid>/``) when it does not.
        """
        collection = self.collection(name)
        if not collection.offers(operation):
            raise ApiError(405, "validation", f"{method} is not allowed on /{name}/<uuid>/")
        return collection

    def offered(self, name: str, method: str, *operations: str) -> tuple[Collection, str]:
        """The collection ``name`` and the first of ``operations`` it offers.

        :raises ApiError: 405 (``method`` is not allowed on ``/<name>/``) when it offers none.
        """
        collection = self.collection(name)
        for operation in operations:
            if collection.offers(operation):
                return collection, operation
        raise ApiError(405, "validation", f"{method} is not allowed on /{name}/")

    # reading ----------------------------------------------------------------
    def listing_answer(
        self, request: web.Request, account: Account, name: str, detail: bool
    ) -> web.Response:
        """``GET /<name>/``: the resource itself (``read``) or a page of the listing."""
        collection, operation = self.offered(name, "GET", "read", "list")
        if operation == "read":
            return json_response(200, collection.read(account))
        query = request.query
        rules = self.checks.check_listing(request, collection)
        objects = collection.listing(account, query)
        predicate = make_filter(query.items(), rules, lambda ref: self.referenced(account, ref))
        if predicate is not None:
            objects = [obj for obj in objects if predicate(obj)]
        objects = order(objects, query)
        chosen, meta = page(objects, query, collection.default_limit)
        chosen = select_fields(chosen, query, None if detail else collection.short_fields)
        body = {"meta": meta, "objects": chosen, **collection.envelope(account, objects)}
        return json_response(collection.status("list"), body)

    def referenced(self, account: Account, reference: dict) -> dict | None:
        """The object of ``account`` that a ``{"resource_uri", "uuid"}`` reference names."""
        uri = reference.get("resource_uri")
        if not isinstance(uri, str) or not uri.startswith(API):
            return None
        name = uri[len(API) :].split("/", 1)[0]
        found = account.objects.get(name, {}).get(str(reference.get("uuid")))
        return found if isinstance(found, dict) else None

    async def on_list(self, request: web.Request, account: Account, res: str) -> web.Response:
        return self.listing_answer(request, account, res, detail=False)

    async def on_list_detail(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        return self.listing_answer(request, account, res, detail=True)

    async def on_get(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.offered_on_one(res, "GET", "get")
        self.checks.check_parameters(request, "get", res)
        obj = collection.get(account, uuid)
        if "fields" in request.query:
            obj = select_fields([obj], request.query, None)[0]
        return json_response(collection.status("get"), obj)

    async def on_schema(self, request: web.Request, account: Account, res: str) -> web.Response:
        collection = self.collection(res)
        self.checks.check_parameters(request, "schema", res)
        return json_response(200, collection.schema())

    # writing ----------------------------------------------------------------
    async def on_create(self, request: web.Request, account: Account, res: str) -> web.Response:
        """``POST /<res>/``: create objects, or replace the resource itself (``replace``)."""
        collection, operation = self.offered(res, "POST", "create", "replace")
        if operation == "replace":
            body = collection.write(account, await self.bodies.json(request, {}))
            return json_response(collection.status("replace"), body)
        self.checks.check_parameters(request, "create", res)
        items = objects_of(await self.bodies.json(request))
        self.checks.check_fields(request, collection, items)
        if collection.heavy_create:
            loop = asyncio.get_running_loop()
            items = await loop.run_in_executor(None, collection.work_off_loop, items)
        created = collection.create_many(account, items, request.query)
        response = json_response(collection.status("create"), collection.create_answer(created))
        if response.status == 201 and created:
            response.headers["Location"] = created_location(request, res, created[0])
        return response

    async def on_put_collection(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        """``PUT /<res>/``: change the resource itself with the whole body."""
        collection, _ = self.offered(res, "PUT", "write")
        body = collection.write(account, await self.bodies.json(request))
        return json_response(collection.status("write"), body)

    async def on_update(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.offered_on_one(res, "PUT", "update")
        self.checks.check_parameters(request, "update", res)
        body = await self.bodies.json_object(request)
        current = collection.store(account).get(uuid)
        self.checks.check_fields(request, collection, [body], current=current)
        answer = collection.update(account, uuid, body)
        return json_response(collection.status("update"), answer)

    async def on_delete(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.offered_on_one(res, "DELETE", "delete")
        self.checks.check_parameters(request, "delete", res)
        arguments = query_arguments(collection.delete, request.query)
        body = collection.delete(account, uuid, **arguments)
        return answer_or_empty(collection.status("delete"), body)

    async def on_bulk_delete(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        collection, _ = self.offered(res, "DELETE", "bulk_delete")
        self.checks.check_parameters(request, "bulk_delete", res)
        items = objects_of(await self.bodies.json(request))
        uuids = []
        for item in items:
            uuid = item.get("uuid") if isinstance(item, dict) else item
            if not isinstance(uuid, str):
                raise validation("each object to delete needs a uuid", "objects")
            uuids.append(uuid)
        collection.delete_many(account, uuids)
        return answer_or_empty(collection.status("bulk_delete"), None)

    # actions ----------------------------------------------------------------
    async def on_action(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        return await self.run_action(request, account, res, uuid)

    async def on_collection_action(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        return await self.run_action(request, account, res, None)

    async def run_action(
        self, request: web.Request, account: Account, res: str, uuid: str | None
    ) -> web.Response:
        collection = self.collection(res)
        name = request.query.get("do")
        if not name:
            raise validation("say which action to run with ?do=NAME", "do")
        body = await self.bodies.json(request, {})
        if not isinstance(body, dict):
            raise validation("the action body must be a JSON object")
        handler = "action" if uuid is not None else "collection_action"
        self.checks.check_parameters(request, handler, res, name)
        self.checks.check_fields(request, collection, [body], action=name)
        answer = collection.action(account, uuid, name, body, request.query)
        return json_response(collection.status("action"), answer)

    # parts of objects -------------------------------------------------------
    def placed(self, res: str) -> Collection:
        """The collection, which must place its objects (it offers ``availability_groups``).

        :raises ApiError: 404 for the others.
        """
        collection = self.collection(res)
        if not collection.offers("availability_groups"):
            raise ApiError(404, "notexist", f"/{res}/ has no availability groups")
        return collection

    async def on_availability_groups(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        collection = self.placed(res)
        self.checks.check_parameters(request, "availability_groups", res)
        return json_response(200, collection.availability_groups(account))

    async def on_availability_group(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.placed(res)
        answer = collection.availability_group(account, uuid)
        self.checks.check_parameters(request, "availability_group", res)
        return json_response(200, answer)

    async def on_runtime(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        server = self.collection(res).find(account, uuid)
        self.checks.check_parameters(request, "runtime", res)
        return json_response(200, server["runtime"])

    async def on_related(
        self,
        request: web.Request,
        account: Account,
        res: str,
        uuid: str,
        kind: str,
        detail: bool = False,
    ) -> web.Response:
        objects = self.collection(res).related(account, uuid, kind)
        self.checks.check_parameters(request, "related_detail" if detail else "related", res)
        chosen, meta = page(objects, request.query, 20)
        short = None if detail else self.collection(kind).short_fields
        chosen = select_fields(chosen, request.query, short)
        return json_response(200, {"meta": meta, "objects": chosen})

    async def on_related_detail(
        self, request: web.Request, account: Account, res: str, uuid: str, kind: str
    ) -> web.Response:
        return await self.on_related(request, account, res, uuid, kind, detail=True)


def created_location(request: web.Request, res: str, created: dict) -> str:
    """The absolute URL of a created object (of the first, when several were created)."""
    uri = created.get("resource_uri") or f"/api/2.0/{res}/{created.get('uuid')}/"
    return f"{request.url.origin()}{uri}"
