"""Benchmark: upload and download a sparse drive image through a freshly started emulator.

Each contender runs in its own process (so its peak RSS, VmHWM, is its own) against one
emulator process on loopback: this package (``Upload``, ``download_drive``) beside bare
``requests`` posting the same resumable chunks (or fetching the same ranges), once
sequentially and once on the same number of threads. Prints MB/s, peak RSS and the
targets (>= 0.8x the baseline throughput; peak RSS under chunk_size x threads + 64 MiB).

    .venv/bin/python bench/images.py [--size 1G] [--chunk-size 5M] [--threads 4] [--rounds 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import filecmp
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from common import process_memory

MiB = 1024**2
UNITS = {"K": 1024, "M": MiB, "G": 1024**3}
RSS_ALLOWANCE = 64 * MiB
THROUGHPUT_TARGET = 0.8


def parse_size(text: str) -> int:
    """``5M`` -> 5242880; a bare number is bytes."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    return int(float(text[:-1]) * UNITS[text[-1]]) if text[-1:] in UNITS else int(text)


def peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM)."""
    return process_memory("VmHWM")


# --- the emulator process -------------------------------------------------------------------


def serve() -> None:
    """Run an emulator until stdin closes; print its endpoint as one JSON line."""
    from cloudsigma.emulator import Emulator

    password = secrets.token_urlsafe(16)
    with Emulator(
        host="127.0.0.1",
        port=0,
        tls=False,
        username="bench@example.com",
        password=password,
        transition_delay=0,
    ) as emulator:
        print(
            json.dumps(
                {
                    "api_endpoint": emulator.api_endpoint,
                    "username": emulator.username,
                    "password": emulator.password,
                }
            ),
            flush=True,
        )
        sys.stdin.read()


# --- contenders (each runs in its own process) ----------------------------------------------


def _credentials() -> tuple[str, tuple[str, str]]:
    endpoint = os.environ["CLOUDSIGMA_API_ENDPOINT"].rstrip("/") + "/"
    return endpoint, (os.environ["CLOUDSIGMA_USERNAME"], os.environ["CLOUDSIGMA_PASSWORD"])


def sdk_upload(args: argparse.Namespace) -> dict:
    from cloudsigma.resumable_upload import Upload

    upload = Upload(args.image, chunk_size=args.chunk_size, n_threads=args.threads)
    drive = upload.upload()
    assert drive["status"] == "unmounted" and drive["size"] == os.path.getsize(args.image)
    return {"drive": drive["uuid"]}


def _baseline_init_upload(session, endpoint: str, image: str) -> str:
    data = {"name": "bench", "size": os.path.getsize(image), "media": "disk"}
    answer = session.post(endpoint + "initupload/", json={"objects": [data]}, timeout=60)
    answer.raise_for_status()
    return answer.json()["objects"][0]["uuid"]


def _baseline_chunks(size: int, chunk_size: int) -> list[tuple[int, int, int]]:
    count = max(size // chunk_size, 1)
    chunks = [(n + 1, n * chunk_size, chunk_size) for n in range(count - 1)]
    chunks.append((count, (count - 1) * chunk_size, size - (count - 1) * chunk_size))
    return chunks


def _baseline_post_chunk(session, url: str, image: str, chunk, chunk_size: int, size: int) -> None:
    number, offset, length = chunk
    with open(image, "rb") as image_file:
        image_file.seek(offset)
        data = image_file.read(length)
    name = os.path.basename(image)
    fields = {
        "resumableChunkNumber": str(number),
        "resumableChunkSize": str(chunk_size),
        "resumableTotalSize": str(size),
        "resumableIdentifier": name,
        "resumableFilename": name,
    }
    answer = session.post(url, data=fields, files={"file": (name, data)}, timeout=120)
    answer.raise_for_status()


def requests_upload(args: argparse.Namespace, threads: int) -> dict:
    import requests
    from requests.adapters import HTTPAdapter

    endpoint, auth = _credentials()
    session = requests.Session()
    session.auth = auth
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=threads))
    size = os.path.getsize(args.image)
    drive_uuid = _baseline_init_upload(session, endpoint, args.image)
    url = f"{endpoint}drives/{drive_uuid}/upload/"
    chunks = _baseline_chunks(size, args.chunk_size)

    def post(chunk) -> None:
        _baseline_post_chunk(session, url, args.image, chunk, args.chunk_size, size)

    _run(post, chunks, threads)
    return {"drive": drive_uuid}


def sdk_download(args: argparse.Namespace) -> dict:
    from cloudsigma.download import download_drive

    download_drive(args.drive, args.target, chunk_size=args.range_size, n_threads=args.threads)
    return {}


def requests_download(args: argparse.Namespace, threads: int) -> dict:
    import requests
    from requests.adapters import HTTPAdapter

    endpoint, auth = _credentials()
    session = requests.Session()
    session.auth = auth
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=threads))
    size = int(session.get(f"{endpoint}drives/{args.drive}/", timeout=60).json()["size"])
    url = f"{endpoint}drives/{args.drive}/download/"
    fd = os.open(args.target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, size)

    def fetch(offset: int) -> None:
        end = min(offset + args.range_size, size) - 1
        headers = {"Range": f"bytes={offset}-{end}", "Accept-Encoding": "identity"}
        with session.get(url, headers=headers, stream=True, timeout=120) as answer:
            answer.raise_for_status()
            for block in answer.iter_content(MiB):
                os.pwrite(fd, block, offset)
                offset += len(block)

    try:
        _run(fetch, list(range(0, size, args.range_size)), threads)
        os.fsync(fd)
    finally:
        os.close(fd)
    return {}


def _run(work: Callable, items: list, threads: int) -> None:
    if threads == 1:
        for item in items:
            work(item)
        return
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()


CONTENDERS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "sdk-upload": sdk_upload,
    "requests-upload-sequential": lambda args: requests_upload(args, 1),
    "requests-upload-threads": lambda args: requests_upload(args, args.threads),
    "sdk-download": sdk_download,
    "requests-download-sequential": lambda args: requests_download(args, 1),
    "requests-download-threads": lambda args: requests_download(args, args.threads),
}


def run_contender(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    result = CONTENDERS[args.contender](args)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss"] = peak_rss()
    print(json.dumps(result), flush=True)


# --- the driver -----------------------------------------------------------------------------


class EmulatorProcess:
    """The emulator in its own process, stopped by closing its stdin."""

    def __init__(self, tmpdir: str | None = None) -> None:
        env = dict(os.environ, TMPDIR=tmpdir) if tmpdir else None
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.info = json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def contender_env(info: dict, workdir: str) -> dict[str, str]:
    config_path = os.path.join(workdir, "empty.conf")
    os.close(os.open(config_path, os.O_WRONLY | os.O_CREAT, 0o600))
    env = dict(os.environ)
    env.update(
        CLOUDSIGMA_CONFIG=config_path,
        CLOUDSIGMA_API_ENDPOINT=info["api_endpoint"],
        CLOUDSIGMA_USERNAME=info["username"],
        CLOUDSIGMA_PASSWORD=info["password"],
    )
    return env


def launch(name: str, args: argparse.Namespace, env: dict, **extra: str) -> dict:
    argv = [sys.executable, os.path.abspath(__file__), "--contender", name]
    argv += ["--image", args.image, "--chunk-size", str(args.chunk_size)]
    argv += ["--range-size", str(args.range_size), "--threads", str(args.threads)]
    for key, value in extra.items():
        argv += [f"--{key}", value]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def delete_drive(info: dict, drive_uuid: str) -> None:
    import requests

    requests.delete(
        f"{info['api_endpoint']}drives/{drive_uuid}/",
        auth=(info["username"], info["password"]),
        timeout=60,
    )


def run_benchmark(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cloudsigma-images-", dir=args.tmpdir) as workdir:
        args.image = os.path.join(workdir, "sparse.raw")
        with open(args.image, "wb"):
            pass
        os.truncate(args.image, args.size)
        emulator = EmulatorProcess(workdir)
        try:
            results = measure(args, emulator.info, workdir)
        finally:
            emulator.close()
    print_report(args, results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"settings": settings(args), "results": results}, out, indent=2)


def measure(args: argparse.Namespace, info: dict, workdir: str) -> dict[str, list[dict]]:
    """Run every contender ``args.rounds`` times; returns their results by name.

    Each block (uploads, then downloads) starts with a discarded warm-up run, and the
    order alternates between rounds, so that no contender always runs first after the
    other block (the first run after a change of direction is measurably slower).
    """
    env = contender_env(info, workdir)
    results: dict[str, list[dict]] = {name: [] for name in CONTENDERS}
    target = os.path.join(workdir, "download.raw")
    for round_number in range(args.rounds):
        order = list(CONTENDERS) if round_number % 2 == 0 else list(reversed(CONTENDERS))
        uploads = [name for name in order if "upload" in name]
        delete_drive(info, launch(uploads[0], args, env)["drive"])  # warm-up
        kept = None
        for name in uploads:
            log(f"round {round_number + 1}: {name}")
            result = launch(name, args, env)
            results[name].append(result)
            if kept is None:
                kept = result["drive"]
            else:
                delete_drive(info, result["drive"])
        downloads = [name for name in order if "download" in name]
        launch(downloads[0], args, env, drive=kept, target=target)  # warm-up
        check_download(args.image, target, downloads[0])
        for name in downloads:
            log(f"round {round_number + 1}: {name}")
            result = launch(name, args, env, drive=kept, target=target)
            check_download(args.image, target, name)
            results[name].append(result)
        delete_drive(info, kept)
    return results


def check_download(image: str, target: str, name: str) -> None:
    """The downloaded file must be the uploaded image, byte for byte."""
    if not filecmp.cmp(image, target, shallow=False):
        raise RuntimeError(f"{name} wrote a file that differs from the image")
    os.remove(target)


def settings(args: argparse.Namespace) -> dict:
    return {
        "size": args.size,
        "chunk_size": args.chunk_size,
        "range_size": args.range_size,
        "threads": args.threads,
        "rounds": args.rounds,
    }


def print_report(args: argparse.Namespace, results: dict[str, list[dict]]) -> None:
    rate = {
        name: args.size / MiB / statistics.median(r["seconds"] for r in runs)
        for name, runs in results.items()
    }
    rss = {name: max(r["peak_rss"] for r in runs) for name, runs in results.items()}
    print(
        f"\nimage {args.size / MiB:.0f} MiB sparse, chunk {args.chunk_size / MiB:g} MiB, "
        f"range {args.range_size / MiB:g} MiB, {args.threads} threads, "
        f"median of {args.rounds} round(s), files in {args.tmpdir or tempfile.gettempdir()}"
    )
    print(f"{'contender':<30} {'MB/s':>9} {'peak RSS MiB':>13}")
    for name in CONTENDERS:
        print(f"{name:<30} {rate[name]:9.1f} {rss[name] / MiB:13.1f}")
    for kind, block in (("upload", args.chunk_size), ("download", args.range_size)):
        ours = rate[f"sdk-{kind}"]
        for baseline in ("sequential", "threads"):
            ratio = ours / rate[f"requests-{kind}-{baseline}"]
            verdict = "ok" if ratio >= THROUGHPUT_TARGET else "BELOW TARGET"
            print(f"{kind}: {ratio:.2f}x requests-{kind}-{baseline} ({verdict}, target >= 0.8x)")
        limit = block * args.threads + RSS_ALLOWANCE
        verdict = "ok" if rss[f"sdk-{kind}"] < limit else "ABOVE TARGET"
        print(
            f"{kind}: peak RSS {rss[f'sdk-{kind}'] / MiB:.1f} MiB, limit "
            f"{limit / MiB:.0f} MiB ({verdict})"
        )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"))
    parser.add_argument("--chunk-size", type=parse_size, default=parse_size("5M"))
    parser.add_argument("--range-size", type=parse_size, default=parse_size("8M"))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4, help="rounds (even balances the order)")
    parser.add_argument(
        "--tmpdir",
        default="/dev/shm" if os.path.isdir("/dev/shm") else None,
        help="where the image, the downloads and the emulator's drive files go "
        "(default /dev/shm, so that the disk does not set the pace)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--image", help=argparse.SUPPRESS)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
    elif args.contender:
        run_contender(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
