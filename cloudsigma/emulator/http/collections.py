"""The handlers of every collection route: listing, one object, create, update, delete,
actions, schema. They treat every collection alike; what differs is data on the collection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..backend import Backend
from ..models.errors import ApiError, validation
from ..models.kernel import Account, Collection, Singleton
from ..models.listing import make_filter, order, page, select_fields
from .parsing import BodyReader, objects_of
from .responses import empty_response, json_response


def offers(collection: Collection, handler: str) -> bool:
    """Whether ``collection`` really serves the route ``handler`` (a row of the route table
    names every collection alike; what each offers is data on the collection)."""
    methods = collection.methods
    singleton = isinstance(collection, Singleton)
    checks = {
        "list": singleton or "list" in methods,
        "list_detail": not singleton and "list" in methods,
        "get": not singleton and "get" in methods,
        "create": "create" in methods,
        "put_collection": hasattr(collection, "write")
        and ("update" in methods or collection.name == "notification_preferences"),
        "update": not singleton and "update" in methods,
        "delete": not singleton and "delete" in methods,
        "bulk_delete": collection.bulk_delete,
        "action": bool(collection.actions),
        "collection_action": bool(collection.actions),
        "availability_groups": hasattr(collection, "availability_groups"),
        "availability_group": hasattr(collection, "availability_groups"),
        "runtime": collection.name == "servers",
        "related": collection.name == "tags",
        "related_detail": collection.name == "tags",
    }
    return checks.get(handler, True)


class CollectionHandlers:
    """``/<res>/...`` for every collection of the backend."""

    def __init__(self, backend: Backend, bodies: BodyReader) -> None:
        self.backend = backend
        self.bodies = bodies

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

    def collection(self, name: str, method: str | None = None) -> Collection:
        """The collection served at ``/<name>/``.

        :raises ApiError: 404 for an unknown name, 405 when it does not offer ``method``.
        """
        found = self.backend.collections.get(name)
        if found is None:
            raise ApiError(404, "notexist", f"no resource {name!r} in this API")
        if method is not None and method not in found.methods:
            raise ApiError(405, "validation", f"{method} is not allowed on /{name}/")
        return found

    # reading ----------------------------------------------------------------
    def listing_answer(
        self, request: web.Request, account: Account, name: str, detail: bool
    ) -> web.Response:
        collection = self.collection(name)
        if isinstance(collection, Singleton):
            return json_response(200, collection.read(account))
        if "list" not in collection.methods:
            raise ApiError(405, "validation", f"GET is not allowed on /{name}/")
        query = request.query
        objects = collection.listing(account, dict(query))
        predicate = make_filter(query.items(), collection.own_filters)
        if predicate is not None:
            objects = [obj for obj in objects if predicate(obj)]
        objects = order(objects, query)
        chosen, meta = page(objects, query, collection.default_limit)
        chosen = select_fields(chosen, query, None if detail else collection.short_fields)
        body = {"meta": meta, "objects": chosen}
        extra = getattr(collection, "envelope", None)
        if extra is not None:
            body.update(extra(account, objects))
        return json_response(200, body)

    async def on_list(self, request: web.Request, account: Account, res: str) -> web.Response:
        return self.listing_answer(request, account, res, detail=False)

    async def on_list_detail(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        return self.listing_answer(request, account, res, detail=True)

    async def on_get(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.collection(res)
        if "get" not in collection.methods or isinstance(collection, Singleton):
            raise ApiError(405, "validation", f"GET is not allowed on /{res}/<uuid>/")
        obj = collection.get(account, uuid)
        if "fields" in request.query:
            obj = select_fields([obj], request.query, None)[0]
        return json_response(200, obj)

    async def on_schema(self, request: web.Request, account: Account, res: str) -> web.Response:
        return json_response(200, self.collection(res).schema())

    # writing ----------------------------------------------------------------
    async def on_create(self, request: web.Request, account: Account, res: str) -> web.Response:
        collection = self.collection(res)
        if isinstance(collection, Singleton):
            if "create" not in collection.methods:
                raise ApiError(405, "validation", f"POST is not allowed on /{res}/")
            status, body = collection.write(account, await self.bodies.json(request, {}))
            return json_response(status, body)
        if "create" not in collection.methods:
            raise ApiError(405, "validation", f"POST is not allowed on /{res}/")
        items = objects_of(await self.bodies.json(request))
        created = collection.create_many(account, items, dict(request.query))
        answer = getattr(collection, "create_answer", None)
        body = answer(created) if answer else {"objects": created}
        response = json_response(collection.create_status, body)
        if response.status == 201 and created:
            response.headers["Location"] = created_location(request, res, created[0])
        return response

    async def on_put_collection(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        collection = self.collection(res)
        writer = getattr(collection, "write", None)
        if writer is None or (
            "update" not in collection.methods and res != "notification_preferences"
        ):
            raise ApiError(405, "validation", f"PUT is not allowed on /{res}/")
        status, body = writer(account, await self.bodies.json(request))
        return json_response(status, body)

    async def on_update(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.collection(res, "update")
        body = await self.bodies.json_object(request)
        return json_response(collection.update_status, collection.update(account, uuid, body))

    async def on_delete(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection = self.collection(res, "delete")
        body = collection.delete(account, uuid, dict(request.query))
        if body is None:
            return empty_response()
        return json_response(collection.delete_status, body)

    async def on_bulk_delete(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        collection = self.collection(res)
        if not collection.bulk_delete:
            raise ApiError(405, "validation", f"DELETE is not allowed on /{res}/")
        items = objects_of(await self.bodies.json(request))
        uuids = []
        for item in items:
            uuid = item.get("uuid") if isinstance(item, dict) else item
            if not isinstance(uuid, str):
                raise validation("each object to delete needs a uuid", "objects")
            uuids.append(uuid)
        collection.delete_many(account, uuids)
        return empty_response()

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
        if uuid is not None and res not in ("subscriptioncalculator",):
            collection.find(account, uuid)
        status, answer = collection.action(account, uuid, name, body, dict(request.query))
        return json_response(status, answer)

    # parts of objects -------------------------------------------------------
    def placed(self, res: str) -> Collection:
        """The collection, which must place its objects (drives and servers).

        :raises ApiError: 404 for the others.
        """
        collection = self.collection(res)
        if not hasattr(collection, "availability_groups"):
            raise ApiError(404, "notexist", f"/{res}/ has no availability groups")
        return collection

    async def on_availability_groups(
        self, request: web.Request, account: Account, res: str
    ) -> web.Response:
        collection: Any = self.placed(res)
        return json_response(200, collection.availability_groups(account))

    async def on_availability_group(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        collection: Any = self.placed(res)
        return json_response(200, collection.availability_group(account, uuid))

    async def on_runtime(
        self, request: web.Request, account: Account, res: str, uuid: str
    ) -> web.Response:
        return json_response(200, self.collection(res).find(account, uuid)["runtime"])

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
