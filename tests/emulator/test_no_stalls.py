"""One heavy request never stalls the others: sizes are checked before any work, and CPU-heavy
work runs off the event loop while cheap requests are answered."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from emulator_support import assert_api_error, state_of

from cloudsigma.emulator.models import network


@pytest.mark.parametrize("amount", [501, 1_000_000, 10**8])
@pytest.mark.parametrize("resource", ["ip", "vlan"])
def test_buying_more_addresses_than_a_request_may_is_refused_before_any_work(
    emu, api, resource, amount
):
    before = state_of(emu)
    answer = api.post(
        "subscriptions/", json={"resource": resource, "amount": amount, "period": "1 month"}
    )
    error = assert_api_error(answer, 400, "validation", "at most 500")
    assert error["error_point"] == "amount"
    assert state_of(emu) == before


def test_many_small_ip_subscriptions_count_together(emu, api):
    body = {"objects": [{"resource": "ip", "amount": 300, "period": "1 month"}] * 2}
    assert_api_error(api.post("subscriptions/", json=body), 400, "validation", "600")


def test_three_addresses_make_three_subscriptions(emu, api):
    created = api.ok(
        "POST", "subscriptions/", 201, json={"resource": "ip", "amount": 3, "period": "1 month"}
    )
    assert [s["amount"] for s in created["objects"]] == ["1", "1", "1"]


def test_cheap_requests_are_answered_while_keys_are_being_generated(
    emu, api, monkeypatch: pytest.MonkeyPatch
):
    generating, release = threading.Event(), threading.Event()
    original = network.generate_keypair

    def slow_generation(algorithm: str) -> tuple[str, str]:
        generating.set()
        assert release.wait(30), "the cheap request was never answered"
        return original(algorithm)

    monkeypatch.setattr(network, "generate_keypair", slow_generation)
    answers: list[Any] = []
    heavy = threading.Thread(
        target=lambda: answers.append(api.post("keypairs/", json={"name": "k"}))
    )
    heavy.start()
    try:
        assert generating.wait(10)
        assert api.get("drives/").status_code == 200  # while the key is made
        assert heavy.is_alive()
    finally:
        release.set()
        heavy.join(30)
    created = answers[0].json()["objects"][0]
    assert answers[0].status_code == 201 and created["public_key"].startswith("ssh-rsa ")
    assert created["fingerprint"].count(":") == 15
