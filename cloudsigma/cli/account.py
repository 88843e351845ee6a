"""The account: ``balance``, ``usage``, ``pricing``, ``profile``, ``capabilities``, and the
subscription verbs ``extend`` and ``auto-renew``."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from cloudsigma.cli import values
from cloudsigma.cli.output import Column
from cloudsigma.cli.parsing import ParserKit
from cloudsigma.cli.refs import resolve
from cloudsigma.cli.resources import add_body_options, add_reference
from cloudsigma.cli.session import Session
from cloudsigma.cli.specs import RESOURCES, ResourceSpec, UsageError, subscribed_amount

__all__ = ["add_account_commands", "add_subscription_actions", "in_units"]


def _singleton(name: str, resource_name: str, class_name: str) -> ResourceSpec:
    return ResourceSpec(
        name=name, resource_name=resource_name, class_name=class_name, singular=name, columns=()
    )


BALANCE = _singleton("balance", "balance", "Balance")
CURRENT_USAGE = _singleton("usage", "currentusage", "CurrentUsage")
USAGE_SAMPLES = _singleton("usage samples", "usage", "Usage")
PRICING = _singleton("pricing", "pricing", "Pricing")
PROFILE = _singleton("profile", "profile", "Profile")
CAPABILITIES = _singleton("capabilities", "capabilities", "Capabilites")
SUBSCRIPTIONS = RESOURCES["subscriptions"]


def _get(session: Session, spec: ResourceSpec, query: dict[str, Any] | None = None) -> Any:
    """The bare answer of a collection that has no objects of its own (no envelope to unwrap)."""
    api = session.api(spec)
    return api.c.get_raw(api._get_url(), query_params=query)


def in_units(resource: str, amount: Any) -> str:
    """An amount of ``resource`` for people: MHz as GHz, bytes in binary units, counts as such."""
    return subscribed_amount({"resource": resource, "amount": amount})


# -- balance, usage, pricing --------------------------------------------------------------------


def _balance(args: argparse.Namespace, session: Session) -> int:
    balance = _get(session, BALANCE)
    columns = (
        Column("BALANCE", "balance"),
        Column("CURRENCY", "currency"),
        Column("CREDIT LIMIT", "credit_limit"),
    )
    session.show([balance] if not session.json_output else balance, columns, key="balance")
    return 0


def _usage_rows(usage: dict[str, Any], everything: bool) -> list[dict[str, Any]]:
    rows = []
    for resource, entry in sorted(usage.items()):
        if not isinstance(entry, dict):
            continue
        if not everything and not any(entry.get(k) for k in ("subscribed", "using", "burst")):
            continue
        rows.append(
            {"resource": resource}
            | {
                key: in_units(resource, entry.get(key, 0))
                for key in ("subscribed", "using", "burst")
            }
        )
    return rows


def _usage(args: argparse.Namespace, session: Session) -> int:
    if args.samples:
        query = {
            key: value
            for key, value in (("poll_time_gt", args.since), ("poll_time_lt", args.until))
            if value
        }
        samples = session.api(USAGE_SAMPLES).list(query)
        if not session.json_output:
            samples = [
                dict(sample, amount=in_units(str(sample.get("resource")), sample.get("amount")))
                for sample in samples
            ]
        columns = (
            Column("POLL TIME", "poll_time"),
            Column("RESOURCE", "resource"),
            Column("AMOUNT", "amount"),
            Column("OBJECT", "uuid"),
        )
        session.show(samples, columns)
        return 0
    current = _get(session, CURRENT_USAGE)
    if session.json_output or session.quiet:
        session.show(current, key="resource")
        return 0
    columns = (
        Column("RESOURCE", "resource"),
        Column("SUBSCRIBED", "subscribed"),
        Column("USING", "using"),
        Column("BURST", "burst"),
    )
    session.show(_usage_rows(current.get("usage") or {}, args.all), columns)
    balance = current.get("balance") or {}
    if balance:
        print(f"\nbalance: {balance.get('balance')} {balance.get('currency')}")
    return 0


def _plain_price(text: Any) -> str:
    try:
        return format(Decimal(str(text)).normalize(), "f")
    except InvalidOperation:
        return str(text)


def _pricing(args: argparse.Namespace, session: Session) -> int:
    answer = _get(session, PRICING, {"limit": 0})
    current = answer.get("current") or {}
    prices = [
        price
        for price in answer.get("objects") or ()
        if (not args.resource or price.get("resource") in args.resource)
        and (not args.currency or str(price.get("currency")).upper() == args.currency.upper())
        and (not args.current or price.get("level") in (0, current.get(price.get("resource"))))
    ]
    if not session.json_output:
        prices = [
            dict(
                price,
                price=_plain_price(price.get("price")),
                applies="subscription"
                if price.get("level") == 0
                else "burst now"
                if price.get("level") == current.get(price.get("resource"))
                else "-",
            )
            for price in prices
        ]
    columns = (
        Column("RESOURCE", "resource"),
        Column("LEVEL", "level"),
        Column("PRICE", "price"),
        Column("CURRENCY", "currency"),
        Column("UNIT", "unit"),
        Column("APPLIES", "applies"),
    )
    session.show(prices, columns, key="id")
    return 0


# -- profile and capabilities -------------------------------------------------------------------


def _coerce(current: Any, text: str, key: str) -> Any:
    """``text`` as the type the profile holds for ``key`` now (booleans, numbers or text)."""
    if isinstance(current, bool):
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            raise UsageError(f"--set {key}=...: {key} is true or false, not {text!r}")
        return lowered in ("true", "yes", "on", "1")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"--set {key}=...: {key} is a whole number, not {text!r}")
    if isinstance(current, dict | list):
        try:
            return json.loads(text)
        except ValueError:
            raise UsageError(f"--set {key}=...: {key} takes JSON, e.g. {json.dumps(current)}")
    return text


def _profile_get(args: argparse.Namespace, session: Session) -> int:
    session.show(session.api(PROFILE).get())
    return 0


def _profile_update(args: argparse.Namespace, session: Session) -> int:
    profiles = session.api(PROFILE)
    body = values.load_body(args.data, args.file)
    if not isinstance(body, dict):
        raise UsageError("--data/--file must hold a JSON object for profile update")
    if args.set:
        current = profiles.get()
        body.update({key: _coerce(current.get(key), text, key) for key, text in args.set})
    if not body:
        raise UsageError("nothing to update: give --set KEY=VALUE, --data or --file")
    session.show(profiles.update(body))
    return 0


def _capabilities(args: argparse.Namespace, session: Session) -> int:
    session.show(_get(session, CAPABILITIES))
    return 0


def _add_profile_command(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    profile = commands.add_parser(
        "profile",
        help="the account's profile: get, update",
        description="Show or change the account's profile (name, address, clone naming...).",
        formatter_class=kit.formatter,
        epilog="examples:\n  cloudsigma profile get\n"
        "  cloudsigma profile update --set company=Example --set clone_naming=COUNTER",
    )
    verbs = profile.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    kit.add(verbs, "get", "show the profile", _profile_get, examples=("cloudsigma profile get",))
    update = kit.add(
        verbs,
        "update",
        "change fields of the profile",
        _profile_update,
        examples=(
            "cloudsigma profile update --set first_name=Ada --set mailing_list=false",
            'cloudsigma profile update --data \'{"meta": {"team": "ops"}}\'',
        ),
    )
    update.add_argument(
        "--set",
        type=values.key_value,
        action="append",
        metavar="KEY=VALUE",
        help="set one field (typed as the profile has it); repeatable",
    )
    add_body_options(update)


def add_account_commands(commands: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``balance``, ``usage``, ``pricing``, ``profile`` and ``capabilities``."""
    kit.add(
        commands,
        "balance",
        "the account's balance",
        _balance,
        examples=("cloudsigma balance", "cloudsigma balance -q   # the number alone"),
    )
    usage = kit.add(
        commands,
        "usage",
        "what the account subscribes and uses now, per resource",
        _usage,
        description="Show, per resource, what is subscribed, what is in use and the burst "
        "(use beyond the subscriptions). --samples lists the usage polls instead.",
        examples=(
            "cloudsigma usage",
            "cloudsigma usage --all -o yaml",
            "cloudsigma usage --samples --since 2024-05-01",
        ),
    )
    usage.add_argument("--all", action="store_true", help="also resources with nothing in use")
    usage.add_argument("--samples", action="store_true", help="the usage polls (/usage/)")
    usage.add_argument("--since", metavar="DATE", help="with --samples: polls after this date")
    usage.add_argument("--until", metavar="DATE", help="with --samples: polls before this date")
    pricing = kit.add(
        commands,
        "pricing",
        "prices per resource and burst level",
        _pricing,
        description="List prices. Level 0 is the subscription price; the API's current burst "
        "level of each resource is marked 'burst now'.",
        examples=(
            "cloudsigma pricing --resource cpu --resource mem --currency EUR --current",
            "cloudsigma pricing -o json",
        ),
    )
    pricing.add_argument("--resource", action="append", metavar="NAME", help="repeatable")
    pricing.add_argument("--currency", metavar="CODE", help="EUR, USD, CHF, GBP...")
    pricing.add_argument(
        "--current", action="store_true", help="only subscription prices and current burst levels"
    )
    _add_profile_command(commands, kit)
    kit.add(
        commands,
        "capabilities",
        "the limits of the cloud: CPU, memory and drive sizes, snapshots...",
        _capabilities,
        examples=("cloudsigma capabilities -o yaml",),
    )


# -- subscriptions ------------------------------------------------------------------------------


def _extend(args: argparse.Namespace, session: Session) -> int:
    subscription_id = resolve(session, SUBSCRIPTIONS, args.ref)
    body = {"end_time": args.end_time} if args.end_time else {}
    if args.period:
        body["period"] = args.period
    session.show_object(session.api(SUBSCRIPTIONS).extend(subscription_id, body), SUBSCRIPTIONS)
    return 0


def _auto_renew(args: argparse.Namespace, session: Session) -> int:
    subscription_id = resolve(session, SUBSCRIPTIONS, args.ref)
    api = session.api(SUBSCRIPTIONS)
    answer = api.auto_renew(subscription_id, args.state == "on")
    # an empty answer is possible: show the subscription as it is now
    session.show_object(answer or api.get(subscription_id), SUBSCRIPTIONS)
    return 0


def add_subscription_actions(verbs: argparse._SubParsersAction, kit: ParserKit) -> None:
    """Add ``subscriptions extend ID`` and ``subscriptions auto-renew ID on|off``."""
    extend = kit.add(
        verbs,
        "extend",
        "buy more time for a subscription",
        _extend,
        description="Extend a subscription by a period (default: its own length) or to an end "
        "time; the extension is a new, linked subscription.",
        examples=("cloudsigma subscriptions extend 1234 --period '1 year'",),
    )
    add_reference(extend, SUBSCRIPTIONS)
    when = extend.add_mutually_exclusive_group()
    when.add_argument("--period", help="e.g. '1 month' (default: the subscription's length)")
    when.add_argument("--end-time", metavar="TIME", help="ISO date and time to extend to")

    renew = kit.add(
        verbs,
        "auto-renew",
        "turn automatic renewal on or off",
        _auto_renew,
        examples=("cloudsigma subscriptions auto-renew 1234 off",),
    )
    add_reference(renew, SUBSCRIPTIONS)
    renew.add_argument("state", choices=("on", "off"))
