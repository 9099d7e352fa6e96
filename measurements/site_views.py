"""Whether every view of a published site draws points: the grid's thumbnails and each
benchmark page's default graph, opened in headless Chromium (issue 13's site check).

    python3 -m tools.site publish --offline && python3 measurements/site_views.py html/ OUT

Serves the site on localhost (nothing else reachable), records the graph data each page
loads, prints one line per benchmark whose default graph has no point, the counts, and
writes screenshots of the grid and of two benchmark pages into OUT.
"""

import functools
import http.server
import json
import os
import shutil
import sys
import threading
import urllib.parse

from playwright.sync_api import sync_playwright

SHOWN = ("bench_reductions.Softmax.time_op", "bench_activations.ReLU.track_peak_memory")


def has_points(graph):
    """asv's graph data: [revision, value] or [revision, [value per combination]] points."""
    return any(p[1] is not None and (not isinstance(p[1], list) or any(v is not None for v in p[1]))
               for p in graph)


def main():
    html, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(html, "index.json")) as f:
        benchmarks = sorted(json.load(f)["benchmarks"])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=html)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    empty_pages, errors, loaded = [], [], {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def keep(response):
            path = urllib.parse.urlparse(response.url).path
            if "/graphs/" in path and path.endswith(".json") and response.ok:
                loaded.setdefault(path, response.json())

        page.on("response", keep)
        page.goto(f"{url}/index.html")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=os.path.join(out, "grid.png"), full_page=False)
        for _ in range(40):  # the grid loads its thumbnails as they scroll into view
            page.mouse.wheel(0, 800)
            page.wait_for_timeout(150)
        page.wait_for_load_state("networkidle")
        thumbnails = {k: v for k, v in loaded.items() if "/graphs/summary/" in k}
        empty_thumbnails = sorted(k for k, v in thumbnails.items() if not has_points(v))
        for benchmark in benchmarks:  # a fresh page each: a hash change alone reloads nothing reliably
            page.close()
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                       else route.abort())
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", keep)
            loaded.clear()
            page.goto(f"{url}/index.html#{benchmark}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            own = [v for k, v in loaded.items() if k.endswith(f"/{benchmark}.json") and "/summary/" not in k]
            if not any(has_points(g) for g in own):
                empty_pages.append(benchmark)
            if benchmark in SHOWN:
                page.screenshot(path=os.path.join(out, f"{benchmark}.png"))
        browser.close()
    server.shutdown()
    for name in empty_thumbnails:
        print(f"empty thumbnail: {name}")
    for name in empty_pages:
        print(f"empty default graph: {name}")
    print(f"{len(thumbnails)} thumbnails loaded, {len(empty_thumbnails)} without points; {len(benchmarks)} benchmark "
          f"pages, {len(empty_pages)} default graphs without points; {len(errors)} page errors")
    return 1 if empty_thumbnails or empty_pages or errors else 0


if __name__ == "__main__":
    sys.exit(main())
