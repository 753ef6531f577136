"""scripts/render_report.sh: a report as a reader sees it, drawn by headless Chromium (skipped without it)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from jkn_risk.report import render
from tests.synthetic_results import make_results

ROOT = Path(__file__).resolve().parents[2]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(BROWSER is None, reason="no Chromium (apt-get install -y chromium)")
def test_render_report_script_draws_the_page(tmp_path):
    from PIL import Image

    render.render_report(make_results(40, compartments="segment"), tmp_path / "report", n_boot=10, dpi=40)
    png = tmp_path / "shot.png"
    res = subprocess.run(["bash", str(ROOT / "scripts" / "render_report.sh"), tmp_path / "report" / "report.html",
                          png, "1000", "3000"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(png)
    page = np.asarray(Image.open(png).convert("L"))
    assert page.shape == (3000, 1000)
    assert (page < 128).mean() > 0.005  # text and figures drawn, not a blank page


def test_render_report_script_explains_itself():
    res = subprocess.run(["bash", str(ROOT / "scripts" / "render_report.sh")], capture_output=True, text=True)
    assert res.returncode == 2 and "REPORT.html|STORE.zarr OUT.png" in res.stderr
