"""A cold build on a Dask cluster of 1, 2 and 4 worker processes on this machine, beside a local one.

    python bench/cluster.py                      # 20,000 articles, clusters of 1, 2 and 4 workers
    python bench/cluster.py --articles 2000 --workers 2

For each cluster the script starts `dask scheduler` and `dask worker --nthreads 1 --no-nanny`
processes, as an operator would, and runs `feedtool build --executor dask:…` on the same generated
archive from nothing. On one machine this shows what the cluster costs (the scheduler, the
messages, each worker's setup), not a speed-up: the workers share its cores.

Reported for each build: wall time; the CPU time of the build process alone (the one writer, which
applies every task's results to the store), per dump; and the CPU time of the workers, per dump.
The writer's figure is its ceiling: a cluster of any size ends no faster than the build process
can apply what the workers send it. Results go to stdout and, with --save, to bench/cluster.json,
from which docs/scale.md shows them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# Runs feedtool's CLI in this process and, as it exits, writes the CPU time the process itself
# used (not its children: the local workers are measured apart) to the file named in argv[1].
LAUNCHER = """
import atexit, json, resource, sys
out = sys.argv.pop(1)
def report():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as fh:
        json.dump({"self": own.ru_utime + own.ru_stime, "children": kids.ru_utime + kids.ru_stime}, fh)
atexit.register(report)
from feedtool.cli import main
main(sys.argv[1:])
"""


def _cpu_seconds(pid: int) -> float:
    """A process's user and system time so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _build(work: Path, executor: str) -> dict[str, float]:
    shutil.rmtree(work / "out", ignore_errors=True)
    shutil.rmtree(work / ".feedtool", ignore_errors=True)
    cpu = work / "cpu.json"
    command = [sys.executable, "-c", LAUNCHER, str(cpu), "build", "-q", "-c", str(work / "feedtool.toml")]
    started = time.monotonic()
    subprocess.run([*command, "--executor", executor] if executor != "local" else command, check=True)
    seconds = time.monotonic() - started
    used = json.loads(cpu.read_text())
    return {"seconds": seconds, "build_cpu": used["self"], "children_cpu": used["children"]}


def _cluster(work: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = Path(sys.executable).with_name("dask")
    file = work / "scheduler.json"
    file.unlink(missing_ok=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", file], **quiet
    )
    processes = [scheduler] + [
        subprocess.Popen(
            [dask, "worker", "--scheduler-file", file, "--nthreads", "1", "--no-nanny", "--no-dashboard"], **quiet
        )
        for _ in range(workers)
    ]
    from distributed import Client

    deadline = time.monotonic() + 120
    while True:
        try:
            address = json.loads(file.read_text())["address"]
            with Client(address, timeout=5, set_as_default=False) as client:
                if len(client.scheduler_info()["workers"]) == workers:
                    return address, processes
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the cluster of {workers} workers did not start")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2,4", help="cluster sizes, comma-separated ('': the local build only)")
    parser.add_argument("--work", type=Path, default=HERE / "work" / "cluster")
    parser.add_argument("--save", action="store_true", help="keep the figures in bench/cluster.json, for the docs")
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    manifest = generate(work / "dumps", args.articles, args.seed)
    (work / "feedtool.toml").write_text(
        (HERE.parent / "feedtool.toml").read_text("utf-8").replace('inputs = ["seeds"]', 'inputs = ["dumps"]'),
        "utf-8",
    )
    rows = [{"executor": "local processes", "workers": os.cpu_count(), **_build(work, "local")}]
    rows[0]["workers_cpu"] = rows[0].pop("children_cpu")
    for size in (int(n) for n in args.workers.split(",") if n):
        address, processes = _cluster(work, size)
        try:
            before = sum(_cpu_seconds(p.pid) for p in processes[1:])
            row = _build(work, f"dask:{address}")
            row["workers_cpu"] = sum(_cpu_seconds(p.pid) for p in processes[1:]) - before
            del row["children_cpu"]
        finally:
            for process in processes:
                process.kill()
                process.wait()
        rows.append({"executor": "dask", "workers": size, **row})
    dumps = manifest.files
    print(f"\n{dumps} dumps, {len(manifest.articles)} articles, {os.cpu_count()} cores\n")
    print("| executor | workers | wall s | build process CPU ms/dump | workers CPU ms/dump |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['executor']} | {row['workers']} | {row['seconds']:.1f} | {1000 * row['build_cpu'] / dumps:.2f}"
            f" | {1000 * row['workers_cpu'] / dumps:.2f} |"
        )
    if args.save:
        report = {
            "date": time.strftime("%Y-%m-%d", time.gmtime()), "cpus": os.cpu_count(),
            "articles": len(manifest.articles), "dumps": dumps,
            "command": " ".join(["python", "bench/cluster.py", *sys.argv[1:]]), "builds": rows,
        }  # fmt: skip
        (HERE / "cluster.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
