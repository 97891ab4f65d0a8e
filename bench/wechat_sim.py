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
import itertools
import json
import random
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from common import CACHE, cpu_seconds, percentile, questions, report, seed_bot, seed_server

from web.channels.wechat.settings import WeChatSettings
from web.channels.wechat.simulate import SimulatedWeChat

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
        if args.kind == "wecom" and not args.aes_key:
            sys.exit("WeCom callbacks are always encrypted: give --aes-key")
        return SimulatedWeChat(args.kind, args.token, args.app_id, args.aes_key,
                               encrypt=bool(args.aes_key) and not args.plain,
                               agent_id=args.agent_id)
    for account in WeChatSettings().account_list():
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
    elapsed: float
    sent: list[str]  # the messages' XML, to send again as WeChat's retries


def load(base: str, sim: SimulatedWeChat, next_message: Callable[[int], str], seconds: float,
         think: float) -> Run:
    """USERS simulated users, each on its own connection, one message at a time, pausing
    about `think` seconds (uniformly 0.5-1.5x, and a random start) between a reply and their
    next message, so that they do not move in lockstep as real users don't."""
    latencies: list[float] = []
    sent: list[str] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    url = urllib.parse.urlsplit(base)

    def user(number: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        pause = random.Random(number)
        time.sleep(pause.uniform(0, think))
        while time.monotonic() < deadline:
            with lock:
                message = next_message(number)
            started = time.perf_counter()
            try:
                status, body = post(base, sim, message, conn)
                content = sim.open_reply(body).get("Content") if status == 200 else None
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                content = None
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed * 1000)
                sent.append(message)
                errors += not content
            time.sleep(think * pause.uniform(0.5, 1.5))

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Run(latencies, errors, time.monotonic() - started, sent)


def cmd_bench(args: argparse.Namespace) -> None:
    # Compatible mode, so one account takes both plain and safe-mode callbacks.
    accounts = [{"kind": "mp", "name": "bench", "token": BENCH_TOKEN, "aes_key": BENCH_AES_KEY,
                 "app_id": BENCH_APP_ID, "accept_plaintext": True}]
    log_db = CACHE / "wechat-log.sqlite"
    log_db.unlink(missing_ok=True)
    env = {"FAQBOT_WECHAT_ACCOUNTS": json.dumps(accounts),
           "FAQBOT_DATABASE_URL": f"sqlite:///{log_db}"}
    texts = questions() * 3
    random.Random(11).shuffle(texts)
    feed = iter(texts)
    modes = {"plain": SimulatedWeChat("mp", BENCH_TOKEN, BENCH_APP_ID, encrypt=False),
             "encrypted": SimulatedWeChat("mp", BENCH_TOKEN, BENCH_APP_ID, BENCH_AES_KEY)}
    base = f"http://127.0.0.1:{args.port}"
    alone = answer_alone([next(feed) for _ in range(330)])
    rows = []
    with seed_server(args.port, 1, env):
        for think, seconds in ((0.0, 10), (args.think, args.seconds), (0.0, args.seconds)):
            for mode, sim in modes.items():
                run = load(base, sim, lambda n, sim=sim: sim.text(next(feed), f"user-{n}"),
                           seconds, think)
                if seconds != 10:  # the first round warms up
                    rows.append((f"{mode}, new questions", think, run))
        for mode, sim in modes.items():
            answered = itertools.cycle(next(run for name, _, run in rows
                                            if name.startswith(mode)).sent)
            rows.append((f"{mode}, retries of answered messages", 0.0,
                         load(base, sim, lambda n, answered=answered: next(answered), 20, 0)))
    lines = [
        f"Server: `faqbot serve` (one worker, seed corpus, conversation log on); client: "
        f"{USERS} simulated WeChat users in a second process on the same 2-core machine, each "
        f"sending signed callbacks (plain, or safe mode: AES-encrypted both ways; the "
        f"account in compatible mode takes both) on its "
        f"own connection, one message at a time, pausing about the time shown (0.5-1.5x, "
        f"random start) between a reply and the next message. New questions: every message a distinct "
        f"question (seed dev, Chinese patient and MedQuAD questions; most outside the seed "
        f"corpus), {args.seconds:g} s per row after a 10 s warm-up. Retries: messages "
        f"already answered sent again with their MsgId (WeChat's retry), which measures the "
        f"channel alone (verify, decrypt, parse, deduplicate, render, encrypt). Latency: "
        f"request sent to reply decoded and checked. Machine speed: `sum(range(10**8))` in "
        f"CPython took {cpu_seconds():.1f} s.",
        "",
        "| messages | pause between a reply and the next message | messages/s | p50 ms | "
        "p95 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, think, run in rows:
        lat = run.latencies
        lines.append(
            f"| {name} | {think:g} s | {len(lat) / run.elapsed:.1f} | {percentile(lat, 50):.0f} "
            f"| {percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {max(lat):.0f} "
            f"| {run.errors} |")
    lines += ["", f"The bot alone, for comparison: `Bot.ask` in process, one question at a time "
              f"(no HTTP, no channel), {len(alone)} other new questions of the same mix after "
              f"30 to warm up: p50 {percentile(alone, 50):.0f} ms, p95 "
              f"{percentile(alone, 95):.0f} ms, p99 {percentile(alone, 99):.0f} ms."]
    report("wechat-latency", "\n".join(lines), args.no_write)


def answer_alone(texts: list[str]) -> list[float]:
    """Milliseconds per new question for the bot alone, in this process."""
    bot = seed_bot()
    for text in texts[:30]:
        bot.ask(text)
    latencies = []
    for text in texts[30:]:
        started = time.perf_counter()
        bot.ask(text)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


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
