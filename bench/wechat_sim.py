"""Talk to the WeChat channel the way WeChat does: signed (and encrypted) callbacks, decoded
replies. Try the channel without a WeChat account, or measure its latency.

  python bench/wechat_sim.py send "腰椎间盘突出怎么办"          # a text message
  python bench/wechat_sim.py send --type subscribe               # follow the account
  python bench/wechat_sim.py verify                              # the URL check WeChat does
  python bench/wechat_sim.py bench [--seconds 60] [--no-write]   # latency, 8 users

`send` and `verify` use the account the server is configured with (the same FAQBOT_WECHAT_*
/ FAQBOT_WECOM_* variables, first account of --kind) unless --token/--app-id/--aes-key are
given. `bench` starts its own server over the seed corpus with a test account.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import secrets
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass

from common import cpu_seconds, percentile, questions, report, seed_server

from bot.config import Settings
from web.wechat.simulate import SimulatedWeChat

USERS = 8
BENCH_TOKEN = "benchToken1"
BENCH_AES_KEY = "".join(random.Random(3).choices("abcdefghijklmnopqrstuvwxyz0123456789", k=43))
BENCH_APP_ID = "wxbench000001"


def post(base: str, sim: SimulatedWeChat, message_xml: str,
         connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    params, body = sim.request(message_xml)
    url = urllib.parse.urlsplit(base)
    conn = connection or http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
    conn.request("POST", f"{url.path.rstrip('/')}{sim.path}?{urllib.parse.urlencode(params)}",
                 body, {"Content-Type": "text/xml"})
    response = conn.getresponse()
    return response.status, response.read()


def simulator(args: argparse.Namespace) -> SimulatedWeChat:
    if args.token and args.app_id:
        return SimulatedWeChat(args.kind, args.token, args.app_id, args.aes_key,
                               encrypt=not args.plain, agent_id=args.agent_id)
    for account in Settings().wechat_account_list():
        if account.kind == args.kind:
            return SimulatedWeChat(account.kind, account.token, account.app_id, account.aes_key,
                                   encrypt=bool(account.aes_key) and not args.plain,
                                   agent_id=account.agent_id)
    sys.exit(f"no {args.kind} account: set the FAQBOT_ variables the server uses, or give "
             f"--token and --app-id (and --aes-key for safe mode / WeCom)")


def message_for(sim: SimulatedWeChat, args: argparse.Namespace) -> str:
    if args.type == "text":
        return sim.text(args.text or "腰椎间盘突出症有哪些症状？", args.user)
    if args.type == "voice":
        return sim.message("voice", args.user, MediaId="sim", Format="amr",
                           Recognition=args.text or "腰痛怎么办")
    if args.type == "image":
        return sim.message("image", args.user, PicUrl="http://example.com/x.jpg", MediaId="sim")
    return sim.message("event", args.user, Event=args.type)


def cmd_send(args: argparse.Namespace) -> None:
    sim = simulator(args)
    status, body = post(args.url, sim, message_for(sim, args))
    if status != 200:
        sys.exit(f"HTTP {status}: {body.decode('utf-8', 'replace')}")
    reply = sim.open_reply(body)
    print(reply.get("Content", "(no reply: 'success')") if reply else "(no reply: 'success')")


def cmd_verify(args: argparse.Namespace) -> None:
    sim = simulator(args)
    echostr = str(secrets.randbelow(10**18))
    url = f"{args.url.rstrip('/')}{sim.path}?{urllib.parse.urlencode(sim.verification(echostr))}"
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    conn.request("GET", f"{parts.path}?{parts.query}")
    response = conn.getresponse()
    answer = response.read().decode("utf-8", "replace")
    ok = response.status == 200 and answer == echostr
    print(f"{'verified' if ok else 'FAILED'}: HTTP {response.status}, echostr "
          f"{'matches' if answer == echostr else 'differs'}")
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------- latency benchmark
@dataclass
class Run:
    latencies: list[float]
    errors: int
    replies: int
    elapsed: float


def load(base: str, sim: SimulatedWeChat, texts: list[str], seconds: float,
         think: float) -> Run:
    """USERS simulated users, each on its own connection, one message at a time, pausing
    `think` seconds between a reply and their next message."""
    latencies: list[float] = []
    counts = {"errors": 0, "replies": 0}
    lock = threading.Lock()
    feed = iter(texts)
    deadline = time.monotonic() + seconds
    url = urllib.parse.urlsplit(base)

    def user(number: int) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                question = next(feed)
            message = sim.text(question, f"bench-user-{number}")
            started = time.perf_counter()
            try:
                status, body = post(base, sim, message, conn)
                content = sim.open_reply(body).get("Content") if status == 200 else None
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                status, content = 0, None
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed * 1000)
                counts["replies" if content else "errors"] += 1
            time.sleep(think)

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Run(latencies, counts["errors"], counts["replies"], time.monotonic() - started)


def cmd_bench(args: argparse.Namespace) -> None:
    accounts = [{"kind": "mp", "name": "bench", "token": BENCH_TOKEN, "aes_key": BENCH_AES_KEY,
                 "app_id": BENCH_APP_ID}]
    env = {"FAQBOT_WECHAT_ACCOUNTS": json.dumps(accounts),
           "FAQBOT_DATABASE_URL": "sqlite:///:memory:"}
    texts = questions() * 3
    random.Random(11).shuffle(texts)
    modes = {"plain": SimulatedWeChat("mp", BENCH_TOKEN, BENCH_APP_ID, encrypt=False),
             "encrypted": SimulatedWeChat("mp", BENCH_TOKEN, BENCH_APP_ID, BENCH_AES_KEY)}
    base = f"http://127.0.0.1:{args.port}"
    rows = []
    with seed_server(args.port, 1, env):
        load(base, modes["encrypted"], texts[:200], 10, 0)  # warm-up
        offset = 200
        for think in (args.think, 0.0):
            for mode, sim in modes.items():
                run = load(base, sim, texts[offset:], args.seconds, think)
                offset += len(run.latencies)
                rows.append((mode, think, run))
    lines = [
        f"Server: `faqbot serve` (one worker, seed corpus, conversation log on); client: "
        f"{USERS} simulated WeChat users in a second process on the same 2-core machine, each "
        f"sending signed callbacks (plain mode, or safe mode: AES-encrypted both ways) on its "
        f"own connection, one message at a time, every message a distinct question (seed dev, "
        f"Chinese patient and MedQuAD questions; most outside the seed corpus). Latency: "
        f"request sent to reply decoded and checked. {args.seconds} s per row. Machine speed: "
        f"`sum(range(10**8))` in CPython took {cpu_seconds():.1f} s.",
        "",
        "| mode | pause between a reply and the next message | messages/s | p50 ms | p95 ms | "
        "p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, think, run in rows:
        lat = run.latencies
        lines.append(
            f"| {mode} | {think:g} s | {len(lat) / run.elapsed:.1f} | {percentile(lat, 50):.0f} "
            f"| {percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {max(lat):.0f} "
            f"| {run.errors} |")
    report("wechat-latency", "\n".join(lines), args.no_write)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("send", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--url", default="http://127.0.0.1:8000")
        p.add_argument("--kind", choices=["mp", "wecom"], default="mp")
        p.add_argument("--token")
        p.add_argument("--app-id", help="AppID (Official Account) or CorpID (WeCom)")
        p.add_argument("--aes-key", help="EncodingAESKey; omit for plain mode")
        p.add_argument("--agent-id")
        p.add_argument("--plain", action="store_true", help="Official Account plain mode")
        if name == "send":
            p.add_argument("text", nargs="?")
            p.add_argument("--type", default="text",
                           choices=["text", "voice", "image", "subscribe", "unsubscribe"])
            p.add_argument("--user", default="oSimulatedUser0000000000001")
    bench = sub.add_parser("bench")
    bench.add_argument("--seconds", type=float, default=60)
    bench.add_argument("--think", type=float, default=2.0,
                       help="seconds a user pauses before the next message (the first rows)")
    bench.add_argument("--port", type=int, default=8766)
    bench.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    {"send": cmd_send, "verify": cmd_verify, "bench": cmd_bench}[args.command](args)


if __name__ == "__main__":
    main()
