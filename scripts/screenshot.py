"""Screenshots of the example project in the Dagster UI, for the docs.

    .venv/bin/python scripts/screenshot.py          # or: make screenshot

What it does, end to end and with nothing faked:

1. materializes ``example_repo`` headless with ``sqlml materialize`` (what ``make demo``
   runs) into a fresh ``DAGSTER_HOME`` and project state, so the UI shows every asset
   materialized, with its metadata; then retrains ``iris_rf`` once more (``--force``), so
   its page shows a second version beside the first;
2. saves what ``sqlml plan`` says about the project then, as text
   (``docs/images/plan.txt``, shown in docs/ui.md) and as a picture (``plan.png``);
3. starts ``dagster-webserver -m example_repo.definitions`` on loopback with that state;
4. opens the global asset lineage, one model's page and its history of versions in
   headless Chromium (Debian's ``chromium``, driven by Playwright) and saves
   ``docs/images/asset-graph.png``, ``model-asset.png`` and ``model-versions.png``.

Needs ``apt-get install chromium`` and ``pip install playwright`` (no Playwright browser
download: it drives the system Chromium). Neither is a dependency of the package or its
tests. State lives in a temporary folder, removed afterwards unless ``--keep``; pass
``--workdir DIR`` to reuse one (models that did not change are not retrained).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.dagster_ui, run as a script from anywhere

from tests.dagster_ui import Webserver, dagster_webserver  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import FloatRect, Page, ViewportSize

MODULE = "example_repo.definitions"
#: The model whose page is the second screenshot.
MODEL = "iris_rf"
#: Flags that make Chromium run headless in a container without reaching the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The UI's first-visit "join the community" dialog, marked as seen before the page loads.
SKIP_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', JSON.stringify('1'))"
#: The main navigation as a narrow icon rail, leaving the width to the graph.
COLLAPSE_NAVIGATION = "window.localStorage.setItem('dagster-nav-collapsed', 'true')"
#: Tall enough that the example's graph fits at the zoom where nodes show status and kinds.
GRAPH_VIEWPORT: ViewportSize = {"width": 1500, "height": 1900}
#: Tall enough for the model page's description and the top of its metadata table.
MODEL_VIEWPORT: ViewportSize = {"width": 1400, "height": 1500}
#: Pixels of canvas kept around the graph when cropping.
CROP_MARGIN = 24
#: Device pixels per CSS pixel: node text is small at the graph's zoom.
SCALE = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--workdir", type=Path, help="DAGSTER_HOME and project state (reused)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    parser.add_argument(
        "--no-materialize", action="store_true", help="use the workdir's state as it is"
    )
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs Playwright: .venv/bin/pip install playwright", file=sys.stderr)
        return 2
    if not Path(args.chromium).exists():
        print(f"no Chromium at {args.chromium}: apt-get install chromium", file=sys.stderr)
        return 2

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sqlml-screenshot-"))
    home, state = workdir / "dagster_home", workdir / "state"
    home.mkdir(parents=True, exist_ok=True)
    env = {"DAGSTER_HOME": str(home), "SQLML_STATE_DIR": str(state), "SQLML_LAUNCHER": ""}
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if not args.no_materialize:
            materialize(env)
            materialize(env, "--select", MODEL, "--force")  # a second version of MODEL
        plan = sqlml_plan(env)
        (args.out / "plan.txt").write_text(plan, encoding="utf-8")
        with (
            dagster_webserver(MODULE, cwd=REPO, dagster_home=home, env=env) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch_persistent_context(
                str(workdir / "chromium-profile"),
                executable_path=args.chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=GRAPH_VIEWPORT,
                device_scale_factor=SCALE,
            )
            browser.add_init_script(SKIP_COMMUNITY_DIALOG + ";" + COLLAPSE_NAVIGATION)
            try:
                page = browser.new_page()
                shoot_asset_graph(page, server, args.out / "asset-graph.png")
                shoot_model_page(page, server, args.out / "model-asset.png")
                shoot_model_page(page, server, args.out / "model-versions.png", "events")
                shoot_text(page, plan, "$ sqlml plan -m " + MODULE, args.out / "plan.png")
            finally:
                browser.close()
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif args.keep:
            print(f"state kept in {workdir}")
    return 0


def materialize(env: dict[str, str], *options: str) -> None:
    """Every asset of the example, as ``make demo`` does (or what ``options`` select),
    recorded in ``DAGSTER_HOME``."""
    print(f"materializing {MODULE} (sqlml materialize {' '.join(options)}) …", flush=True)
    started = time.monotonic()
    sqlml(env, "materialize", *options)
    print(f"materialized in {time.monotonic() - started:.0f}s", flush=True)


def sqlml_plan(env: dict[str, str]) -> str:
    """What ``sqlml plan`` prints for the example in that state: its real output."""
    return sqlml(env, "plan")


def sqlml(env: dict[str, str], command: str, *options: str) -> str:
    """``sqlml COMMAND -m example_repo.definitions OPTIONS``' output; its tail if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", command, "-m", MODULE, *options],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"sqlml {command} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


def shoot_asset_graph(page: Page, server: Webserver, path: Path) -> None:
    """The global asset lineage, every group expanded, cropped to the graph.

    The UI draws node details (status, kinds) only above a minimum zoom, so the window is
    tall enough for the whole graph to fit at that zoom; double-clicking the canvas
    re-fits it once the asset explorer panel is closed."""
    groups = ",".join(f"global@global:{g}" for g in server_groups(server))
    page.set_viewport_size(GRAPH_VIEWPORT)
    page.goto(f"{server.url}/asset-groups?{urlencode({'expanded': groups})}")
    page.get_by_text(MODEL, exact=True).first.wait_for()
    page.locator("xpath=//input[@placeholder='Jump to…']/following::button[1]").click()
    page.get_by_placeholder("Jump to…").wait_for(state="hidden")  # the explorer panel
    canvas = page.locator("[data-svg-viewport='1']").first
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + 10, box["y"] + 10)  # fit the graph to the canvas
    wait_until_loaded(page)
    outlines = page.locator("[data-svg-viewport='1'] foreignObject").evaluate_all(
        """els => els.map(e => e.getBoundingClientRect())
                     .filter(r => r.width > 0 && r.height > 0)
                     .map(r => [r.left, r.top, r.right, r.bottom])"""
    )
    left, top = (min(r[i] for r in outlines) - CROP_MARGIN for i in (0, 1))
    right, bottom = (max(r[i] for r in outlines) + CROP_MARGIN for i in (2, 3))
    left, top = max(left, box["x"]), max(top, box["y"])
    right = min(right, box["x"] + box["width"])
    bottom = min(bottom, box["y"] + box["height"])
    clip: FloatRect = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    page.screenshot(path=str(path), clip=clip)
    report(path)


def shoot_model_page(page: Page, server: Webserver, path: Path, view: str = "") -> None:
    """One model asset's page: description with the SQL, kinds, owners, tags and the
    latest materialization's metadata (version, params, metrics table) — or, with
    ``view="events"``, its history of materializations: one per version, newest first."""
    page.set_viewport_size(MODEL_VIEWPORT)
    page.goto(f"{server.url}/assets/{MODEL}" + (f"?view={view}" if view else ""))
    page.get_by_text("model_version").first.wait_for()
    wait_until_loaded(page)
    page.screenshot(path=str(path))
    report(path)


def shoot_text(page: Page, text: str, command: str, path: Path) -> None:
    """A command's output as a terminal shows it (a page of preformatted text)."""
    from html import escape

    page.set_viewport_size({"width": 1100, "height": 200})
    page.set_content(
        "<body style='margin:0;background:#1e1e1e'><pre style='margin:0;padding:16px;"
        "color:#e6e6e6;font:14px/1.4 monospace;display:inline-block'>"
        f"<span style='color:#8ae234'>{escape(command)}</span>\n{escape(text)}</pre></body>"
    )
    page.locator("pre").screenshot(path=str(path))
    report(path)


def server_groups(server: Webserver) -> list[str]:
    nodes = server.graphql("{ assetNodes { groupName } }")["assetNodes"]
    return sorted({n["groupName"] for n in nodes})


def wait_until_loaded(page: Page, timeout: float = 60.0) -> None:
    """Until no "Loading…" placeholder is left and the network is quiet."""
    deadline = time.monotonic() + timeout
    loading = page.get_by_text("Loading…").or_(page.get_by_text("Loading..."))
    while loading.count() and time.monotonic() < deadline:
        time.sleep(0.5)
    if loading.count():
        raise SystemExit(f"the page at {page.url} was still loading after {timeout:.0f}s")
    page.wait_for_load_state("networkidle")
    time.sleep(1.5)  # the graph animates into place after a layout


def report(path: Path) -> None:
    """Shrink the PNG (a UI screenshot loses nothing visible at 256 colours, and the
    repository keeps every version of it) and say where it went."""
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with matplotlib (the explain extra); optional here
        pass
    else:
        with Image.open(path) as image:
            shrunk = image.convert("RGB").quantize(
                colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
            )
        shrunk.save(path, optimize=True)
    size = path.stat().st_size // 1024
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path} ({size} KiB)")


if __name__ == "__main__":
    sys.exit(main())
