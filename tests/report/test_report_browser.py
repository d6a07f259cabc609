"""Look at the report as a reader would: HTML in headless Chromium, PDF pages via pdftoppm."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
FIGURES = ("fig-survival", "fig-buckets", "fig-lorenz", "fig-size", "fig-trend", "fig-volume")

pytestmark = pytest.mark.browser

# Every block that a reader sees inside a section, with its box: no two may overlap.
BOXES = """() => {
  const out = [];
  for (const section of document.querySelectorAll('section, header, nav')) {
    for (const el of section.querySelectorAll(':scope > *')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.height) out.push({id: section.id, tag: el.tagName,
        x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height});
    }
  }
  return out;
}"""


def _overlaps(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
            dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
            if dx > 1 and dy > 1:
                found.append((f"{a['id']}>{a['tag']}", f"{b['id']}>{b['tag']}"))
    return found


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium")
@pytest.mark.parametrize(
    "key", [("public", "en"), ("public", "nl"), ("restricted", "en"), ("restricted", "nl")]
)
def test_html_renders_with_every_figure_visible_and_nothing_overlapping(
    editions: Any, key: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    written = editions.files[key]
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
            "els => els.map(e => ({w: e.naturalWidth, h: e.naturalHeight, alt: e.alt, "
            "bw: e.getBoundingClientRect().width, bh: e.getBoundingClientRect().height, "
            "fig: e.closest('figure') && e.closest('figure').id, ok: e.complete}))",
        )
        boxes = page.evaluate(BOXES)
        contents = page.eval_on_selector_all("nav#contents a", "els => els.length")
        headings = page.eval_on_selector_all("section > h2", "els => els.length")
        marker = page.eval_on_selector_all(".edition-marker", "els => els.length")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert {i["fig"] for i in images} >= set(FIGURES)
    for image in images:
        assert image["ok"] and image["w"] > 100 and image["h"] > 100, image["fig"]
        assert image["bw"] > 200 and image["bh"] > 100, image["fig"]
        assert len(image["alt"]) > 40, f"{image['fig']} has no real alt text"
    assert not _overlaps(boxes)
    assert contents == headings >= 10
    assert marker == (2 if key[0] == "restricted" else 0)
    assert all(url.startswith(("file:", "data:")) for url in requests)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_pdf_pages_are_not_blank(editions: Any, tmp_path: Path) -> None:
    from PIL import Image

    pdf = editions.files["public", "en"].pdf
    assert pdf is not None and pdf.stat().st_size > 20_000
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 6
    inked = []
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"), dtype=float)
        assert pixels.std() > 5, f"{page.name} looks blank"
        inked.append((pixels < 200).mean())
    # Figures are drawn: some page is far from text-only density.
    assert max(inked) > 0.03
