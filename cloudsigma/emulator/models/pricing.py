"""The price list (``/pricing/``) and what things cost: subscriptions (the level-0 price x
amount x period, less the period discount) and burst (the current level's price).

A price row is ``{id, resource, unit, price, currency, level, multiplier}``: ``price`` is
the cost of ``multiplier`` base units held for one second, so ``amount x seconds x price /
multiplier`` is what ``amount`` base units cost for ``seconds`` (``dssd``: ``GB/month`` with
multiplier ``2**30 x 30 x 86400``). Units without a period (``GB`` of traffic, ``sms``) cost
``amount x price / multiplier`` whatever the time.

The recorded page (``pricing_list``) shows dssd at level 0 (USD 0.14) and level 1 (EUR 0.21,
USD 0.28, GBP 0.182, CHF 0.266): level 1 is twice level 0, and the currencies stand in the
ratios 1 : 4/3 : 13/15 : 19/15. Every other row follows those rules from the level-0 EUR prices
below, which are this emulator's own (the live list has 3025 rows nobody recorded).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

MONTH = 30 * 86400
GIB = 1024**3
#: Burst levels 0 (the subscription price) to 10; level n >= 1 costs (1 + n) x level 0.
LEVELS = range(11)
CURRENCIES = {
    "EUR": Fraction(1),
    "USD": Fraction(4, 3),
    "GBP": Fraction(13, 15),
    "CHF": Fraction(19, 15),
}
#: resource -> (unit, multiplier, level-0 price in EUR).
RATES: dict[str, tuple[str, int, str]] = {
    "cpu": ("GHz/month", 1000 * MONTH, "5.40"),
    "mem": ("GB/month", GIB * MONTH, "4.50"),
    "intel_cpu": ("GHz/month", 1000 * MONTH, "6.00"),
    "intel_mem": ("GB/month", GIB * MONTH, "4.50"),
    "cpu_vmware": ("GHz/month", 1000 * MONTH, "8.00"),
    "mem_vmware": ("GB/month", GIB * MONTH, "6.00"),
    "dssd": ("GB/month", GIB * MONTH, "0.105"),
    "ssd": ("GB/month", GIB * MONTH, "0.105"),
    "zadara": ("GB/month", GIB * MONTH, "0.15"),
    "nvme": ("GB/month", GIB * MONTH, "0.20"),
    "dssd_vmware": ("GB/month", GIB * MONTH, "0.20"),
    "backup": ("GB/month", GIB * MONTH, "0.05"),
    "disaster_recovery": ("GB/month", GIB * MONTH, "0.08"),
    "migration": ("GB/month", GIB * MONTH, "0.05"),
    "object_storage": ("GB/month", GIB * MONTH, "0.02"),
    "epc": ("GB/month", GIB * MONTH, "40.00"),
    "ip": ("IP/month", MONTH, "3.00"),
    "ip_vmware": ("IP/month", MONTH, "4.00"),
    "vlan": ("VLAN/month", MONTH, "6.00"),
    "vlan_vmware": ("VLAN/month", MONTH, "8.00"),
    "vlan_ecx": ("VLAN/month", MONTH, "20.00"),
    "vlan_ecx_200": ("VLAN/month", MONTH, "50.00"),
    "vlan_ecx_500": ("VLAN/month", MONTH, "100.00"),
    "vlan_ecx_1000": ("VLAN/month", MONTH, "200.00"),
    "vpc": ("VPC/month", MONTH, "30.00"),
    "virtual_private_cloud": ("VPC/month", MONTH, "30.00"),
    "dedicated_host_6148": ("host/month", MONTH, "1900.00"),
    "dedicated_node_small": ("host/month", MONTH, "600.00"),
    "dedicated_node_medium": ("host/month", MONTH, "1100.00"),
    "dedicated_node_large": ("host/month", MONTH, "1900.00"),
    "vrouter_basic": ("router/month", MONTH, "10.00"),
    "vrouter_basic_500": ("router/month", MONTH, "20.00"),
    "vrouter_premium": ("router/month", MONTH, "30.00"),
    "vrouter_enterprise": ("router/month", MONTH, "50.00"),
    "tx": ("GB", GIB, "0.04"),
    "tx_local": ("GB", GIB, "0.00"),
    "tx_foreign": ("GB", GIB, "0.04"),
    "rx_local": ("GB", GIB, "0.00"),
    "rx_foreign": ("GB", GIB, "0.00"),
    "tx_vmware": ("GB", GIB, "0.05"),
    "sms": ("sms", 1, "0.08"),
}
#: The price of a license per month (one license, or one core of a per-core license).
LICENSE_PRICE = "15.00"
#: The rows of the recorded page keep their ids; (resource, level, currency) -> id.
RECORDED_IDS = {
    ("dssd", 1, "GBP"): "656",
    ("dssd", 1, "EUR"): "636",
    ("dssd", 1, "USD"): "616",
    ("dssd", 1, "CHF"): "596",
    ("dssd", 0, "USD"): "307",
}
#: Usage keys of /currentusage/ and /usage/ -> the price resource their burst is billed as.
BURST_RESOURCE = {
    "amd_cpu": "cpu",
    "amd_mem": "mem",
    "sparc_t4_cpu": "cpu",
    "sparc_t4_mem": "mem",
    "sparc_t5_cpu": "cpu",
    "sparc_t5_mem": "mem",
    "intel_cpu": "intel_cpu",
    "intel_mem": "intel_mem",
    "vmware_cpu": "cpu_vmware",
    "vmware_mem": "mem_vmware",
    "dssd": "dssd",
    "ssd": "ssd",
    "magnetic": "dssd",
    "zadara": "zadara",
    "nvme": "nvme",
    "local_nvme": "nvme",
}


def is_timed(unit: str) -> bool:
    """Whether a unit is held over time (``GB/month``) rather than used once (``GB``)."""
    return "/" in unit


def as_text(value: Fraction) -> str:
    """A money amount as the API writes it: a decimal with 20 places."""
    with localcontext() as context:
        context.prec = 60
        number = Decimal(value.numerator) / Decimal(value.denominator)
        return str(number.quantize(Decimal(10) ** -20))


class PriceList:
    """Every price row, built from :data:`RATES`, the licenses and the burst levels."""

    def __init__(self, licenses: list[dict]) -> None:
        self.rates = dict(RATES)
        for lic in licenses:
            self.rates.setdefault(lic["name"], ("license/month", MONTH, LICENSE_PRICE))
        self.rows = self._rows()
        self._index = {(r["resource"], r["level"], r["currency"]): r for r in self.rows}

    def _rows(self) -> list[dict]:
        rows = []
        next_id = 10_000
        for resource, (unit, multiplier, _) in sorted(self.rates.items()):
            for level in LEVELS:
                for currency in CURRENCIES:
                    row_id = RECORDED_IDS.get((resource, level, currency))
                    if row_id is None:
                        next_id += 1
                        row_id = str(next_id)
                    rows.append(
                        {
                            "currency": currency,
                            "id": row_id,
                            "level": level,
                            "multiplier": multiplier,
                            "price": as_text(self.price(resource, level, currency)),
                            "resource": resource,
                            "unit": unit,
                        }
                    )
        return rows

    def price(self, resource: str, level: int, currency: str) -> Fraction:
        """The price of ``multiplier`` units of ``resource`` (per second when timed)."""
        base = Fraction(self.rates[resource][2]) * CURRENCIES.get(currency, Fraction(1))
        return base if level == 0 else base * (1 + level)

    def knows(self, resource: str) -> bool:
        return resource in self.rates

    def multiplier(self, resource: str) -> int:
        return self.rates[resource][1]

    def timed(self, resource: str) -> bool:
        return is_timed(self.rates[resource][0])

    def cost(
        self, resource: str, amount: int, seconds: float | Fraction, currency: str, level: int
    ) -> Fraction:
        """What ``amount`` base units of ``resource`` cost over ``seconds`` at ``level``."""
        price = self.price(resource, level, currency) / self.multiplier(resource)
        held = Fraction(seconds) if self.timed(resource) else Fraction(1)
        return amount * held * price
