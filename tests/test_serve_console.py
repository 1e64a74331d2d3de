"""``bridge serve`` with the console adapter, as a user runs it: piped input, signals, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import AppServer

ASSETS = Path(__file__).parent / "apps" / "assets"


def write_config(tmp: Path, url: str, *, state: str = "sqlite:///state.db", extra: str = "") -> Path:
    path = tmp / "config.toml"
    path.write_text(f"""
[bridge]
state = "{state}"
log_level = "warning"
shutdown_timeout_s = 5
{extra}

[spaces.app]
src = "{url}"

[adapters.term]
type = "console"
space = "app"
""")
    return path


def serve(cfg: Path, stdin: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "serve", str(cfg)],
        input=stdin,
        text=True,
        capture_output=True,
        timeout=240,
        cwd=cfg.parent,
        check=False,
        env={**os.environ, **(env or {})},
    )


def start_serve(cfg: Path) -> subprocess.Popen[str]:
    """``bridge serve`` in the background with pipes, for tests that type while a reply runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "serve", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cfg.parent,
    )


def test_piped_lines_are_a_scripted_conversation(apps: dict[str, str], tmp_path: Path) -> None:
    cfg = write_config(tmp_path, apps["text"])
    out = serve(cfg, "hi\nagain\n")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "turn=" in line]
    assert "turn=1" in lines[0] and "echo: hi" in lines[0]
    assert "turn=2" in lines[1] and "echo: again" in lines[1]
    assert len(out.stdout.splitlines()) == 2  # status lines go to stderr, never between the answers
    # state survives a restart of the bridge: the conversation goes on
    out = serve(cfg, "third\n")
    assert out.returncode == 0, out.stderr
    assert "turn=3" in out.stdout


def test_attachments_and_files_out(apps: dict[str, str], tmp_path: Path) -> None:
    cfg = write_config(tmp_path, apps["mm"], state="memory://")
    out = serve(cfg, f"/file {ASSETS / 'notes.txt'} look\nimage please\n")
    assert out.returncode == 0, out.stderr
    assert "files=1" in out.stdout and "notes.txt" in out.stdout
    saved = list((tmp_path / "bridge-out").iterdir())
    assert saved and saved[0].read_bytes().startswith(b"\x89PNG")


def test_sigterm_marks_running_reply_interrupted(apps: dict[str, str], tmp_path: Path) -> None:
    cfg = write_config(tmp_path, apps["text"])
    proc = start_serve(cfg)
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write("slow\n")
    proc.stdin.flush()
    time.sleep(4.0)  # the app streams "slow" for 9 s: the reply is under way now
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "w0" in out and "interrupted" in out


def test_check_gives_clear_verdicts(apps: dict[str, str], tmp_path: Path) -> None:
    good = write_config(tmp_path, apps["text"], state="memory://")
    out = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check", str(good)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "temperature: slider" in out.stdout and "All good." in out.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text().replace('src = "', 'params = { temperature = 9 }\nsrc = "')
        + '\n[spaces.gone]\nsrc = "http://127.0.0.1:9"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1
    assert "✗ spaces.app.params: temperature: 9 is above the maximum 2" in out.stdout
    assert "✗ spaces.gone:" in out.stdout
    typo = tmp_path / "typo.toml"
    typo.write_text(good.read_text().replace("space = ", "spcae = "))
    out = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check", str(typo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2 and "did you mean 'space'" in out.stdout


def test_secrets_never_reach_logs(apps: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[bridge]
state = "memory://"
log_format = "json"
log_level = "debug"

[spaces.app]
src = "{apps["auth"]}"
auth_env = "APP_AUTH"

[adapters.term]
type = "console"
space = "app"
""")
    out = serve(cfg, "hi\n", env={"APP_AUTH": "alice:wonderland"})
    assert out.returncode == 0, out.stderr
    assert "turn=1" in out.stdout
    assert "wonderland" not in out.stderr and "wonderland" not in out.stdout


def test_commands_and_errors_through_the_console(apps: dict[str, str], tmp_path: Path) -> None:
    cfg = write_config(tmp_path, apps["text"], state="memory://")
    script = (
        "one\n/settings temperature=1.5 style=formal\ntwo\nboom\nmid\n/reset\nthree\n/settings shout=maybe\n"
    )
    out = serve(cfg, script)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "turn=1" in text and "temp=1.5 style=formal" in text
    assert "The app reported an error: boom-boom" in text
    assert "partial answer" in text and "mid-fail" in text
    assert "New conversation" in text
    after_reset = text.split("New conversation", 1)[1]
    assert "turn=1" in after_reset  # /reset started over; the failed turns were never remembered
    assert "shout: expected true or false" in after_reset


def test_stop_mid_stream_through_the_console(apps: dict[str, str], tmp_path: Path) -> None:
    cfg = write_config(tmp_path, apps["text"], state="memory://")
    proc = start_serve(cfg)
    assert proc.stdin is not None
    proc.stdin.write("slow\n")
    proc.stdin.flush()
    time.sleep(4.0)
    out, err = proc.communicate("/stop\nnext\n", timeout=120)
    assert proc.returncode == 0, err
    stopped = out.split("(stopped)", 1)[0]
    assert stopped.startswith("w0 w1") and "w29" not in stopped
    assert "turn=2" in out.split("(stopped)", 1)[1]


def test_app_restart_between_bridge_runs(gradio_version: str, tmp_path: Path) -> None:
    from tests.test_restart import _port

    port = _port()
    server = AppServer(gradio_version, ("text",), "--port", str(port))
    server.wait_ready()
    try:
        cfg = write_config(tmp_path, f"http://127.0.0.1:{port}")
        assert "turn=2" in serve(cfg, "one\ntwo\n").stdout
        server.stop()
        server = AppServer(gradio_version, ("text",), "--port", str(port))
        server.wait_ready()
        out = serve(cfg, "three\n")
        assert out.returncode == 0, out.stderr
        assert "turn=3" in out.stdout  # the app forgot everything; the bridge re-seeded the transcript
    finally:
        server.stop()
