"""asv's published site, opened in headless Chromium: one benchmark's graph shows data
points, and the page logs no JavaScript error.

The site is made self-contained first (`tools.site vendor`: asv's pages load their libraries
from public CDNs), and the browser may reach nothing but the local server, so the test
proves the site works offline too.
"""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse

import pytest

from toolkit import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BENCHMARK = "bench_reductions.Argmax.time_device"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def site(small_run):
    subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(small_run.conf)],
                   env=small_run.env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    vendored = subprocess.run([sys.executable, "-m", "tools.site", "vendor", str(small_run.html)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert vendored.returncode == 0, vendored.stderr
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(small_run.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", small_run.html
    server.shutdown()


def test_publish_writes_the_site(site):
    _, html = site
    assert (html / "index.html").exists()
    assert (html / "graphs").is_dir()
    assert list((html / "graphs").rglob(f"{BENCHMARK}.json"))
    index = (html / "index.html").read_text()
    assert "cdnjs.cloudflare.com" not in index and "code.jquery.com" not in index
    assert (html / "vendor" / "jquery-3.3.1" / "dist" / "jquery.min.js").exists()


def test_benchmark_graph_shows_points_without_javascript_errors(site):
    from playwright.sync_api import sync_playwright

    url, _ = site
    errors, graphs, outside = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                   else (outside.append(route.request.url), route.abort()))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        def keep_graph(response):
            path = urllib.parse.urlparse(response.url).path  # asv adds ?timestamp=...
            if "/graphs/" in path and path.endswith(f"{BENCHMARK}.json"):
                graphs.append(response.json())

        page.on("response", keep_graph)
        page.goto(f"{url}/index.html#{BENCHMARK}")
        page.wait_for_selector("canvas.flot-base", timeout=30_000)
        page.wait_for_load_state("networkidle")
        canvases = page.locator("canvas.flot-base").count()
        browser.close()
    assert errors == []
    assert outside == []  # the vendored site needs nothing but its own server
    assert canvases >= 1
    # [revision, value] points, or [revision, [value per parameter combination]]
    points = [p for graph in graphs for p in graph
              if p[1] is not None and (not isinstance(p[1], list) or any(v is not None for v in p[1]))]
    assert points, f"the graph data held no points: {json.dumps(graphs)[:300]}"
