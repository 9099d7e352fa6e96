"""The regression gate against itself and against a known change, on this machine.

    W=/tmp/gate-check
    python measurements/gate_check.py --work $W prepare --backends mlx_cpu,cpu --profile small \
        --plant "0.25:ReLU,Softmax/cpu"
    python measurements/gate_check.py --work $W run aa           # run 1
    python measurements/gate_check.py --work $W run aa           # run 2
    python measurements/gate_check.py --work $W run planted      # run 3
    python measurements/gate_check.py --work $W gate aa1 1 2     # every flagged case: a false alarm
    python measurements/gate_check.py --work $W gate planted 2 3 # planted flagged: caught; others: false alarms
    python measurements/gate_check.py --work $W summary --out OUT

A scratch copy of this checkout (its working tree) gets one empty commit per run; the
suite measures the gated measure (device time; `run --both-measures` adds latency) and
files each run under its commit. The planted run sets BENCH_PLANT (real extra device work
in the named cases, a test-only switch). `gate` runs tools.compare --confirm between two
runs, giving the planted run's side its BENCH_PLANT. Steps are separate commands so that
each fits a GPU host's limit per command.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run as a script from anywhere: the suite's own packages

from benchmarks.harness import vocabulary  # noqa: E402
from tools.gate import DEFAULT_ROUNDS  # noqa: E402
from tools.cli import write_atomically  # noqa: E402


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


def suite_command(state):
    command = [sys.executable, "-m", "tools.suite", "--profile", state["profile"], "--backends", state["backends"],
               "--dtypes", state["dtypes"], "--machine", state["machine"]]
    if state["ops"]:
        command += ["--ops", state["ops"]]
    if not state["both_measures"]:
        command += ["--bench", r"\.time_device\("]
    return command


def load_state(work):
    with open(os.path.join(work, "gate-check.json")) as f:
        return json.load(f)


def save_state(work, state):
    write_atomically(os.path.join(work, "gate-check.json"), json.dumps(state, indent=1), force=True)


def prepare(args):
    os.makedirs(args.work)
    scratch_copy(args.work)
    save_state(args.work, {"profile": args.profile, "backends": args.backends, "dtypes": args.dtypes,
                           "ops": args.ops, "plant": args.plant, "machine": args.machine, "confirm": args.confirm,
                           "both_measures": False, "runs": [], "gates": {}})


def run(args, kind, both_measures=False):
    """One run of the suite under a new empty commit of the scratch copy."""
    state = load_state(args.work)
    git = ["git", "-c", "user.name=gate-check", "-c", "user.email=gate@localhost"]
    if state["runs"]:
        sh(*git, "commit", "-q", "--allow-empty", "-m", f"run {len(state['runs']) + 1}", cwd=args.work)
    commit = sh("git", "rev-parse", "HEAD", cwd=args.work).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k != "BENCH_PLANT"}
    if kind == "planted":
        env["BENCH_PLANT"] = state["plant"]
    started = time.perf_counter()
    done = sh(*suite_command(dict(state, both_measures=both_measures)), cwd=args.work, env=env,
              log=os.path.join(args.work, "log.txt"))
    seconds = round(time.perf_counter() - started, 1)
    state["runs"].append({"kind": kind, "commit": commit, "seconds": seconds, "both_measures": both_measures,
                          "exit": done.returncode})
    save_state(args.work, state)
    print(f"run {len(state['runs'])} ({kind}{', both measures' if both_measures else ''}) at {commit[:8]}: "
          f"exit {done.returncode}, {seconds} s", flush=True)


def gate(args, name, base, head, ops=None, seconds=None):
    """tools.compare --confirm between runs number `base` and `head` (1-based), over `ops`
    (comma-separated; default all), its confirm pass within `seconds` if given: a gate
    killed by a host's time limit reports nothing."""
    state = load_state(args.work)
    base_run, head_run = state["runs"][base - 1], state["runs"][head - 1]
    report = os.path.join(args.work, f"gate-{name}.json")
    command = [sys.executable, "-m", "tools.compare", base_run["commit"], head_run["commit"], "--machine",
               state["machine"], "--confirm", str(state["confirm"]), "--json", report, "--force", "--all"]
    if ops:
        command += ["--ops", ops]
    if seconds:
        command += ["--confirm-seconds", str(seconds)]
    for side, run_ in (("base", base_run), ("head", head_run)):
        if run_["kind"] == "planted":
            command += [f"--{side}-var", f"BENCH_PLANT={state['plant']}"]
    started = time.perf_counter()
    done = sh(*command, cwd=args.work, log=os.path.join(args.work, "log.txt"))
    write_atomically(os.path.join(args.work, f"gate-{name}.txt"), done.stdout + done.stderr, force=True)
    elapsed = round(time.perf_counter() - started, 1)
    with open(report) as f:
        result = json.load(f)
    plant = {"BENCH_PLANT": state["plant"]} if "planted" in (base_run["kind"], head_run["kind"]) else {}
    planted = {key(c) for c in result["cases"]
               if plant and vocabulary.planted_fraction(c["op"], c["backend"], plant)}
    flagged = {key(c) for c in result["regressions"]}
    by_fraction = {}
    for k in planted:
        entry = by_fraction.setdefault(f"{vocabulary.planted_fraction(k[0], k[2], plant):.2f}",
                                       {"planted": 0, "caught": 0})
        entry["planted"] += 1
        entry["caught"] += k in flagged
    state["gates"][name] = {"base": base, "head": head, "ops": ops or "all", "exit": done.returncode, "seconds": elapsed,
                            "undecided": sorted(key(c) for c in result["cases"] if c["verdict"] == "undecided"),
                            "compared": len(result["cases"]), "false_alarms": sorted(flagged - planted),
                            "missed": sorted(planted - flagged), "by_fraction": by_fraction,
                            "suspects": sum(c["verdict"] != "same" or c["confirm_head_seconds"] != []
                                            for c in result["cases"])}
    save_state(args.work, state)
    print(f"gate {name} (run {base} vs run {head}): exit {done.returncode}, {elapsed} s, "
          f"{len(flagged - planted)} false alarm(s) of {len(result['cases']) - len(planted)} unplanted cases"
          + "".join(f"; planted {float(f):.0%}: {e['caught']} of {e['planted']} caught"
                    for f, e in sorted(by_fraction.items()))
          + (f"; {len(state['gates'][name]['undecided'])} undecided (budget spent)"
             if state["gates"][name]["undecided"] else ""), flush=True)


def key(case):
    return (case["op"], case["case"], case["backend"], case["dtype"])


def summary(args):
    state = load_state(args.work)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(args.work):
        if name.startswith("gate-") or name == "log.txt":
            shutil.copy2(os.path.join(args.work, name), out)
    lines = [f"# Gate check: machine {state['machine']}, profile {state['profile']}, backends {state['backends']}",
             "", f"Plant: `{state['plant']}`; confirm rounds {state['confirm']}.", "",
             "| run | kind | commit | seconds | exit |", "|---|---|---|---|---|"]
    lines += [f"| {i} | {r['kind']}{' (both measures)' if r['both_measures'] else ''} | {r['commit'][:8]} | "
              f"{r['seconds']} | {r['exit']} |" for i, r in enumerate(state["runs"], 1)]
    lines += ["", "| gate | runs | ops | compared | false alarms | planted caught | undecided | gate seconds |",
              "|---|---|---|---|---|---|---|---|"]
    for name, g in state["gates"].items():
        caught = ", ".join(f"{float(f):.0%}: {e['caught']}/{e['planted']}" for f, e in sorted(g["by_fraction"].items()))
        lines.append(f"| {name} | {g['base']} vs {g['head']} | {g.get('ops', 'all')} | {g['compared']} | "
                     f"{len(g['false_alarms'])} | "
                     f"{caught or '-'} | {len(g.get('undecided', []))} | {g['seconds']} |")
    write_atomically(os.path.join(out, "summary.md"), "\n".join(lines) + "\n", force=True)
    shutil.copy2(os.path.join(args.work, "gate-check.json"), os.path.join(out, "summary.json"))
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", required=True, help="the scratch copy (made by `prepare`)")
    sub = p.add_subparsers(dest="step", required=True)
    first = sub.add_parser("prepare", help="make the scratch copy and remember the settings")
    first.add_argument("--profile", default="small", choices=vocabulary.PROFILES)
    first.add_argument("--backends", required=True)
    first.add_argument("--dtypes", default="float32")
    first.add_argument("--ops", help="comma-separated ops (default: all)")
    first.add_argument("--plant", required=True, help="BENCH_PLANT of the planted run")
    first.add_argument("--confirm", type=int, default=DEFAULT_ROUNDS)
    first.add_argument("--machine", default="gate-check")
    runs = sub.add_parser("run", help="one more run: aa (unchanged) or planted")
    runs.add_argument("kind", choices=["aa", "planted"])
    runs.add_argument("--both-measures", action="store_true", help="latency too (the default run)")
    gates = sub.add_parser("gate", help="tools.compare --confirm between two runs")
    gates.add_argument("name")
    gates.add_argument("base", type=int)
    gates.add_argument("head", type=int)
    gates.add_argument("--ops", help="comma-separated ops (default: all)")
    gates.add_argument("--confirm-seconds", type=float, help="tools.compare --confirm-seconds")
    last = sub.add_parser("summary", help="summary.md / summary.json and the gate reports into OUT")
    last.add_argument("--out", required=True)
    args = p.parse_args()
    if args.step == "prepare":
        errors = vocabulary.setting_errors({"BENCH_PLANT": args.plant})
        if errors:
            sys.exit(f"error: {errors[0]}")
        prepare(args)
    elif args.step == "run":
        run(args, args.kind, args.both_measures)
    elif args.step == "gate":
        gate(args, args.name, args.base, args.head, args.ops, args.confirm_seconds)
    else:
        summary(args)


if __name__ == "__main__":
    main()
