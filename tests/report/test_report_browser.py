"""Look at the report as a reader would: HTML in headless Chromium, PDF pages via pdftoppm."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hostwatch.metrics.synthetic import synthetic_world
from hostwatch.report.build import ReportOptions, write_report

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def written(tmp_path_factory):  # type: ignore[no-untyped-def]
    world = synthetic_world(5000, n_providers=60, seed=5)
    out = tmp_path_factory.mktemp("report")
    options = ReportOptions(sizes=world.sizes, simulated=True, period_label="2024")
    return write_report(world.frame, out, options, pdf=True)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium")
def test_html_renders_with_visible_figures_and_tables(written, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--headless"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(written.html.as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img",
            "els => els.map(e => ({w: e.naturalWidth, h: e.naturalHeight, "
            "bw: e.getBoundingClientRect().width, bh: e.getBoundingClientRect().height, "
            "ok: e.complete}))",
        )
        rows = page.eval_on_selector_all("table.providers tbody tr", "els => els.length")
        headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert len(images) >= 7
    for image in images:
        assert image["ok"] and image["w"] > 100 and image["h"] > 100
        assert image["bw"] > 200 and image["bh"] > 100
    assert rows == 25
    assert {"Summary", "Takedown time per provider", "Methods"} <= set(headings)
    assert all(url.startswith(("file:", "data:")) for url in requests)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_pdf_pages_are_not_blank(written, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    assert written.pdf is not None and written.pdf.stat().st_size > 20_000
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(written.pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 4
    inked = []
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"), dtype=float)
        assert pixels.std() > 5, f"{page.name} looks blank"
        inked.append((pixels < 200).mean())
    # Figures are drawn: some page is far from text-only density.
    assert max(inked) > 0.03
