"""The HTML report in a real browser: headless Chromium loads it from a file URL.

Checks: the verdict and the failing rules are in the rendered DOM; the page makes no network
request (Chromium's net log: requests initiated by the page, as opposed to the browser's own
background requests, which are marked "not an origin"); the page logs nothing to the console
(the report has no script, so any console line is an error such as a blocked resource); and the
first screen shows the verdict banner. A control page with a remote image and a console error
proves the checks can fail. The screenshot is saved under test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.report import write_verdict_reports
from tests.conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
INSTALLER = REPO_ROOT / ".ci" / "install-chromium"
WINDOW = (1280, 900)
FAIL_BANNER_RGB = (0xB9, 0x1C, 0x1C)


@dataclass
class BrowserLoad:
    stdout: str
    console: list[str]  # page console messages
    page_requests: list[str]  # network URLs the page asked for


def _find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _find_chromium()
    if found is None:
        # The test set-up (make test) runs the installer; this covers a plain `pytest` run.
        attempt = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900, check=False)
        found = _find_chromium()
        if found is None:
            pytest.skip(f"chromium is not installed and {INSTALLER.name} could not install it: "
                        f"{(attempt.stderr or attempt.stdout).strip()[-300:] or 'no output'}")
    return found


def load_in_chromium(chromium: str, page: Path, work: Path, *, screenshot: Path | None = None) -> BrowserLoad:
    work.mkdir(parents=True, exist_ok=True)
    net_log = work / "netlog.json"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing could leave this machine even if asked
        f"--user-data-dir={work / 'profile'}", f"--log-net-log={net_log}", "--enable-logging=stderr", "--v=0",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={screenshot}" if screenshot else "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requests = []
    for event in log["events"]:
        params = event.get("params") or {}
        url = params.get("url", "")
        if event["type"] == start_job and url and params.get("initiator") != "not an origin" \
                and not url.startswith(("file:", "data:")):
            requests.append(url)
    return BrowserLoad(stdout=done.stdout, console=console, page_requests=requests)


def test_the_checks_catch_a_remote_resource_and_a_console_error(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><p>control</p><img src="http://example.invalid/x.png">'
                   '<script>console.error("boom")</script></body></html>', encoding="utf-8")
    loaded = load_in_chromium(chromium, bad, tmp_path / "control")
    assert "control" in loaded.stdout
    assert any("example.invalid" in url for url in loaded.page_requests)
    assert any("boom" in line for line in loaded.console)


def test_report_renders_offline_without_console_errors(chromium, verdict, report_options, tmp_path):
    paths = write_verdict_reports(verdict, tmp_path / "reports", **report_options)
    page = paths["html"]
    loaded = load_in_chromium(chromium, page, tmp_path / "dom")
    assert loaded.page_requests == []
    assert loaded.console == []
    dom = loaded.stdout
    assert '<div class="verdict">FAIL</div>' in dom
    assert f"Failing rules ({verdict.counts['fail']})" in dom
    for o in verdict.failing():
        assert f"<code>{o.rule_id}</code>" in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-first-screen.png"
    shot.unlink(missing_ok=True)
    shot_load = load_in_chromium(chromium, page, tmp_path / "shot", screenshot=shot)
    assert shot_load.page_requests == [] and shot_load.console == []
    shutil.copyfile(page, ARTIFACTS / "report.html")

    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == WINDOW
        rgb = image.convert("RGB")
        # The first screen opens on the red FAIL banner (sampled in the middle of the band).
        banner = rgb.getpixel((WINDOW[0] // 2, 30))
        assert all(abs(a - b) <= 8 for a, b in zip(banner, FAIL_BANNER_RGB, strict=True)), banner
        # ...and continues with the failing-rules table (dark text on white below the banner).
        lower = rgb.crop((0, 200, WINDOW[0], 600))
        assert len(lower.getcolors(maxcolors=1 << 16) or []) > 20


MAX_REPORT_BYTES = 1_000_000
# Opens every <details>, then records each table that is wider than the box it is laid out in.
_MEASURE = """<script>
document.querySelectorAll('details').forEach(d => { d.open = true; });
const wide = [];
document.querySelectorAll('table').forEach((t, i) => {
  const box = t.parentElement.getBoundingClientRect();
  const r = t.getBoundingClientRect();
  if (t.scrollWidth > t.clientWidth + 1 || r.right > box.right + 1 || r.right > window.innerWidth) {
    wide.push(i + ':' + (t.querySelector('th') ? t.querySelector('th').textContent : '') + ':' + t.scrollWidth + '>' + t.clientWidth);
  }
});
const out = document.createElement('pre');
out.id = 'overflow-report';
out.textContent = 'tables=' + document.querySelectorAll('table').length + ';wide=' + JSON.stringify(wide);
document.body.appendChild(out);
</script>"""


def _measured_copy(page: Path, work: Path) -> Path:
    """The report with its no-script CSP removed and the measuring script appended (the report itself has none)."""
    import re

    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    copy = work / "measured.html"
    copy.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    return copy


def test_no_table_overflows_at_1280_and_the_report_is_under_1_mb(chromium, verdict, report_options, tmp_path):
    import re

    paths = write_verdict_reports(verdict, tmp_path / "reports", **report_options)
    page = paths["html"]
    assert page.stat().st_size < MAX_REPORT_BYTES
    loaded = load_in_chromium(chromium, _measured_copy(page, tmp_path), tmp_path / "measure")
    found = re.search(r"tables=(\d+);wide=(\[.*?\])</pre>", loaded.stdout)
    assert found is not None, "the measuring script did not run"
    assert int(found.group(1)) > 5
    assert json.loads(found.group(2).replace("&quot;", '"')) == []


def test_the_overflow_check_catches_a_wide_table(chromium, tmp_path):
    wide = tmp_path / "wide.html"
    cells = "".join(f"<td>{'x' * 40}-{i}</td>" for i in range(30))
    wide.write_text('<!DOCTYPE html><html><head><style>table{display:block;overflow-x:auto;max-width:100%}'
                    'td{white-space:nowrap}</style></head><body><main style="max-width:1200px">'
                    f"<table><tr>{cells}</tr></table></main></body></html>", encoding="utf-8")
    loaded = load_in_chromium(chromium, _measured_copy(wide, tmp_path), tmp_path / "measure")
    assert '"0:' in loaded.stdout.replace("&quot;", '"')
