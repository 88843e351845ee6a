"""The benchmarks: each sets up what it needs, runs the contenders alternately, tears down.

Every function takes the :class:`Context` and yields its :class:`Benchmark` parts as they
are measured, or raises :class:`NotRun` when a piece it needs is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from common import BENCH_DIR, Series, child_env, cpu_for, run_json
from procs import Background

OURS = "cloudsigma (this)"
PEER = "pycloudsigma 2.0.0"
BARE = "requests.Session"
ORIGINAL_CONTEXT = "pyserial readlines() (original)"


class NotRun(Exception):
    """A benchmark that cannot run here; the message says why."""


@dataclass
class Target:
    """A goal: ``contender``'s median compared with ``other``'s (or with ``limit`` alone).

    ``kind`` is ``faster`` (other/contender time >= limit), ``within`` (contender/other
    time <= limit), ``at_least`` (contender/other throughput >= limit), ``min`` (median
    >= limit) or ``max`` (median <= limit).
    """

    label: str
    contender: str
    kind: str
    limit: float
    other: str | None = None


@dataclass
class Benchmark:
    """The outcome of one benchmark: one series per contender, the baseline and the goals."""

    key: str
    title: str
    series: list[Series]
    baseline: str | None = None
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get(self, contender: str) -> Series:
        return next(series for series in self.series if series.contender == contender)


@dataclass
class Context:
    """What every benchmark may use: interpreters, rounds, sizes."""

    ours_python: str
    peer_python: str | None
    peer_error: str | None
    rounds: int
    calls: int
    drives: int
    log: Callable[[str], None]
    fleet_servers: int = 100
    fleet_rounds: int = 1
    scale_drives: int = 100_000

    def require_peer(self) -> str:
        if self.peer_python is None:
            raise NotRun(f"no pycloudsigma environment: {self.peer_error}")
        return self.peer_python


def alternate(
    rounds: int,
    contenders: dict[str, Callable[[], float]],
    log: Callable[[str], None],
    unit: str,
    higher_is_better: bool = False,
) -> list[Series]:
    """Run each contender once per round, in turn (A B C A B C ...)."""
    series = {name: Series(name, unit, higher_is_better=higher_is_better) for name in contenders}
    for number in range(1, rounds + 1):
        figures = []
        for name, measure in contenders.items():
            value = measure()
            series[name].values.append(value)
            figures.append(f"{name} {value:.3g} {unit}")
        log(f"  round {number}/{rounds}: " + ", ".join(figures))
    return list(series.values())


@contextmanager
def tls_emulator(ctx: Context, drives: int) -> Iterator[dict[str, Any]]:
    """An HTTPS emulator in its own process on the server CPU, holding ``drives`` drives."""
    argv = [ctx.ours_python, os.path.join(BENCH_DIR, "emulator_server.py"), "--drives", str(drives)]
    with Background(argv, child_env(), ready_timeout=600, cpu=cpu_for("server")) as emulator:
        if not emulator.info.get("ca_bundle"):
            raise NotRun("the emulator did not offer HTTPS (no CA file)")
        yield emulator.info


def client_env(info: dict[str, Any], api_endpoint: str | None = None) -> dict[str, str]:
    """Environment for a client process: config file, CA bundle, credentials for ``bare``."""
    endpoint = api_endpoint or info["api_endpoint"]
    config_path = info["config_path"]
    if api_endpoint:
        config_path = _config_with_endpoint(info, api_endpoint)
    return child_env(
        {
            "CLOUDSIGMA_CONFIG": config_path,
            "REQUESTS_CA_BUNDLE": info["ca_bundle"],
            "BENCH_API_ENDPOINT": endpoint,
            "BENCH_USERNAME": info["username"],
            "BENCH_PASSWORD": info["password"],
            "BENCH_CA_BUNDLE": info["ca_bundle"],
        }
    )


def _config_with_endpoint(info: dict[str, Any], api_endpoint: str) -> str:
    """A copy of the emulator's client config file pointing at another endpoint."""
    path = info["config_path"] + ".proxied"
    with open(info["config_path"], encoding="utf-8") as original:
        lines = [
            f"api_endpoint = {api_endpoint}" if line.startswith("api_endpoint") else line
            for line in original.read().splitlines()
        ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as config_file:
        config_file.write("\n".join(lines) + "\n")
    return path


def client_runner(
    python: str, env: dict[str, str], args: list[str], field_name: str, expect_version: str | None
) -> Callable[[], float]:
    """A function running ``clients.py`` once and returning one figure from its answer."""
    argv = [python, os.path.join(BENCH_DIR, "clients.py"), *args]
    cpu = cpu_for("client")
    if cpu is not None:
        argv += ["--cpu", str(cpu)]

    def measure() -> float:
        answer = run_json(argv, env)
        if expect_version and not _version_matches(answer.get("version"), expect_version):
            raise RuntimeError(f"{python} imported cloudsigma {answer.get('version')}")
        return float(answer[field_name])

    return measure


def _version_matches(found: str | None, expected: str) -> bool:
    if expected.startswith("!"):
        return found is not None and found != expected[1:]
    return found == expected


def contenders_for(
    ctx: Context, env: dict[str, str], args: list[str], field_name: str
) -> dict[str, Callable[[], float]]:
    """This package, pycloudsigma 2.0.0 and the bare session, each on ``clients.py args``."""
    peer = ctx.require_peer()
    return {
        OURS: client_runner(ctx.ours_python, env, [*args, "--client", "sdk"], field_name, "!2.0.0"),
        PEER: client_runner(peer, env, [*args, "--client", "sdk"], field_name, "2.0.0"),
        BARE: client_runner(ctx.ours_python, env, [*args, "--client", "bare"], field_name, None),
    }


def per_call(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 1: sequential Drive().get(uuid) over HTTPS, direct and behind 50 ms/connection."""
    ctx.require_peer()
    with tls_emulator(ctx, drives=1) as info:
        with open(info["drives_path"], encoding="utf-8") as uuids_file:
            uuid = json.load(uuids_file)[0]
        args = ["per-call", "--uuid", uuid, "--calls", str(ctx.calls)]
        env = client_env(info)
        # Twice the rounds: a round takes seconds, and the goals are judged on this one.
        ctx.log(f"per-call: {ctx.calls} GETs over HTTPS on loopback")
        series = alternate(
            ctx.rounds * 2, contenders_for(ctx, env, args, "ms_per_call"), ctx.log, "ms"
        )
        medians = {item.contender: item.median for item in series}
        yield Benchmark(
            "per_call_https",
            f"1a per-call: {ctx.calls} x Drive().get(uuid), HTTPS loopback",
            series,
            baseline=BARE,
            notes=[
                f"1a: the bare requests.Session itself is {medians[PEER] / medians[BARE]:.2f}x "
                "faster than pycloudsigma here: what a client adding nothing to requests reaches"
            ],
            targets=[
                Target("≥3.5x faster than pycloudsigma", OURS, "faster", 3.5, PEER),
                Target("within 1.15x of requests.Session", OURS, "within", 1.15, BARE),
            ],
        )

        ctx.log(f"per-call: {ctx.calls} GETs, a new Drive() for each")
        sdks = contenders_for(ctx, env, [*args, "--fresh"], "ms_per_call")
        del sdks[BARE]
        fresh = alternate(ctx.rounds, sdks, ctx.log, "ms")
        yield Benchmark(
            "per_call_https_new_instance",
            f"1b per-call: {ctx.calls} x Drive().get(uuid), new Drive() each call",
            [*fresh, next(s for s in series if s.contender == BARE)],
            baseline=BARE,
            notes=["1b: the requests.Session row is the one of 1a (it has no Drive object)"],
        )

        port = int(info["api_endpoint"].split(":")[2].split("/")[0])
        proxy_argv = [
            ctx.ours_python,
            os.path.join(BENCH_DIR, "latency_proxy.py"),
            "--target-port",
            str(port),
            "--delay",
            "0.05",
        ]
        with Background(proxy_argv, child_env()) as proxy:  # not pinned: it is extra work
            endpoint = info["api_endpoint"].replace(f":{port}/", f":{proxy.info['port']}/")
            proxied_env = client_env(info, api_endpoint=endpoint)
            ctx.log(f"per-call: {ctx.calls} GETs through a proxy adding 50 ms per new connection")
            delayed = alternate(
                ctx.rounds, contenders_for(ctx, proxied_env, args, "ms_per_call"), ctx.log, "ms"
            )
        yield Benchmark(
            "per_call_https_50ms_per_connection",
            f"1c per-call: {ctx.calls} x Drive().get(uuid), HTTPS +50 ms per new connection",
            delayed,
            baseline=BARE,
        )


def listing(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 2: list_detail() of ``ctx.drives`` drives over HTTPS."""
    ctx.require_peer()
    ctx.log(f"listing: creating {ctx.drives} drives in an HTTPS emulator")
    with tls_emulator(ctx, drives=ctx.drives) as info:
        args = ["listing", "--expect", str(ctx.drives)]
        series = alternate(
            ctx.rounds, contenders_for(ctx, client_env(info), args, "ms"), ctx.log, "ms"
        )
    yield Benchmark(
        "listing",
        f"2 listing: Drive().list_detail() of {ctx.drives} drives, HTTPS",
        series,
        baseline=BARE,
    )


IMPORT_CODE = (
    "import sys, time; before = len(sys.modules); started = time.perf_counter(); "
    "import {module}; elapsed = time.perf_counter() - started; "
    'print(\'{{"modules": %d, "in_process_ms": %f}}\' % (len(sys.modules) - before, '
    "elapsed * 1000))"
)


def imports(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 3: wall time of ``python -c "import cloudsigma"`` (and of cloudsigma.resource)."""
    peer = ctx.require_peer()
    with tempfile.TemporaryDirectory(prefix="cloudsigma-bench-import-") as workdir:
        config_path = os.path.join(workdir, "cloudsigma.conf")
        with open(config_path, "w", encoding="utf-8") as config_file:
            # Never contacted: importing must not need a reachable API.
            config_file.write(
                "api_endpoint = https://127.0.0.1:9/api/2.0/\n"
                "username = a@example.com\npassword = x\n"
            )
        os.chmod(config_path, 0o600)
        # Bytecode caching on, as for any installed package; the first run of each warms it.
        env = child_env({"CLOUDSIGMA_CONFIG": config_path})
        for module in ("cloudsigma", "cloudsigma.resource"):
            commands = {
                OURS: [ctx.ours_python, "-c", f"import {module}"],
                PEER: [peer, "-c", f"import {module}"],
                "python -c pass": [ctx.ours_python, "-c", "pass"],
            }
            counts = {}
            for name, argv in commands.items():
                subprocess.run(argv, env=env, cwd=workdir, check=True, capture_output=True)
                if name != "python -c pass":
                    code = IMPORT_CODE.format(module=module)
                    counts[name] = run_json([argv[0], "-c", code], env, cwd=workdir)
            ctx.log(f"import: python -c 'import {module}'")
            series = alternate(
                ctx.rounds * 3,
                {name: _wall_time(argv, env, workdir) for name, argv in commands.items()},
                ctx.log,
                "ms",
            )
            for item in series:
                if item.contender in counts:
                    item.extra = counts[item.contender]
            yield Benchmark(
                f"import_{module.replace('.', '_')}",
                f"3{'ab'[module != 'cloudsigma']} import: python -c 'import {module}' (wall)",
                series,
                baseline=PEER,
                targets=[Target("≥2x faster than pycloudsigma", OURS, "faster", 2.0, PEER)],
                notes=[
                    f"import {module}, {name}: {count['modules']} modules added to sys.modules, "
                    f"{count['in_process_ms']:.1f} ms inside the interpreter"
                    for name, count in counts.items()
                ],
            )


def _wall_time(argv: list[str], env: dict[str, str], cwd: str) -> Callable[[], float]:
    def measure() -> float:
        started = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
        return (time.perf_counter() - started) * 1000

    return measure


def read_config_file(path: str) -> dict[str, str] | None:
    """The ``key = value`` pairs of a config file, or None while it is not complete."""
    try:
        with open(path, encoding="utf-8") as config_file:
            text = config_file.read()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip().strip("\"'")
    complete = all(values.get(key) for key in ("api_endpoint", "username", "password"))
    return values if complete else None


@contextmanager
def cli_emulator(ctx: Context) -> Iterator[dict[str, str]]:
    """The emulator as users start it (``python -m cloudsigma.emulator``), on the server CPU.

    Yields the values of the config file it writes (endpoint, username, password).
    """
    with tempfile.TemporaryDirectory(prefix="cloudsigma-bench-emulator-") as workdir:
        config_path = os.path.join(workdir, "emulator.conf")
        argv = [ctx.ours_python, "-m", "cloudsigma.emulator", "--port", "0"]
        with Background(
            [*argv, "--write-config", config_path],
            child_env(),
            ready=lambda: read_config_file(config_path),
            cpu=cpu_for("server"),
            stops_on_eof=False,
        ) as emulator:
            yield emulator.info


def emulator_throughput(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 6: the emulator alone, run from its command line on one CPU, plain HTTP."""
    from seed import create_drives, wait_for_drives

    server_cpu = cpu_for("server")
    with cli_emulator(ctx) as info:
        auth = (info["username"], info["password"])
        ctx.log(f"emulator: creating {ctx.drives} drives through bulk POST /drives/")
        uuids = create_drives(info["api_endpoint"], auth, ctx.drives)
        wait_for_drives(info["api_endpoint"], auth, len(uuids))
        env = child_env(
            {
                "BENCH_API_ENDPOINT": info["api_endpoint"],
                "BENCH_USERNAME": auth[0],
                "BENCH_PASSWORD": auth[1],
            }
        )
        loadgen = [ctx.ours_python, os.path.join(BENCH_DIR, "loadgen.py")]
        client_cpu = cpu_for("client")
        if client_cpu is not None:
            loadgen += ["--cpu", str(client_cpu)]
        rps_argv = [*loadgen, "rps", "--uuid", uuids[0], "--clients", "16"]
        ctx.log("emulator: GET /drives/<uuid>/ with 16 keep-alive clients, 5 s per round")
        loadgen_cpu: list[float] = []

        def requests_per_second() -> float:
            answer = run_json(rps_argv, env)
            loadgen_cpu.append(answer["loadgen_cpu_share"])
            return float(answer["rps"])

        rps = alternate(
            ctx.rounds, {"emulator": requests_per_second}, ctx.log, "req/s", higher_is_better=True
        )
        pinned = f"emulator pinned to CPU {server_cpu}" if server_cpu is not None else "not pinned"
        limit = (
            "so the emulator, not the load generator, was the limit"
            if max(loadgen_cpu) < 0.9
            else "the load generator may have been the limit"
        )
        yield Benchmark(
            "emulator_rps",
            "6a emulator: GET /drives/<uuid>/, 16 keep-alive clients, HTTP",
            rps,
            targets=[Target("≥1,500 req/s", "emulator", "min", 1500)],
            notes=[
                f"6: {pinned}; load generator: aiohttp, 16 connections, one process on the "
                f"other CPU, busy {max(loadgen_cpu):.0%} of the time at most ({limit})"
            ],
        )

        ctx.log(f"emulator: GET /drives/detail/?limit=0 with {ctx.drives} drives")
        list_argv = [*loadgen, "listing", "--expect", str(ctx.drives)]
        listing_series = alternate(
            ctx.rounds,
            {"emulator": lambda: float(run_json(list_argv, env)["ms"])},
            ctx.log,
            "ms",
        )
        yield Benchmark(
            "emulator_listing",
            f"6b emulator: GET /drives/detail/?limit=0, {ctx.drives} drives",
            listing_series,
            # The goal is stated for 10,000 drives; smaller runs are not judged on it.
            targets=[Target("<300 ms", "emulator", "max", 300)] if ctx.drives >= 10_000 else [],
        )


def python_version(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _peer_script(name: str) -> str:
    """The path of a benchmark script another part of the project provides, or NotRun."""
    path = os.path.join(BENCH_DIR, name)
    if not os.path.exists(path):
        raise NotRun(f"bench/{name} is not in the tree yet")
    return path


def context_read(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 4: the whole server context over a pty, this package vs pycloudsigma's way.

    The reading functions are those of bench/context_read.py; the pty is served by the
    emulator's SerialContextServer in its own process on the server CPU.
    """
    _peer_script("context_read.py")
    workload = os.path.join(BENCH_DIR, "context_workload.py")
    with Background(
        [ctx.ours_python, workload, "serve"], child_env(), cpu=cpu_for("server")
    ) as server:
        device = server.info["device"]
        client_cpu = cpu_for("client")
        pin = ["--cpu", str(client_cpu)] if client_cpu is not None else []

        def reader(method: str) -> Callable[[], float]:
            argv = [ctx.ours_python, workload, "read", "--method", method, "--device", device]
            return lambda: float(run_json([*argv, "--reads", "3", *pin], child_env())["ms"])

        ctx.log(f"context: whole context from {device}, 3 reads per process")
        series = alternate(
            ctx.rounds,
            {OURS: reader("client"), ORIGINAL_CONTEXT: reader("original")},
            ctx.log,
            "ms",
        )
    yield Benchmark(
        "context_read",
        "4 server context: read the whole context from a pty",
        series,
        baseline=ORIGINAL_CONTEXT,
        targets=[Target("≥10x faster than the original", OURS, "faster", 10, ORIGINAL_CONTEXT)],
        notes=[
            "4: original = pycloudsigma 2.0's way (pyserial timeout=1, write, readlines()); "
            "median of 3 reads per process"
        ],
    )


IMAGE_CONTENDERS = {
    "sdk": OURS,
    "requests-{kind}-threads": "requests.Session, 4 threads",
    "requests-{kind}-sequential": "requests.Session, sequential",
}


def images(ctx: Context) -> Iterator[Benchmark]:
    """Benchmark 5: a 1 GiB sparse image up and down, via bench/images.py (its own emulator)."""
    script = _peer_script("images.py")
    with tempfile.TemporaryDirectory(prefix="cloudsigma-bench-images-") as workdir:
        out = os.path.join(workdir, "images.json")
        # bench/images.py reverses the order every other round: an even count balances it.
        rounds = max(2, ctx.rounds - ctx.rounds % 2)
        argv = [ctx.ours_python, script, "--size", "1G", "--rounds", str(rounds)]
        ctx.log(f"images: {' '.join(argv[1:])}")
        done = subprocess.run(
            [*argv, "--json", out],
            env=child_env(),
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        for line in done.stderr.splitlines():
            ctx.log("  " + line)
        if done.returncode != 0 or not os.path.exists(out):
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError("bench/images.py failed: " + " / ".join(tail))
        with open(out, encoding="utf-8") as results_file:
            figures = json.load(results_file)
    size = figures["settings"]["size"]
    threads = figures["settings"]["threads"]
    results = []
    for kind in ("upload", "download"):
        speed, rss = [], []
        for pattern, label in IMAGE_CONTENDERS.items():
            name = f"sdk-{kind}" if pattern == "sdk" else pattern.format(kind=kind)
            runs = figures["results"][name]
            label = label.replace("4 threads", f"{threads} threads")
            speed.append(Series(label, "MB/s", [size / 1e6 / run["seconds"] for run in runs], True))
            rss.append(Series(label, "MiB", [run["peak_rss"] / 2**20 for run in runs]))
        threaded = speed[1].contender
        results.append(
            Benchmark(
                f"image_{kind}",
                f"5{'ac'[kind == 'download']} images: {kind} 1 GiB sparse, throughput",
                speed,
                baseline=threaded,
                targets=[
                    Target(f"≥0.8x {threaded}", OURS, "at_least", 0.8, threaded),
                    Target("≥0.8x sequential", OURS, "at_least", 0.8, speed[2].contender),
                ],
            )
        )
        block = figures["settings"]["chunk_size" if kind == "upload" else "range_size"]
        limit = (block * threads + 64 * 2**20) / 2**20
        results.append(
            Benchmark(
                f"image_{kind}_peak_rss",
                f"5{'bd'[kind == 'download']} images: {kind} 1 GiB sparse, peak RSS",
                rss,
                baseline=threaded,
                targets=[Target(f"<{limit:.0f} MiB (block x threads + 64)", OURS, "max", limit)],
            )
        )
    results[0].notes.append(
        f"5: chunk {figures['settings']['chunk_size'] // 2**20} MiB, download range "
        f"{figures['settings']['range_size'] // 2**20} MiB, {threads} threads; MB/s = 10^6 B/s; "
        f"each contender in its own process (peak RSS = its VmHWM); {rounds} rounds, order "
        "reversed every other round, a discarded warm-up run per direction, every download "
        "compared byte for byte (bench/images.py)"
    )
    yield from results
