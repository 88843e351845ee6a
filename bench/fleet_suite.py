"""Benchmarks 8 and 9: a fleet of servers up and down against an emulator that keeps the
cloud's pace, and listings of an account with 100,000 drives.

Each function takes the :class:`suite.Context` and yields its :class:`suite.Benchmark` parts,
or raises :class:`suite.NotRun` when a piece it needs is missing.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from common import BENCH_DIR, Series, child_env, cpu_for, run_json
from procs import Background
from suite import Benchmark, Context, NotRun, Target, client_env
from venvs import installed_version

FLEET = "cloudsigma fleet operations"
SDK_LOOP = "cloudsigma, one server at a time"
POLLING_LOOP = "pycloudsigma 2.0.0, one at a time, get every 1 s"
LIBCLOUD = "libcloud's CloudSigma driver"
LOWER_BOUND = "lower bound"

#: Ubuntu 12.04.4 Server in the emulator's library: a 10 GiB disk.
LIBRARY_DRIVE = "d446038b-784d-4ae4-9a4d-46c7b51b403d"
LIBRARY_DRIVE_SIZE = 10 * 1024**3
#: Milliseconds the emulator adds to every request: a distant API.
LATENCY_MS = 30


def phase_seconds(name: str, size: int | None = None) -> float:
    """How long the emulator's realistic profile makes phase ``name`` last."""
    from cloudsigma.emulator.models.statemachine import REALISTIC

    phase = REALISTIC.phases[name]
    return phase.duration(size, phase.at_factor)


def lower_bound(servers: int) -> tuple[float, int, str]:
    """The least time and the fewest requests the workload can take, and how they are made.

    Time: the chain clone, start, stop of one server (all servers run in parallel on the
    cloud's side), plus one round trip for each request that must wait for the one before:
    clone, start, stop, delete. Requests: one clone, start, stop and delete per server (the
    API has no bulk form of them), the bulk creates, and the websocket (cookie and handshake)
    that tells when each state is reached.
    """
    clone = phase_seconds("drives.cloning_dst", LIBRARY_DRIVE_SIZE)
    start, stop = phase_seconds("servers.starting"), phase_seconds("servers.stopping")
    seconds = clone + start + stop + 4 * LATENCY_MS / 1000
    requests = 4 * servers + -(-servers // 500) + 2
    how = (
        f"clone {clone:g} s + start {start:g} s + stop {stop:g} s + 4 round trips of "
        f"{LATENCY_MS} ms; {requests} requests = 4 per server + bulk create + websocket"
    )
    return seconds, requests, how


def control(info: dict[str, Any], name: str, post: bool = False) -> Any:
    """Call ``/_emulator/<name>/`` of the benchmark's emulator."""
    import ssl

    base = info["api_endpoint"].split("/api/")[0]
    request = urllib.request.Request(
        f"{base}/_emulator/{name}/",
        data=b"{}" if post else None,
        method="POST" if post else "GET",
        headers={"X-Emulator-Token": info["emulator_token"], "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=info["ca_bundle"])
    with urllib.request.urlopen(request, context=context, timeout=60) as answer:
        return json.loads(answer.read())


def checked_requests(info: dict[str, Any], servers: int, contender: str) -> int:
    """The API requests of the run just ended, after checking it did the whole workload."""
    entries = [e for e in control(info, "journal")["objects"] if not e["path"].startswith("/_")]
    succeeded = [e for e in entries if e["path"].startswith("/api/2.0/") and e["status"] < 300]

    def count(method: str, resource: str, action: bool) -> int:
        return sum(
            1
            for e in succeeded
            if e["method"] == method
            and e["path"].split("/")[3] == resource
            and e["path"].endswith("/action/") == action
        )

    clones, actions = count("POST", "drives", True), count("POST", "servers", True)
    deletes = count("DELETE", "servers", False)
    if (clones, actions, deletes) != (servers, 2 * servers, servers):
        raise RuntimeError(
            f"{contender} did not do the workload: {clones} clones, {actions} server actions, "
            f"{deletes} server deletes for {servers} servers"
        )
    return len(entries)


def fleet(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 8: N servers up and down, each booting from a clone of a library drive.

    Over HTTPS, with 30 ms added to every request and the emulator's realistic timing; each
    contender in its own process, in turn (see :func:`interleaved`), against the same
    emulator (reset in between).
    """
    peer = ctx.require_peer()
    libcloud = installed_version(ctx.ours_python, "apache-libcloud")
    if libcloud is None:  # the test extra brings it
        raise NotRun("apache-libcloud is not installed here; make bench installs the test extra")
    servers = ctx.fleet_servers
    contenders = {
        FLEET: (ctx.ours_python, "fleet"),
        SDK_LOOP: (ctx.ours_python, "sdk-loop"),
        POLLING_LOOP: (peer, "polling-loop"),
        LIBCLOUD: (ctx.ours_python, "libcloud"),
    }
    argv = [ctx.ours_python, os.path.join(BENCH_DIR, "emulator_server.py")]
    argv += ["--timing", "realistic", "--latency", str(LATENCY_MS), "--journal", "1000000"]
    with Background(argv, child_env(), ready_timeout=600, cpu=cpu_for("server")) as emulator:
        info = emulator.info
        measure = fleet_runner(info, servers)
        figures = {name: {"s": [], "requests": [], "MiB": []} for name in contenders}
        for number in range(1, ctx.fleet_rounds + 1):
            for name in interleaved(list(contenders)):
                python, contender = contenders[name]
                ctx.log(f"fleet: round {number}/{ctx.fleet_rounds}, {name}, {servers} servers")
                seconds, requests, rss = measure(python, contender, name)
                for unit, value in (("s", seconds), ("requests", requests), ("MiB", rss)):
                    figures[name][unit].append(value)
                ctx.log(f"  {seconds:.1f} s, {requests} requests, {rss:.0f} MiB peak RSS")
    yield from fleet_benchmarks(figures, servers, libcloud)


def interleaved(names: list[str]) -> list[str]:
    """The order of one round: the first contender (seconds, where the others take many
    minutes, and the most sensitive to the machine's load) before and after each of the
    others, so that its samples spread over the whole round: F A F B F C F."""
    first, others = names[0], names[1:]
    return [first, *[name for other in others for name in (other, first)]]


def fleet_runner(info: dict[str, Any], servers: int) -> Callable[[str, str, str], tuple]:
    """A function running one contender once: its seconds, requests and peak RSS."""
    env = client_env(info)
    cpu = cpu_for("client")
    pin = ["--cpu", str(cpu)] if cpu is not None else []
    script = os.path.join(BENCH_DIR, "fleet_clients.py")

    def measure(python: str, contender: str, name: str) -> tuple[float, int, float]:
        control(info, "reset", post=True)
        args = [contender, "--servers", str(servers), "--library", LIBRARY_DRIVE, *pin]
        answer = run_json([python, script, *args], env, timeout=4 * 3600)
        requests = checked_requests(info, servers, name)
        return answer["seconds"], requests, answer["peak_rss_mib"]

    return measure


def fleet_benchmarks(
    figures: dict[str, dict[str, list[float]]], servers: int, libcloud: str
) -> list[Benchmark]:
    seconds, requests, how = lower_bound(servers)
    series = {
        unit: [Series(name, unit, values[unit]) for name, values in figures.items()]
        for unit in ("s", "requests", "MiB")
    }
    what = f"{servers} servers from clones of a 10 GiB library drive, HTTPS +{LATENCY_MS} ms"
    note = (
        f"8: clone, create, start, wait running, stop, wait stopped, delete with drives, "
        f"against the emulator's realistic timing; libcloud {libcloud}; lower bound: {how}"
    )
    return [
        Benchmark(
            "fleet_wall_time",
            f"8a fleet: {what}, wall time",
            [*series["s"], Series(LOWER_BOUND, "s", [seconds])],
            baseline=LOWER_BOUND,
            targets=[
                Target("≥10x faster than pycloudsigma's loop", FLEET, "faster", 10, POLLING_LOOP),
                Target("≥5x faster than libcloud", FLEET, "faster", 5, LIBCLOUD),
                Target("within 1.3x of the lower bound", FLEET, "within", 1.3, LOWER_BOUND),
            ],
            notes=[note],
        ),
        Benchmark(
            "fleet_requests",
            f"8b fleet: {what}, HTTP requests (emulator journal)",
            [*series["requests"], Series(LOWER_BOUND, "requests", [float(requests)])],
            baseline=LOWER_BOUND,
            targets=[Target("≤1/5 of the polling loop's", FLEET, "within", 0.2, POLLING_LOOP)],
        ),
        Benchmark("fleet_peak_rss", f"8c fleet: {what}, peak RSS of the client", series["MiB"]),
    ]


SCALE_CONTENDERS = {
    "cloudsigma iter_detail(page_size=1000)": ("sdk", "iter_detail"),
    "cloudsigma iter_all(page_size=1000)": ("sdk", "iter_all"),
    "cloudsigma list_detail()": ("sdk", "list_detail"),
    "requests.Session, one GET ?limit=0": ("bare", "list_detail"),
}


def listing_at_scale(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 9: every drive of an account holding ``ctx.scale_drives``, over HTTPS.

    The drives are copied straight into the emulator's state (one is created through the
    API), not created by that many requests.
    """
    drives = ctx.scale_drives
    ctx.log(f"scale: an emulator with {drives} drives (copied into its state)")
    argv = [ctx.ours_python, os.path.join(BENCH_DIR, "emulator_server.py")]
    argv += ["--seed-directly", str(drives)]
    with Background(argv, child_env(), ready_timeout=1800, cpu=cpu_for("server")) as emulator:
        env = client_env(emulator.info)
        script = os.path.join(BENCH_DIR, "clients.py")
        cpu = cpu_for("client")
        pin = ["--cpu", str(cpu)] if cpu is not None else []
        figures: dict[str, dict[str, list[float]]] = {
            n: {"s": [], "MiB": []} for n in SCALE_CONTENDERS
        }
        rounds = min(ctx.rounds, 3)
        for number in range(1, rounds + 1):
            for name, (client, mode) in SCALE_CONTENDERS.items():
                args = ["scale", "--client", client, "--mode", mode, "--expect", str(drives)]
                answer = run_json([ctx.ours_python, script, *args, *pin], env, timeout=3600)
                figures[name]["s"].append(answer["seconds"])
                figures[name]["MiB"].append(answer["rss_growth_mib"])
                ctx.log(
                    f"  round {number}/{rounds}: {name}: {answer['seconds']:.1f} s, "
                    f"+{answer['rss_growth_mib']:.1f} MiB"
                )
    what = f"every one of {drives:,} drives, HTTPS"
    bare = "requests.Session, one GET ?limit=0"
    iterators = [name for name, (_c, mode) in SCALE_CONTENDERS.items() if mode != "list_detail"]
    yield Benchmark(
        "scale_time",
        f"9a listing at scale: {what}, wall time",
        [Series(name, "s", values["s"]) for name, values in figures.items()],
        baseline=bare,
    )
    yield Benchmark(
        "scale_rss_growth",
        f"9b listing at scale: {what}, peak RSS growth",
        [Series(name, "MiB", values["MiB"]) for name, values in figures.items()],
        baseline=bare,
        targets=[Target("<64 MiB", name, "max", 64) for name in iterators],
        notes=[
            "9: growth = peak RSS (VmHWM) at the end less the RSS after a first small "
            "request; list_detail() needs max_response_bytes raised above its 64 MiB default "
            "for an answer this large"
        ],
    )
