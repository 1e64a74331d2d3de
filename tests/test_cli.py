"""The ``bridge`` command as a user runs it: info, ask (streaming, params, files, errors), demo."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ASSETS = Path(__file__).parent / "apps" / "assets"


def bridge(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def test_info_lists_endpoints_params_and_constraints(apps: dict[str, str]) -> None:
    out = bridge("info", apps["text"])
    assert out.returncode == 0, out.stderr
    assert "Chat: " in out.stdout and ".submit → _clear_and_save_textbox → " in out.stdout
    assert "temperature: slider, 0..2, step 0.1, default 0.7" in out.stdout
    assert "style: dropdown, one of 'plain', 'formal', 'pirate'" in out.stdout
    assert "Named endpoints: " in out.stdout


def test_ask_streams_with_params(apps: dict[str, str]) -> None:
    out = bridge("ask", apps["text"], "hello", "--param", "temperature=1.2", "--param", "style=formal")
    assert out.returncode == 0, out.stderr
    assert "temp=1.2 style=formal" in out.stdout and "echo: hello" in out.stdout
    out = bridge("ask", apps["text"], "progress")
    assert out.returncode == 0 and out.stdout == "progress done\n", out.stdout
    assert "⏳ stepping" in out.stderr  # status goes to stderr (the core's words), not into the answer


def test_ask_reports_app_errors_and_bad_params(apps: dict[str, str]) -> None:
    out = bridge("ask", apps["text"], "boom")
    assert out.returncode == 1 and "boom-boom" in out.stderr
    assert out.stdout == ""  # the answer is the reply; a note about a failure is not one
    out = bridge("ask", apps["text"], "hi", "--param", "temperature=9")
    assert out.returncode == 2 and "above the maximum 2" in out.stderr
    out = bridge("ask", "http://127.0.0.1:9", "hi")
    assert out.returncode == 3 and "cannot reach" in out.stderr


def test_ask_sends_and_saves_files(apps: dict[str, str], tmp_path: Path) -> None:
    out = bridge("ask", apps["mm"], "look", "--file", str(ASSETS / "notes.txt"), "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "files=1" in out.stdout and "notes.txt" in out.stdout
    out = bridge("ask", apps["mm"], "image please", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    saved = [p for p in tmp_path.iterdir() if p.read_bytes().startswith(b"\x89PNG")]
    assert saved and str(saved[0]) in out.stderr


def test_ask_refuses_files_for_a_text_only_app(apps: dict[str, str]) -> None:
    out = bridge("ask", apps["text"], "look", "--file", str(ASSETS / "notes.txt"))
    assert out.returncode == 2 and "takes text only" in out.stderr
    out = bridge("ask", apps["text"], "look", "--file", str(ASSETS / "missing.txt"))
    assert out.returncode == 2 and "no such file" in out.stderr


def test_ctrl_c_stops_the_reply_and_exits_130(apps: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "ask", apps["text"], "slow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4.0)  # the app streams "slow" for 9 s: the reply is under way now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out.startswith("w0 w1") and "w29" not in out and "(stopped)" in out


def test_demo_answers_piped_lines(tmp_path: Path) -> None:
    out = bridge("demo", stdin="hello\n/settings persona=pirate\nagain, picture please\n", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "This is turn 1" in out.stdout and "Arr, matey! This is turn 2" in out.stdout
    assert list((tmp_path / "bridge-out").glob("*.png"))
