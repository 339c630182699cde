"""The chat page on an archive: how long `qa serve`'s page takes to list the articles, and to filter them, in a
real browser (headless Chromium, as the page tests use), with the server's memory before and after.

Run from the repository root after `bash .ci/setup --test` (Chromium and its driver) and after building an
archive index with `benchmarks/live.py --passages 1000000` (about 6 minutes on a quiet 2-core machine):

    .venv/bin/python benchmarks/archive_page.py --index benchmarks/work/live-1000000

Reported (benchmarks/results/archive-page[-TAG].json, and every run so far side by side in archive-page.md): rows listed and the heading's count, seconds from
opening the page to the first rows, seconds from typing a filter to its rows, and RSS of the `qa serve`
process and of its answering processes (from /proc) after start, after the page and after the filter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from load import free_port, memory  # noqa: E402

OUT = ROOT / "benchmarks" / "results"


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)


UNRESPONSIVE: list[str] = []  # what the page failed to answer (a script timeout: the tab was busy)


def rows(driver) -> list[str]:
    from selenium.common.exceptions import WebDriverException

    try:
        return driver.execute_script(
            "return Array.from(document.querySelectorAll('#qa-articles div[role=row]')).map(r => r.innerText)")
    except WebDriverException as e:
        UNRESPONSIVE.append(f"{time.strftime('%H:%M:%S')} {type(e).__name__}: {str(e).splitlines()[0][:80]}")
        return []


def until(what, timeout: float) -> float:
    """Seconds until ``what()`` is true (polled every 50 ms); raises TimeoutError after ``timeout``."""
    t0 = time.perf_counter()
    while not what():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.05)
    return round(time.perf_counter() - t0, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--filter", default="Paragraph 1234", help="words typed in the articles filter")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--tag", default="", help="results go to archive-page-TAG.md / .json")
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = open(ROOT / "benchmarks" / "work" / "archive-page-serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--no-index", "--no-watch", "--index", str(args.index),
                             "--workers", str(args.workers), "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    result: dict = {"load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    driver = None
    try:
        t0 = time.perf_counter()

        def up() -> bool:
            try:
                urllib.request.urlopen(url, timeout=2)
                return True
            except OSError:
                return proc.poll() is not None

        until(up, args.timeout)
        if proc.poll() is not None:
            sys.exit("qa serve exited; see benchmarks/work/archive-page-serve.log")
        result["page_served_s"] = round(time.perf_counter() - t0, 2)
        time.sleep(5)
        result["memory_started"] = memory(proc.pid)
        driver = browser()
        t0 = time.perf_counter()
        driver.get(url)
        try:
            result["rows_shown_s"] = until(lambda: len(rows(driver)) > 0, args.timeout)
        except TimeoutError:
            result["rows_shown_s"] = f"> {args.timeout:g}"
        result["rows_shown_s_from_open"] = round(time.perf_counter() - t0, 2)
        result["rows"] = len(rows(driver))
        heading = driver.execute_script("return (document.querySelector('#qa-heading') || {}).innerText || ''")
        note = driver.execute_script("return (document.querySelector('#qa-articles-none') || {}).innerText || ''")
        result["heading"] = next((line for line in heading.splitlines() if "indexed" in line), heading)[:80]
        result["note"] = note.strip()
        result["memory_after_page"] = memory(proc.pid)
        box = driver.find_element("css selector", "#qa-article-search textarea")
        before = rows(driver)
        t0 = time.perf_counter()
        box.send_keys(args.filter)
        try:
            result["filter_s"] = until(lambda: rows(driver) != before, args.timeout)
        except TimeoutError:
            result["filter_s"] = f"> {args.timeout:g}"
        time.sleep(1)
        result["filter_rows"] = rows(driver)[:3]
        result["memory_after_filter"] = memory(proc.pid)
    except Exception as e:  # the page never came: say so, with the memory then
        result["failed"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        result["memory_when_failed"] = memory(proc.pid)
    finally:
        result["unresponsive"] = UNRESPONSIVE[:5] + ([f"... {len(UNRESPONSIVE)} in all"] if len(UNRESPONSIVE) > 5 else [])
        if driver is not None:
            driver.quit()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result.update({"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
                   "index": str(args.index), "workers": args.workers, "filter": args.filter,
                   "load_average_at_end": [round(x, 1) for x in os.getloadavg()]})
    print(json.dumps(result, indent=1, ensure_ascii=False))
    name = f"archive-page-{args.tag}" if args.tag else "archive-page"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    (OUT / "archive-page.md").write_text(markdown(sorted(OUT.glob("archive-page*.json"))))


def _mb(mem: dict | None) -> str:
    if not mem:
        return "-"
    return f"{mem['server_mb']:.0f} + {mem['engine_mb']:.0f} MB"


def markdown(paths: list[Path]) -> str:
    """Every run's numbers, one row each."""
    lines = ["# The chat page on an archive (`benchmarks/archive_page.py`)", "",
             "Seconds from opening `qa serve`'s page in headless Chromium to the first article rows, and from typing a filter "
             "to its rows; RSS of the web server + answering processes (from /proc).", "",
             "| run | commit | measured | load avg start / end | page served | rows shown | rows | filter | RSS started | "
             "RSS after page | RSS after filter | heading | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        r = json.loads(path.read_text())
        after = r.get("memory_after_page") or r.get("memory_when_failed")
        lines.append("| " + " | ".join(str(x) for x in (
            path.stem.removeprefix("archive-page").lstrip("-") or "-", r.get("commit"), r.get("measured"),
            f"{r['load_average_at_start'][0]} / {r['load_average_at_end'][0]}", f"{r.get('page_served_s')} s",
            f"{r.get('rows_shown_s')} s", r.get("rows", "-"), f"{r.get('filter_s', '-')} s", _mb(r.get("memory_started")),
            _mb(after), _mb(r.get("memory_after_filter")), r.get("heading", "").replace("|", "/"),
            (r.get("note") or r.get("failed") or "").replace("|", "/"))) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
