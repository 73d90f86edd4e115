"""Throughput of the emulator over real loopback HTTP (uvicorn), so client benchmarks know
the emulator is not their bottleneck.

Scenarios (each for ``--seconds``, with ``--clients`` concurrent httpx clients):
GET one contact, POST create, bulk add of 200, scan page of 200 (following cursors).
The store is preloaded with ``--preload`` contacts first, to show request cost does not grow
with the total. Prints requests/second and latency percentiles. Bounded: well under 60 s.

    .venv/bin/python benchmarks/emulator_throughput.py [--seconds 3] [--clients 8] [--preload 20000]
    .venv/bin/python benchmarks/emulator_throughput.py --per-record 100000

``--per-record N`` measures instead what a first sync costs the emulator per stored record, in
process through its ASGI app (no sockets, no client): N contacts in organizations of 200 sent as
gcx sends them (bulk adds of 200 with names, title, work email, cell phone, city, an ExternalId),
then one full scan; it prints CPU (ms) and RSS (KB) per stored record.

The emulator runs in its own process (forked, uvicorn on a loopback socket) and the clients
in this one, so the figures measure the emulator rather than the GIL they would otherwise
share. Client-side httpx overhead still counts: read the figures as a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import signal
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.server import base_url as socket_url
from gcx.emulator.server import bind, make_server

API = "/api/v2/externalcontacts"

Call = Callable[[httpx.AsyncClient, int], Awaitable[int]]


def preload(emu: Emulator, count: int) -> list[str]:
    ids: list[str] = []
    batch = 200
    for start in range(0, count, batch):
        entities = [
            {"firstName": f"Pre{i}", "lastName": "Load", "workEmail": f"pre{i}@example.com"}
            for i in range(start, min(start + batch, count))
        ]
        result = emu.backend.bulk_add("contacts", {"entities": entities})
        ids.extend(r["id"] for r in result["results"] if r["success"])
    return ids


async def run_scenario(
    base_url: str, token: str, clients: int, seconds: float, call: Call
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
            i = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await call(client, n * 1_000_000 + i)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"unexpected status {status}")
                done += 1
                i += 1

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return done, latencies


def report(name: str, done: int, latencies: list[float], seconds: float, items_per_call: int = 1) -> None:
    qs = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [latencies[0]] * 99
    rate = done / seconds
    items = f"  ({rate * items_per_call:,.0f} records/s)" if items_per_call > 1 else ""
    print(
        f"{name:<22} {rate:>9,.0f} req/s{items}   p50 {qs[49] * 1000:6.1f} ms   "
        f"p95 {qs[94] * 1000:6.1f} ms   ({done} requests)"
    )


async def asgi_cost(requests: int = 2000) -> None:
    """The emulator's own cost per request: ASGI calls in process, no sockets, no HTTP client."""
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
    token = emu.issue_token()
    contact_id = emu.backend.create("contacts", {"firstName": "a", "workEmail": "a@example.com"})["id"]

    asgi = _asgi_caller(emu, token)

    async def call(method: str, path: str, body: bytes = b"") -> None:
        status, _ = await asgi(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}")

    for name, method, path, body in (
        ("GET contact", "GET", f"{API}/contacts/{contact_id}", b""),
        (
            "POST create contact",
            "POST",
            f"{API}/contacts",
            b'{"firstName": "x", "workEmail": "x@example.com"}',
        ),
    ):
        started = time.perf_counter()
        for _ in range(requests):
            await call(method, path, body)
        took = time.perf_counter() - started
        print(
            f"in process (ASGI) {name:<20} {took / requests * 1e6:7.0f} us/request  ({requests / took:,.0f} req/s)"
        )


def _asgi_caller(emu: Emulator, token: str) -> Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]:
    async def call(method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1),
        }
        status: list[int] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))  # type: ignore[call-overload]
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))  # type: ignore[arg-type]

        await emu.app(scope, receive, send)
        return status[0], b"".join(chunks)

    return call


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def per_record(count: int) -> None:
    """CPU and RSS per stored record of a first sync (bulk adds of 200, then a scan), in process."""
    import json

    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
    call = _asgi_caller(emu, emu.issue_token())
    source = emu.backend.create_source({"name": "bench"})["id"]
    orgs = max(1, count // 200)
    rss0, cpu0 = _rss(), time.process_time()
    org_ids: list[str] = []
    for start in range(0, orgs, 200):
        body = {
            "entities": [
                {"name": f"Org {o} Ltd", "industry": "Retail"} for o in range(start, min(start + 200, orgs))
            ]
        }
        status, raw = await call("POST", f"{API}/bulk/organizations/add", json.dumps(body).encode())
        org_ids.extend(r["id"] for r in json.loads(raw)["results"])
    rnd = random.Random(1)
    for start in range(0, count, 200):
        entities = []
        for c in range(start, min(start + 200, count)):
            first = rnd.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara"])
            entities.append(
                {
                    "firstName": first,
                    "lastName": f"Lovelace{c}",
                    "workEmail": f"{first.lower()}.lovelace{c}@example.com",
                    "cellPhone": {
                        "display": f"+1{200 + c // 10_000_000 % 800}{c // 10_000 % 1000:03d}{c % 10_000:04d}"
                    },
                    "address": {"city": "Paris"},
                    "title": "Engineer",
                    "externalOrganization": {"id": org_ids[c % orgs]},
                    "externalIds": [{"externalSource": {"id": source}, "value": f"c-{c}"}],
                    "identifiers": [
                        {"type": "ExternalId", "value": f"c-{c}", "externalSource": {"id": source}}
                    ],
                }
            )
        status, raw = await call(
            "POST", f"{API}/bulk/contacts/add", json.dumps({"entities": entities}).encode()
        )
        if status != 200 or b'"errorCount":0' not in raw:
            raise RuntimeError(f"bulk add answered {status}: {raw[:300]!r}")
    add_cpu = time.process_time() - cpu0
    scanned, cursor = 0, ""
    while True:
        status, raw = await call(
            "GET", f"{API}/scan/contacts?limit=200" + (f"&cursor={cursor}" if cursor else "")
        )
        page = json.loads(raw)
        scanned += len(page["entities"])
        cursor = (page.get("cursors") or {}).get("after", "")
        if not cursor:
            break
    cpu, rss = time.process_time() - cpu0, _rss() - rss0
    stored = count + orgs
    print(
        f"{count:,} contacts + {orgs:,} organizations stored, {scanned:,} scanned: "
        f"{cpu / stored * 1000:.3f} ms CPU per stored record ({add_cpu / stored * 1000:.3f} ms adding, "
        f"{(cpu - add_cpu) / stored * 1000:.3f} ms scanning), {rss / stored / 1024:.2f} KB of RSS per stored record"
    )


def serve_child(sock: object, preload_count: int, ready: object) -> None:
    """The emulator process: preload, then serve on the inherited socket until SIGTERM."""
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
    started = time.perf_counter()
    ids = preload(emu, preload_count)
    ready.send((ids, time.perf_counter() - started))  # type: ignore[attr-defined]
    make_server(emu.app).run(sockets=[sock])  # type: ignore[list-item]


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    await asgi_cost()
    sock = bind()
    base_url = socket_url(sock)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=serve_child, args=(sock, args.preload, sender), daemon=True)
    child.start()
    sock.close()
    try:
        ids, took = receiver.recv()
        print(f"emulator process preloaded {len(ids):,} contacts in {took:.1f} s")
        async with httpx.AsyncClient(base_url=base_url) as anon:
            for _ in range(200):
                try:
                    r = await anon.post(
                        "/oauth/token", auth=("bench", "bench"), data={"grant_type": "client_credentials"}
                    )
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            token = r.json()["access_token"]
        await measure(args, base_url, token, ids)
        async with httpx.AsyncClient(base_url=base_url) as anon:
            stats = (await anon.get("/_emulator/stats")).json()
        print(f"{stats['apiCalls']:,} API calls served; total run {time.perf_counter() - started:.1f} s")
    finally:
        if child.pid is not None and child.is_alive():
            os.kill(child.pid, signal.SIGTERM)
        child.join(10)
        receiver.close()
        sender.close()


async def measure(args: argparse.Namespace, base_url: str, token: str, ids: list[str]) -> None:
    rng = random.Random(1)
    cursors: dict[int, str | None] = {}

    async def get_one(client: httpx.AsyncClient, i: int) -> int:
        r = await client.get(f"{API}/contacts/{rng.choice(ids)}")
        return r.status_code

    async def create(client: httpx.AsyncClient, i: int) -> int:
        r = await client.post(
            f"{API}/contacts", json={"firstName": f"New{i}", "workEmail": f"n{i}@example.com"}
        )
        return r.status_code

    async def bulk_add(client: httpx.AsyncClient, i: int) -> int:
        entities = [{"firstName": f"Bulk{i}-{j}", "lastName": "B"} for j in range(200)]
        r = await client.post(f"{API}/bulk/contacts/add", json={"entities": entities})
        return r.status_code

    async def scan_page(client: httpx.AsyncClient, i: int) -> int:
        worker = i // 1_000_000
        params: dict[str, str | int] = {"limit": 200}
        cursor = cursors.get(worker)
        if cursor:
            params["cursor"] = cursor
        r = await client.get(f"{API}/scan/contacts", params=params)
        cursors[worker] = (r.json().get("cursors") or {}).get("after")
        return r.status_code

    scenarios: list[tuple[str, Call, int]] = [
        ("GET contact", get_one, 1),
        ("POST create contact", create, 1),
        ("bulk add (200)", bulk_add, 200),
        ("scan page (200)", scan_page, 200),
    ]
    print(f"emulator at {base_url}; {args.clients} concurrent clients, {args.seconds:g} s per scenario")
    for name, call, items in scenarios:
        done, latencies = await run_scenario(base_url, token, args.clients, args.seconds, call)
        report(name, done, latencies, args.seconds, items)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each scenario (max 10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent httpx clients")
    parser.add_argument("--preload", type=int, default=20_000, help="contacts stored before measuring")
    parser.add_argument(
        "--per-record",
        type=int,
        default=0,
        metavar="N",
        help="first-sync cost per stored record (in process)",
    )
    parsed = parser.parse_args()
    if parsed.per_record:
        asyncio.run(per_record(parsed.per_record))
        raise SystemExit(0)
    parsed.seconds = min(max(parsed.seconds, 0.5), 10.0)
    parsed.preload = min(max(parsed.preload, 1), 200_000)
    asyncio.run(main(parsed))
