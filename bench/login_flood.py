"""A console login flood against a live server (issue 11): memory of the server and chat
latency while 16 clients send failed logins as fast as they can, each attempt from a new
forwarded address and for a new user name (so only the bound on concurrent password
checks, not the rate limits, stands in the way); with the default bound (one check at a
time per process) and with it opened to 16, as before. Then how long a wrong password and
a locked account take to answer.

Usage: python bench/login_flood.py [--seconds N] [--no-write]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
from common import ROOT, percentile, report, rss_mb, seed_bot, seed_server
from latency import free_port

CHAT = ["腰椎间盘突出症的症状有哪些", "What is a meningioma?", "腰痛需要做什么检查"]
PASSWORD = "bench password 1"


def _login_client(base: str) -> tuple[httpx.Client, str]:
    import re

    http = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      http.get("/admin/login").text).group(1)
    return http, token


def attempt(http: httpx.Client, token: str, username: str, password: str,
            address: str = "127.0.0.1") -> int:
    return http.post("/admin/login", data={"username": username, "password": password,
                                           "csrf_token": token},
                     headers={"x-forwarded-for": address}).status_code


def flood(base: str, pid: int, clients: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    statuses: Counter[int] = Counter()
    counter = itertools.count()
    rss: list[float] = []
    chat_ms: list[float] = []

    def attacker() -> None:
        http, token = _login_client(base)
        while time.monotonic() < stop:
            n = next(counter)
            statuses[attempt(http, token, f"intruder{n}", "guess",
                             f"198.18.{n // 250 % 250}.{n % 250 + 1}")] += 1

    def visitor() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for n in itertools.count():
                if time.monotonic() >= stop:
                    return
                started = time.perf_counter()
                http.post("/api/chat", json={"message": f"{CHAT[n % len(CHAT)]} {n}"})
                chat_ms.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=attacker) for _ in range(clients)]
    threads.append(threading.Thread(target=visitor))
    for thread in threads:
        thread.start()
    while time.monotonic() < stop:
        rss.append(rss_mb(pid))
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    return {"statuses": statuses, "rss_peak": max(rss), "chat": chat_ms}


def quiet_chat(base: str, n: int = 30) -> list[float]:
    timings = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for i in range(n):
            started = time.perf_counter()
            http.post("/api/chat", json={"message": f"{CHAT[i % len(CHAT)]} quiet {i}"})
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def lockout_timing(base: str, index_dir: str) -> tuple[float, float]:
    for name in ("bench-open", "bench-locked"):
        subprocess.run([sys.executable, "-m", "faqbot", "admin", "create-user", name,
                        "--index", index_dir, "--password", PASSWORD], cwd=ROOT,
                       capture_output=True, check=False)
    http, token = _login_client(base)
    for n in range(6):  # five wrong passwords lock the account
        attempt(http, token, "bench-locked", "wrong", f"192.0.2.{n + 1}")

    def median_ms(username: str) -> float:
        timings = []
        for n in range(9):
            started = time.perf_counter()
            attempt(http, token, username, "wrong", f"192.0.2.{100 + n}")
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    return median_ms("bench-open"), median_ms("bench-locked")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    index_dir = str(seed_bot().settings.index_dir)
    rows = []
    timing = None
    for checks in (1, args.clients):
        port = free_port()
        env = {"FAQBOT_TRUST_PROXY_HEADERS": "true", "FAQBOT_PASSWORD_CHECKS": str(checks),
               "FAQBOT_LOGIN_ATTEMPTS_PER_MINUTE": "100000"}
        with seed_server(port, env=env) as server:
            base = f"http://127.0.0.1:{port}"
            quiet = quiet_chat(base)
            rss_before = rss_mb(server.pid)
            result = flood(base, server.pid, args.clients, args.seconds)
            if timing is None:
                timing = lockout_timing(base, index_dir)
        chat = result["chat"]
        answered = ", ".join(f"{code}: {count}" for code, count in
                             sorted(result["statuses"].items()))
        rows.append(f"| {checks} | {rss_before:.0f} | {result['rss_peak']:.0f} | "
                    f"{statistics.median(quiet):.0f} | {statistics.median(chat):.0f} / "
                    f"{percentile(chat, 95):.0f} / {max(chat):.0f} | {answered} |")
    wrong, locked = timing
    body = (f"`faqbot serve` (one process, seed corpus) with {args.clients} clients sending "
            f"failed console logins for {args.seconds:.0f} s, each attempt from a new "
            f"forwarded address and for a new user name (login rate limits out of the "
            f"way), while one visitor asks questions one after another.\n\n"
            "| password checks at once | RSS before, MB | RSS peak during, MB | chat ms "
            "before (median) | chat ms during: median / p95 / max | login answers |\n"
            "|---|---:|---:|---:|---|---|\n" + "\n".join(rows) +
            f"\n\nThe default is one check at a time (`FAQBOT_PASSWORD_CHECKS`); 16 waiting, "
            f"the rest answered 503 with Retry-After at once. The second row opens the bound "
            f"to {args.clients}, as it was (issue 11 measured 559 -> 1,477 MiB and chat 26 ms "
            f"-> 4.6 s). Per-client and per-user-name login limits "
            f"(`FAQBOT_LOGIN_ATTEMPTS_PER_MINUTE`, default 10) come on top in practice.\n\n"
            f"A wrong password answers in {wrong:.0f} ms, a locked account in {locked:.0f} ms "
            f"(medians of 9; the hash is checked in both cases, so the time does not reveal "
            f"a lockout; it was 6 ms against ~200 ms).")
    report("login-flood", body, args.no_write)


if __name__ == "__main__":
    main()
