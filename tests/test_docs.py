"""The README's picture is made by a script from the real page, and the docs it links to exist."""
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, free_port
from tests.test_ui import chromium_path

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_links_point_to_files_that_exist():
    links = re.findall(r"\]\(((?:docs|scripts)/[^)#\s]+)", README)
    assert "docs/img/cited-answer.png" in links and "docs/figures.md" in links
    for link in links:
        assert (ROOT / link).exists(), link


@pytest.mark.browser
def test_the_screenshot_script_makes_a_picture_of_the_page(tmp_path, tiny_model):
    if not chromium_path():
        pytest.skip("no Chromium found: install Debian's chromium (scripts/setup.sh --test does it as root)")
    out = tmp_path / "answer.png"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshot.py"), "--model", "tiny", "--out",
                        str(out), "--port", str(free_port())], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert "(tiny)" in r.stdout
