"""The regression gate against itself and against a known change, on this machine.

    python measurements/gate_check.py --out OUT --profile small --backends mlx_cpu,cpu \
        --plant "0.25:ReLU,Softmax/cpu" [--ops ReLU,Softmax,Sum] [--aa-pairs 2] [--confirm 4]

In a scratch copy of this checkout (its working tree, one empty commit per run) the suite
measures the gated measure (device time) in 2 x --aa-pairs runs and one more run with the
planted slowdown (BENCH_PLANT: real extra device work in the named cases, a test-only
switch). tools.compare --confirm then judges each A/A pair (every flagged case is a false
alarm) and the last A/A run against the planted run (a planted case flagged is a
detection, any other a false alarm). OUT receives every gate report (text and JSON), the
results files and summary.md / summary.json with both rates.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run as a script from anywhere: the suite's own packages

from benchmarks.harness import vocabulary  # noqa: E402


def sh(*args, cwd, env=None, log=None):
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if log:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(args)}\n{done.stdout}{done.stderr}\n[exit {done.returncode}, "
                    f"{time.perf_counter() - started:.0f} s]\n\n")
    return done


def scratch_copy(target):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if name.startswith("results/") or not os.path.isfile(os.path.join(ROOT, name)):
            continue
        os.makedirs(os.path.dirname(os.path.join(target, name)) or target, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), os.path.join(target, name))
    git = ["git", "-c", "user.name=gate-check", "-c", "user.email=gate@localhost"]
    sh("git", "init", "-q", "-b", "main", cwd=target)
    sh(*git, "add", "-A", cwd=target)
    sh(*git, "commit", "-qm", "scratch copy", cwd=target)
    return git


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--profile", default="small", choices=vocabulary.PROFILES)
    p.add_argument("--backends", required=True)
    p.add_argument("--dtypes", default="float32")
    p.add_argument("--ops", help="comma-separated ops (default: all)")
    p.add_argument("--plant", required=True, help="BENCH_PLANT of the planted run")
    p.add_argument("--aa-pairs", type=int, default=2)
    p.add_argument("--confirm", type=int, default=4)
    p.add_argument("--machine", default="gate-check")
    args = p.parse_args()
    errors = vocabulary.setting_errors({"BENCH_PLANT": args.plant})
    if errors:
        sys.exit(f"error: {errors[0]}")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "log.txt")
    work = tempfile.mkdtemp(prefix="gate-check-")
    git = scratch_copy(work)
    python = sys.executable
    suite = [python, "-m", "tools.suite", "--profile", args.profile, "--backends", args.backends,
             "--dtypes", args.dtypes, "--machine", args.machine, "--bench", r"\.time_device\("]
    if args.ops:
        suite += ["--ops", args.ops]

    commits, walls = [], []
    runs = ["aa"] * (2 * args.aa_pairs) + ["planted"]
    for number, kind in enumerate(runs, 1):
        if number > 1:
            sh(*git, "commit", "-q", "--allow-empty", "-m", f"run {number}", cwd=work)
        commits.append(sh("git", "rev-parse", "HEAD", cwd=work).stdout.strip())
        env = {k: v for k, v in os.environ.items() if k != "BENCH_PLANT"}
        if kind == "planted":
            env["BENCH_PLANT"] = args.plant
        started = time.perf_counter()
        done = sh(*suite, cwd=work, env=env, log=log)
        walls.append(round(time.perf_counter() - started, 1))
        print(f"run {number} ({kind}) at {commits[-1][:8]}: exit {done.returncode}, {walls[-1]} s", flush=True)

    def gate(base, head, name, head_vars=()):
        report = os.path.join(out, f"gate-{name}.json")
        command = [python, "-m", "tools.compare", base, head, "--machine", args.machine,
                   "--confirm", str(args.confirm), "--json", report, "--force", "--all"]
        for var in head_vars:
            command += ["--head-var", var]
        started = time.perf_counter()
        done = sh(*command, cwd=work, log=log)
        with open(os.path.join(out, f"gate-{name}.txt"), "w") as f:
            f.write(done.stdout + done.stderr)
        print(f"gate {name}: exit {done.returncode}, {time.perf_counter() - started:.0f} s", flush=True)
        with open(report) as f:
            return json.load(f), round(time.perf_counter() - started, 1)

    summary = {"machine": args.machine, "profile": args.profile, "backends": args.backends, "plant": args.plant,
               "confirm_rounds": args.confirm, "run_seconds": walls, "aa": [], "planted": None}
    for pair in range(args.aa_pairs):
        report, seconds = gate(commits[2 * pair], commits[2 * pair + 1], f"aa{pair + 1}")
        summary["aa"].append({"compared": len(report["cases"]), "flagged": len(report["regressions"]),
                              "flagged_cases": report["regressions"], "gate_seconds": seconds})
    report, seconds = gate(commits[-2], commits[-1], "planted", [f"BENCH_PLANT={args.plant}"])
    planted = {(c["op"], c["case"], c["backend"], c["dtype"]) for c in report["cases"]
               if vocabulary.planted_fraction(c["op"], c["backend"], {"BENCH_PLANT": args.plant})}
    flagged = {(c["op"], c["case"], c["backend"], c["dtype"]) for c in report["regressions"]}
    by_fraction = {}
    for key in planted:
        fraction = vocabulary.planted_fraction(key[0], key[2], {"BENCH_PLANT": args.plant})
        entry = by_fraction.setdefault(f"{fraction:.2f}", {"planted": 0, "caught": 0})
        entry["planted"] += 1
        entry["caught"] += key in flagged
    summary["planted"] = {"compared": len(report["cases"]), "by_fraction": by_fraction,
                          "false_alarms": len(flagged - planted), "false_alarm_cases": sorted(flagged - planted),
                          "missed": sorted(planted - flagged), "gate_seconds": seconds}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    lines = [f"# Gate check: {args.machine}, profile {args.profile}, backends {args.backends}",
             "", f"Runs (device time only): {walls} s; confirm rounds {args.confirm}; plant `{args.plant}`", ""]
    for i, aa in enumerate(summary["aa"], 1):
        lines.append(f"- A/A pair {i}: {aa['flagged']} of {aa['compared']} cases flagged ({aa['gate_seconds']} s gate)")
    for fraction, entry in sorted(by_fraction.items()):
        lines.append(f"- planted {float(fraction):.0%}: {entry['caught']} of {entry['planted']} caught")
    lines.append(f"- planted run: {summary['planted']['false_alarms']} false alarm(s) among "
                 f"{summary['planted']['compared'] - len(planted)} unplanted cases ({seconds} s gate)")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    results = os.path.join(work, "results", args.machine)
    if os.path.isdir(results):
        shutil.copytree(results, os.path.join(out, "results"), dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
