"""Publish asv's HTML site, and make it work without the public CDNs.

    python -m tools.site publish               # asv publish: results/ -> html/
    python -m tools.site publish --offline     # the same, then `vendor` (below)
    python -m tools.site vendor html/          # copy the site's JavaScript / CSS libraries in
    asv preview                                # serve html/ on localhost

asv's pages load jQuery, flot, bootstrap, md5 and stupidtable from public CDNs; a machine
that cannot reach them (an intranet, a CI runner without internet, a laptop on a plane)
shows an error page instead of the graphs. `vendor` fetches the same releases once from the
npm registry (each tarball checked against its pinned sha512), keeps them in a cache folder,
copies the files the pages use into html/vendor/ and points the pages there.
"""

import base64
import ctypes
import errno
import hashlib
import io
import itertools
import os
import json
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request

from asv import results as asv_results
from asv import util as asv_util
from asv.benchmarks import Benchmarks

from benchmarks.harness import vocabulary

from .cli import (ToolError, fsync_folder, main_guard, parser, read_config, replace_atomically, run_asv,
                  write_atomically, write_bytes)
from .results import BENCHMARKS_FILE, load_all, load_benchmarks, machines, publishable

# (CDN URL in asv's index.html, npm package, version, file in the package, tarball sha512)
ASSETS = [
    ("https://code.jquery.com/jquery-3.3.1.min.js", "jquery", "3.3.1", "dist/jquery.min.js",
     "Ubldcmxp5np52/ENotGxlLe6aGMvmF4R8S6tZjsP6Knsaxd/xp3Zrh50cG93lR6nPXyUFwzN3ZSOQI0wRJNdGg=="),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js", "flot", "0.8.3", "jquery.flot.js",
     "xg2otcTJDvS+ERK+my4wxG/ASq90QURXtoM4LhacCq0jQW2jbyjdttbRNqU2cPykrpMvJ6b2uSp6SAgYAzj9tQ=="),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js", "flot", "0.8.3",
     "jquery.flot.time.js", None),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js", "flot", "0.8.3",
     "jquery.flot.selection.js", None),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js", "flot", "0.8.3",
     "jquery.flot.categories.js", None),
    ("https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js", "flot-orderbars", "1.0.0",
     "js/jquery.flot.orderBars.js",
     "Jv51fvzevUjNXEeozpwEKfPjhiZhfiJddv0WHjduUTCmSF+7T5K7C9c9Y1wIVmUhDBv5fLMjgbwKecT0GIKPZA=="),
    # stupidtable 1.0.1 is on cdnjs only; npm has the plugin's 1.1.3 (same $.fn.stupidtable API).
    ("https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js", "stupid-table-plugin", "1.1.3",
     "stupidtable.min.js",
     "2Vk7XouQPxUQPRe9w0Fu7ZZ8kHLK7rDoLMsCgtKxRNJ7f4dSOGvW9CkHsq5wD6QsaEnWoyLBYH3xOEsrK3yWBg=="),
    ("https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js", "blueimp-md5", "2.19.0",
     "js/md5.min.js",
     "DRQrD6gJyy8FbiE4s+bDoXS9hiW3Vbx5uCdwvcCf3zLHL+Iv7LtGHLpr+GZV8rHG8tK766FGYBwRbu8pELTt+w=="),
    ("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js", "bootstrap", "3.1.1",
     "dist/js/bootstrap.min.js",
     "TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJiqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg=="),
    ("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css", "bootstrap", "3.1.1",
     "dist/css/bootstrap.min.css", None),
]
# Files a vendored file refers to: bootstrap's CSS loads its icon font from ../fonts/.
COMPANIONS = {("bootstrap", "3.1.1"): ["dist/fonts"]}
REGISTRY = "https://registry.npmjs.org"
# The files a published site holds, written by `publish`: what it may replace next time.
MANIFEST = ".tools-site-manifest.json"


def default_cache():
    return vocabulary.setting("BENCH_SITE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mlx-torch-bench", "npm")


def tarball(package, version, cache):
    """The package's npm tarball, from the cache or the registry, checked against its sha512."""
    expected = next(sha for _, p, v, _, sha in ASSETS if p == package and v == version and sha)
    path = os.path.join(cache, f"{package}-{version}.tgz")
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
    else:
        url = f"{REGISTRY}/{package}/-/{package}-{version}.tgz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as exc:
            raise ToolError(f"cannot fetch {url} ({exc}); fill {cache} on a machine that can "
                            f"(python -m tools.site fetch --cache DIR) and copy it here") from None
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
        raise ToolError(f"{package}-{version}.tgz does not match its pinned sha512; delete {path} and retry")
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        write_atomically(path, data)
    return tarfile.open(fileobj=io.BytesIO(data))


def packages():
    return sorted({(p, v) for _, p, v, _, _ in ASSETS})


def fetch(cache):
    for package, version in packages():
        tarball(package, version, cache)


def vendor(html, cache):
    """Copy the assets into html/vendor/ and point every page at them; returns the number
    of references rewritten."""
    index = os.path.join(html, "index.html")
    if not os.path.isfile(index):
        raise ToolError(f"{html} has no index.html; build the site first (asv publish)")
    target = os.path.join(html, "vendor")
    for package, version in packages():
        archive = tarball(package, version, cache)
        wanted = [f for _, p, v, f, _ in ASSETS if (p, v) == (package, version)] + COMPANIONS.get((package, version), [])
        for member in archive.getmembers():
            name = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if member.isfile() and any(name == w or name.startswith(w + "/") for w in wanted):
                dest = os.path.join(target, f"{package}-{version}", name)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with archive.extractfile(member) as src:
                    replace_atomically(dest, write_bytes(src.read()))
    rewritten = 0
    for page in sorted(f for f in os.listdir(html) if f.endswith(".html")):
        path = os.path.join(html, page)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for url, package, version, file, _ in ASSETS:
            local = f"vendor/{package}-{version}/{file}"
            # The tag's integrity hash is the CDN build's; the npm file may be another build
            # of the same release, so the attribute goes with the URL.
            pattern = re.compile(r'(<(?:script|link)\b[^>]*?)(?:src|href)="' + re.escape(url) + r'"([^>]*>)')
            text, count = pattern.subn(
                lambda m: re.sub(r'\s(?:integrity|crossorigin|referrerpolicy)="[^"]*"', "",
                                 f'{m.group(1)}{"href" if m.group(1).lstrip().startswith("<link") else "src"}="{local}"{m.group(2)}'),
                text)
            rewritten += count
        write_atomically(path, text, force=True)
    return rewritten


def parse_args(argv):
    p = parser("tools.site", __doc__)
    sub = p.add_subparsers(dest="command", required=True)
    publish = sub.add_parser("publish", help="asv publish into a fresh folder, swapped in when complete")
    publish.add_argument("--config", default="asv.conf.json")
    publish.add_argument("--offline", action="store_true", help="vendor the CDN libraries into the site")
    publish.add_argument("--force", action="store_true",
                         help="replace the site folder even if it holds files an earlier publish did not make")
    publish.add_argument("--cache", default=None, help="npm tarball cache (default: $BENCH_SITE_CACHE or ~/.cache/...)")
    vend = sub.add_parser("vendor", help="vendor the CDN libraries into a published site")
    vend.add_argument("html", help="the published site's folder (asv.conf.json's html_dir)")
    vend.add_argument("--cache", default=None)
    get = sub.add_parser("fetch", help="only fill the npm tarball cache")
    get.add_argument("--cache", default=None)
    for command in (publish, vend, get):
        command.error = p.error
    return p.parse_args(argv)


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def check_site_folder(html, force):
    """The site folder may be replaced: absent, or holding only what an earlier publish made."""
    if os.path.islink(html):
        raise ToolError(f"{html} is a symbolic link; point html_dir at a real folder (publish replaces it)")
    if not os.path.lexists(html):
        return
    if not os.path.isdir(html):
        raise ToolError(f"{html} is not a folder; move it away, publish writes the site there")
    try:
        with open(os.path.join(html, MANIFEST)) as f:
            made = set(json.load(f))
    except (OSError, ValueError, TypeError):
        made = set()
    foreign = [f for f in files_under(html) if f not in made and f != MANIFEST]
    if foreign and not force:
        raise ToolError(f"{html} holds {len(foreign)} file(s) tools.site did not make (e.g. {foreign[0]}); "
                        "move them away or pass --force to replace the folder anyway")


def results_view(conf, scratch):
    """An empty folder for the results asv publishes, after every results file was validated
    (before anything is written)."""
    for machine in machines(conf["results_dir"]):
        load_all(conf["results_dir"], machine)
    view = os.path.join(scratch, "results")
    os.makedirs(view)
    return view


def derived_config(config, scratch, **changes):
    conf = asv_util.load_json(config, js_comments=True)
    root = os.path.dirname(os.path.abspath(config))
    for key in ("benchmark_dir", "env_dir"):
        conf[key] = os.path.join(root, conf.get(key, key.split("_")[0]))
    conf["repo"] = conf["repo"] if re.match(r"^[a-z]+://", conf["repo"]) else os.path.join(root, conf["repo"])
    conf.update(changes)
    path = os.path.join(scratch, "asv.conf.json")
    with open(path, "w") as f:
        json.dump(conf, f)
    return path


def discover_benchmarks(config, root, scratch):
    """benchmarks.json of the benchmarks here, from asv's discovery (asv wants a machine file
    for that: a throwaway one, under a scratch HOME)."""
    env = dict(os.environ, HOME=scratch)
    for command in (["machine", "--yes", "--machine", "discovery"],
                    ["run", "--python=same", "--bench", "just-discover", "--machine", "discovery"]):
        status = run_asv(*command, config=config, cwd=root, env=env, capture_output=True)
        if status != 0:
            raise ToolError(f"asv could not list the benchmarks (asv {command[0]} exited with status {status})")


def scratch_folder(parent):
    """A fresh folder beside the site (the swap renames within one file system)."""
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(dir=parent, prefix=".site-")
    except OSError as exc:
        raise ToolError(f"cannot write into {parent} ({exc.strerror}); the site is built there: "
                        "fix its permissions or choose another html_dir") from None


def publish(config, force, offline, cache):
    """asv publish into a fresh folder beside html_dir, checked, then swapped in."""
    conf = read_config(config)
    html = conf["html_dir"]
    check_site_folder(html, force)
    if offline:
        fetch(cache)  # fail before publishing, not after
    scratch = scratch_folder(os.path.dirname(html))
    try:
        results = results_view(conf, scratch)
        fresh = os.path.join(scratch, "html")
        derived = derived_config(config, scratch, results_dir=results, html_dir=fresh)
        root = os.path.dirname(os.path.abspath(config))
        table = os.path.join(conf["results_dir"], BENCHMARKS_FILE)
        if not os.path.isfile(table):  # none committed or run here: today's benchmarks, from discovery
            discover_benchmarks(derived, root, scratch)
            table = os.path.join(results, BENCHMARKS_FILE)
        # every machine's newest figures, whatever benchmark versions they were measured with
        full = publishable(conf["results_dir"], load_benchmarks(os.path.dirname(table), required=True), results)
        without_paths(results)
        one_series_per_machine(results)
        data_first(results, full)
        status = run_asv("publish", config=derived, cwd=root)
        if status != 0 or not os.path.isfile(os.path.join(fresh, "index.html")):
            raise ToolError(f"asv publish exited with status {status} (its messages are above); {html} is unchanged")
        show_points(fresh)
        count = vendor(fresh, cache) if offline else 0
        replace_atomically(os.path.join(fresh, MANIFEST), write_bytes(json.dumps(files_under(fresh)).encode()))
        try:
            swap_in(fresh, html, scratch)
        except OSError as exc:
            raise ToolError(f"cannot replace {html} ({exc.strerror}); it is unchanged: fix its permissions") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return count


# --- swapping the new site in ------------------------------------------------------------

# Linux's renameat2 and macOS's renamex_np exchange two paths in one step, so a kill at any
# instant leaves the old site or the new one in html_dir, never none.
AT_FDCWD = -100
RENAME_EXCHANGE = 2  # Linux, <linux/fs.h>
RENAME_SWAP = 0x2  # macOS, <stdio.h>
# What a system or file system without an exchanging rename answers.
NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def exchange(a, b):
    """Swap the paths `a` and `b` (both existing) atomically; False where this system or file
    system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    a, b = os.fsencode(a), os.fsencode(b)
    if hasattr(libc, "renameat2"):
        status = libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    elif hasattr(libc, "renamex_np"):
        status = libc.renamex_np(a, b, RENAME_SWAP)
    else:
        return False
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), b.decode(errors="replace"))


def swap_in(fresh, html, scratch):
    """Put the folder `fresh` at `html`; the old site, if any, ends up in `scratch`."""
    if not os.path.lexists(html):
        os.rename(fresh, html)
    elif not exchange(fresh, html):
        # Only without an exchanging rename (neither renameat2 nor renamex_np, or a file system
        # refusing it): two renames, and a kill between them leaves no html_dir.
        os.rename(html, os.path.join(scratch, "previous"))
        os.rename(fresh, html)
    fsync_folder(os.path.dirname(os.path.abspath(html)))


# --- what the site shows ----------------------------------------------------------------

PATH_ENV = re.compile(r"^existing-py_(?P<path>.*)$")


def without_paths(view):
    """Environments named by an interpreter's path (`asv run --python=same` without
    tools/asv_environment.py: `existing-py_opt_torch_.venv_bin_python3`) renamed in the
    view's copies to what the path tells of the Python version (`existing-py3`): no local
    paths on a public site. Files named by versions are left as they are."""
    for machine in machines(view):
        for path, result in load_all(view, machine):
            m = PATH_ENV.match(result.env_name)
            if not m:
                continue
            version = re.search(r"python(\d+(?:\.\d+)*)$", m.group("path"))
            python = version.group(1) if version else ""
            result._env_name = f"existing-py{python}"
            result._python = python
            result._params["python"] = python
            result._filename = asv_results.get_filename(machine, result.commit_hash, result.env_name)
            os.remove(path)
            result.save(view)


# What asv's machine file records besides the name; asv nests a machine's graphs by them.
MACHINE_DETAILS = ("arch", "cpu", "num_cpu", "os", "ram")


def one_series_per_machine(view):
    """A machine detail that some runs of a machine did not record (runs made before the
    suite saved them) dropped from all of its runs in the view's copies: asv would draw
    the runs with and without it as two machines, splitting every series. Details all runs
    record stay, so a machine whose recorded OS changed still shows the change."""
    for machine in machines(view):
        runs = load_all(view, machine)
        unknown = {key for key in MACHINE_DETAILS
                   if any(key in r._params for _, r in runs) and not all(key in r._params for _, r in runs)}
        if not unknown:
            continue
        for path, result in runs:
            if unknown & set(result._params):
                for key in unknown:
                    result._params.pop(key, None)
                os.remove(path)
                result.save(view)


# The order a parameter's values are preferred in, where the vocabulary declares one (as
# asv writes them: Python literals); other parameters (the cases) keep the table's order.
PREFERRED = [[repr(b) for b in vocabulary.BACKEND_NAMES], [repr(d) for d in vocabulary.DTYPES]]


def default_order(values, newest, anywhere):
    """A parameter's values in the order the site's default views take them: those with a
    figure in the newest results first, then those with one elsewhere, then the rest; in
    each group the vocabulary's order (BACKENDS, DTYPES) where it names every value, else
    `values`' own. asv's benchmark page opens on the first values of each parameter: the
    first backend, in the vocabulary's order, that the latest run measured, whatever
    machine holds the most figures (the H100's results would win by count)."""
    declared = next((order for order in PREFERRED if set(values) <= set(order)), list(values))
    return sorted(values, key=lambda v: (v not in newest, v not in anywhere, declared.index(v)))


def figures_by_value(view):
    """{benchmark: (newest, anywhere)}: per parameter axis, the values with a figure (not
    failed, not skipped) in the results that measured the benchmark last (by asv's start
    time, any machine) and in any results."""
    runs = {}
    for machine in machines(view):
        for _, result in load_all(view, machine):
            for key in result.get_all_result_keys():
                params = result.get_result_params(key) or []
                values = result.get_result_value(key, params)
                found = [set() for _ in params]
                for combo, value in zip(itertools.product(*params), values):
                    if value is not None and value == value:
                        for axis, v in zip(found, combo):
                            axis.add(v)
                if any(found) or not params:
                    runs.setdefault(key, []).append((result.started_at.get(key) or 0, found))
    return {key: (max(found, key=lambda f: f[0])[1], [set().union(*axis) for axis in zip(*(f for _, f in found))])
            for key, found in runs.items()}


def data_first(view, table):
    """The view's benchmarks.json with each parameter's values in default_order. asv's
    benchmark page opens on the first values of each parameter (up to 8 curves: the first
    8 cases on the first backend in the first dtype), and its grid's thumbnails and the
    default graph were empty whenever those had no figures (a CPU machine has none on
    mlx_gpu, a small run none on the reference cases). Results keep their own order; asv
    matches them to the table by value. Benchmarks without any figure are left out of the
    view: their grid thumbnail and page could only be empty."""
    figures = figures_by_value(view)
    # a benchmark no machine has a figure of (e.g. the opt-in memory measure) is left out
    table = {key: entry for key, entry in table.items() if key in figures}
    for key, entry in table.items():
        newest, anywhere = figures[key]
        if entry.get("params") and len(newest) == len(entry["params"]):
            entry["params"] = [default_order(axis, new, known)
                               for axis, new, known in zip(entry["params"], newest, anywhere)]
    asv_util.write_json(os.path.join(view, BENCHMARKS_FILE), table, api_version=Benchmarks.api_version)


# asv's grid draws each thumbnail as a line through its commits: a benchmark measured at one
# commit (every benchmark of a first run) was an empty box. Its points are drawn too.
THUMBNAIL_LINES = re.compile(r"(lines: \{\s*show: true,\s*lineWidth: 2\s*\},)(?! points:)")


def show_points(html):
    """Draw the points of the grid's thumbnails (asv's summarygrid.js), not only lines;
    returns whether asv's file had the expected options."""
    path = os.path.join(html, "summarygrid.js")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, count = THUMBNAIL_LINES.subn(r"\1 points: {show: true, radius: 2, fill: true},", text)
    if count:
        write_atomically(path, text, force=True)
    return bool(count)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cache = args.cache or default_cache()
    if args.command == "fetch":
        fetch(cache)
        print(f"{len(packages())} packages in {cache}")
        return 0
    if args.command == "publish":
        html = read_config(args.config)["html_dir"]
        count = publish(args.config, args.force, args.offline, cache)
    else:
        html = args.html
        count = vendor(html, cache)
    files = sum(len(f) for _, _, f in os.walk(html))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(html) for f in fs)
    print(f"{html}: {count} library references now local; {files} files, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
