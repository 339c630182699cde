"""Load test: many chat users asking at once through the HTTP API of a real `qa serve` (loopback only).

Run from the repository root (after `bash .ci/setup`; needs ~6 minutes):

    .venv/bin/python benchmarks/load.py                       # 20 and 60 users, 2 minutes each
    .venv/bin/python benchmarks/load.py --users 5 --seconds 20 # a quick look

It builds an index of seeds/ in benchmarks/work/load-index, starts `qa serve --no-index` on a
free 127.0.0.1 port, and measures one lone user first (the time to answer when nobody waits).
Then, for each load, N threads each play one user: ask a question through Gradio's HTTP API
(POST /gradio_api/call/ask, then read the event stream), wait for the answer, think 1-3 s, ask
again, until the time is up. Everything is bounded: at most --max-per-user questions per user,
at most --seconds per load plus the answers still on their way (each given up after 600 s).

Reported per load: questions answered, errors, p50/p95 latency, how long a user waits in line
(latency minus the lone user's median answer time) and the server's resident memory (the
`qa serve` process and its engine processes, from /proc) at start and end, with their PSS sum
(shared pages counted once) and anonymous memory. Written to
benchmarks/results/load.md and load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
OUT = ROOT / "benchmarks" / "results"
QUESTIONS = [
    "Who is the NATO Secretary-General?",
    "In which Russian city did Rasmussen meet Medvedev?",
    "Who is Russia's foreign minister?",
    "Who heads the TNC?",
    "Which TV channel did Saif al-Islam Gadhafi talk to?",
    "What did France drop to the rebels?",
    "What is the boiling point of mercury?",  # not in the articles: declined, which is a success
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def rollup_mb(pid: int) -> dict:
    """Rss, Pss and Anonymous of one process in MB, from /proc/PID/smaps_rollup (zeros when it is gone)."""
    out = {"Rss": 0.0, "Pss": 0.0, "Anonymous": 0.0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key = line.split(":")[0]
            if key in out:
                out[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def memory(server_pid: int) -> dict:
    """RSS of `qa serve` and of its children (the engine processes; the resource tracker is tiny).

    Summed RSS counts a page that several processes share (the memory-mapped IVF codes, vectors, keyword
    index) once per process; PSS divides each shared page among its sharers, so the processes' PSS sum
    is what they take from the machine together. Anonymous memory is what the kernel cannot drop and
    read back from the files (models, Python objects); the rest of the RSS is file pages it may reclaim.
    """
    pids = [server_pid, *children(server_pid)]
    roll = [rollup_mb(p) for p in pids]
    return {"server_mb": round(roll[0]["Rss"], 1), "engine_mb": round(sum(r["Rss"] for r in roll[1:]), 1),
            "pss_total_mb": round(sum(r["Pss"] for r in roll), 1), "anonymous_total_mb": round(sum(r["Anonymous"] for r in roll), 1)}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_now(server_pid: int) -> dict:
    """CPU seconds used so far by this benchmark (the simulated users), the web server and its answering processes."""
    mine = os.times()
    return {"users": mine.user + mine.system, "server": cpu_seconds(server_pid),
            "engines": sum(cpu_seconds(k) for k in children(server_pid))}


def ask(client: httpx.Client, base: str, question: str) -> tuple[bool, str]:
    """One question through Gradio's two-step HTTP API. Returns (answered, error text)."""
    r = client.post(f"{base}gradio_api/call/ask", json={"data": [question, []]})
    if r.status_code != 200:
        return False, f"HTTP {r.status_code} on submit"
    event_id = r.json()["event_id"]
    event = None
    with client.stream("GET", f"{base}gradio_api/call/ask/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.split(":", 1)[1])
                if event == "complete" and isinstance(data, list) and isinstance(data[0], dict) and "answer" in data[0]:
                    return True, ""
                return False, f"{event}: {str(data)[:200]}"
    return False, "stream ended without an answer"


def run_load(base: str, users: int, seconds: float, max_per_user: int, server_pid: int,
             think: tuple[float, float] = (1.0, 3.0)) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.time() + seconds
    mem_start = memory(server_pid)
    cpu_start = cpu_now(server_pid)
    samples = [mem_start]

    def user(n: int) -> None:
        rng = random.Random(n)
        time.sleep(rng.uniform(0, 2))  # users do not all arrive in the same millisecond
        with httpx.Client(timeout=600) as client:
            for _ in range(max_per_user):
                if time.time() >= stop_at:
                    return
                t0 = time.perf_counter()
                try:
                    ok, err = ask(client, base, rng.choice(QUESTIONS))
                except httpx.HTTPError as e:
                    ok, err = False, f"{type(e).__name__}: {e}"
                with lock:
                    (latencies.append(time.perf_counter() - t0) if ok else errors.append(err))
                time.sleep(rng.uniform(*think))  # reading the answer

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    t0 = time.time()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        samples.append(memory(server_pid))
    wall = time.time() - t0
    cpu_end = cpu_now(server_pid)
    return {"latencies": latencies, "errors": errors, "wall_s": round(wall, 1),
            "memory_start": mem_start, "memory_end": memory(server_pid),
            "memory_peak": {k: max(s[k] for s in samples) for k in mem_start},
            # Cores each part kept busy on average: the simulated users share the machine with the server.
            "cpu_cores": {k: round((cpu_end[k] - cpu_start[k]) / wall, 2) for k in cpu_start}}


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def serve_and_load(index: Path, env: dict, workers: int, user_counts: list[int], seconds: float, max_per_user: int,
                   think: tuple[float, float] = (1.0, 3.0)) -> dict:
    """Start `qa serve --workers N` on an index, time its first answer and a lone user, then each load. Returns the results."""
    results: dict = {}
    port = free_port()
    started = time.perf_counter()
    base = f"http://127.0.0.1:{port}/"
    log = open(WORK / "load-serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--no-index", "--index", str(index), "--workers", str(workers),
                             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(timeout=600) as client:
            deadline = time.time() + 300
            while True:  # the first answer: page up and models loaded
                try:
                    if ask(client, base, QUESTIONS[0])[0]:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    sys.exit("qa serve did not answer; see benchmarks/work/load-serve.log")
                time.sleep(1)
            results["first_answer"] = {"seconds_after_start": round(time.perf_counter() - started, 1), "memory": memory(proc.pid)}
            print("first answer after qa serve:", results["first_answer"], flush=True)
            alone = []
            for q in QUESTIONS * 2:
                t0 = time.perf_counter()
                assert ask(client, base, q)[0]
                alone.append(time.perf_counter() - t0)
        service = statistics.median(alone)
        results["alone"] = {"questions": len(alone), "p50_s": round(service, 3), "p95_s": round(pct(alone, 95), 3)}
        print("one user:", results["alone"], flush=True)
        for users in user_counts:
            r = run_load(base, users, seconds, max_per_user, proc.pid, think)
            lat = r.pop("latencies")
            errs = r.pop("errors")
            results[str(users)] = {
                "users": users, "workers": workers, "answered": len(lat), "errors": len(errs), "error_examples": sorted(set(errs))[:5],
                "p50_s": round(pct(lat, 50), 2), "p95_s": round(pct(lat, 95), 2), "max_s": round(max(lat, default=float("nan")), 2),
                "wait_p50_s": round(max(0.0, pct(lat, 50) - service), 2), "wait_p95_s": round(max(0.0, pct(lat, 95) - service), 2),
                "answers_per_s": round(len(lat) / r["wall_s"], 2), **r,
            }
            print(users, "users:", results[str(users)], flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, nargs="+", default=[20, 60])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--max-per-user", type=int, default=200)
    ap.add_argument("--index", type=Path, help="serve this index as it is (e.g. benchmarks/work/live-1000000) instead of building seeds/")
    ap.add_argument("--workers", type=int, nargs="+", default=[1], help="answering processes (qa serve --workers): each value served and loaded in turn")
    ap.add_argument("--tag", default="", help="results go to load-TAG.md / .json (default: load.md / .json)")
    ap.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"),
                    help="seconds a user reads an answer before the next question (uniform; 0 0: users ask back to back)")
    args = ap.parse_args()
    if max(args.users) > 200 or args.seconds > 600:
        sys.exit("bounded on purpose: at most 200 users and 600 s per load")

    load_at_start = [round(x, 1) for x in os.getloadavg()]  # other work on the machine skews every number
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False",
           # Every simulated user comes from 127.0.0.1: the per-address limits (120 calls a minute, 3 questions
           # waiting) would turn them away as one user.
           "QA_MAX_REQUESTS_PER_MINUTE": "100000", "QA_MAX_PENDING_QUESTIONS": "100000"}
    WORK.mkdir(parents=True, exist_ok=True)
    index = args.index or WORK / "load-index"
    if not args.index:
        shutil.rmtree(index, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", "seeds", "--index", str(index)],
                       cwd=ROOT, env=env, check=True, capture_output=True)
    results = {}
    for workers in args.workers:
        for key, r in serve_and_load(index, env, workers, args.users, args.seconds, args.max_per_user, tuple(args.think)).items():
            results[f"{key}@{workers}"] = r
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    meta = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
            "cpus": os.cpu_count(), "python": platform.python_version(), "seconds_per_load": args.seconds,
            "load_average_at_start": load_at_start, "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
            "command": "python benchmarks/load.py " + " ".join(sys.argv[1:])}
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"load-{args.tag}" if args.tag else "load"
    meta["index"] = str(index)
    (OUT / f"{name}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    lines = ["# Load: concurrent chat users through the HTTP API (`/ask`)", "",
             f"`{meta['command']}` on {meta['cpus']} CPUs, {meta['measured']}, commit {commit}, load average "
             f"{meta['load_average_at_start'][0]} at start and {meta['load_average_at_end'][0]} at end (other jobs shared the CPUs). Index: {args.index or 'seeds/'}. "
             f"Each user asks, waits for the answer, reads it for {args.think[0]:g}-{args.think[1]:g} s, asks again, for {args.seconds:.0f} s. "
             "Workers: answering processes (`qa serve --workers N`); engine memory is theirs summed.", ""]
    for w in args.workers:
        alone, first = results[f"alone@{w}"], results[f"first_answer@{w}"]
        lines.append(f"- {w} worker(s): one user alone, median answer {alone['p50_s']} s, p95 {alone['p95_s']} s; first answer "
                     f"{first['seconds_after_start']} s after `qa serve` started (server + engine then "
                     f"{first['memory']['server_mb']} + {first['memory']['engine_mb']} MB RSS, PSS total "
                     f"{first['memory'].get('pss_total_mb', '?')} MB).")
    lines += ["", "| workers | users | answered | errors | answers/s | p50 latency | p95 latency | wait in line p50 / p95 | RSS start (server + engines) | RSS end | RSS peak | PSS total end (anonymous) | cores busy: users / server / engines |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        if key.startswith(("alone", "first_answer")):
            continue
        m0, m1, mp = r["memory_start"], r["memory_end"], r["memory_peak"]
        lines.append(f"| {r['workers']} | {r['users']} | {r['answered']} | {r['errors']} | {r['answers_per_s']} | {r['p50_s']} s | {r['p95_s']} s | "
                     f"{r['wait_p50_s']} s / {r['wait_p95_s']} s | {m0['server_mb']} + {m0['engine_mb']} MB | "
                     f"{m1['server_mb']} + {m1['engine_mb']} MB | {mp['server_mb']} + {mp['engine_mb']} MB | "
                     f"{m1.get('pss_total_mb', '?')} MB ({m1.get('anonymous_total_mb', '?')} MB) | "
                     + (" / ".join(str(r["cpu_cores"][k]) for k in ("users", "server", "engines")) if "cpu_cores" in r else "?") + " |")
    (OUT / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
