"""`python3 dev.py run`: where links point, how honcho is started, what the banner shows."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import honcho.manager
import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8101"}, "http://127.0.0.1:8101"),
        ({"HOST": "0.0.0.0", "PORT": "8101"}, "http://127.0.0.1:8101"),  # noqa: S104 - dev.py HOST
        ({"HOST": "::1", "PORT": "8101"}, "http://[::1]:8101"),
        ({"HOST": "portal.lan", "PORT": "8101"}, "http://portal.lan:8101"),
        ({"PORT": "8101", "SITE_URL": "https://demo.example.com/"}, "https://demo.example.com"),
    ],
)
def test_links_point_where_the_portal_is_served_unless_site_url_is_set(env, expected):
    assert dev.site_url(env) == expected


def test_the_local_address_is_polled_even_when_site_url_points_elsewhere():
    env = {"PORT": "8101", "SITE_URL": "https://demo.example.com"}

    assert dev.local_url(env) == "http://127.0.0.1:8101"


def run_honcho(tmp_path: Path, procfile_line: str, env: dict[str, str]) -> str:
    procfile = tmp_path / "Procfile"
    procfile.write_text(procfile_line + "\n")
    command = [str(part) for part in dev.honcho_command(procfile)]
    command[0] = sys.executable  # this venv's Python, wherever dev.py would look for it
    result = subprocess.run(
        command, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    return result.stdout + result.stderr


def test_a_dot_env_file_never_sends_links_back_to_port_8000(tmp_path):
    # A .env copied from .env.example says SITE_URL=http://127.0.0.1:8000; honcho reads .env by
    # default and lets it win over what dev.py derived from PORT.
    (tmp_path / ".env").write_text("SITE_URL=http://127.0.0.1:8000\n")
    probe = f"{sys.executable} -c \"import os; print('link base', os.environ['SITE_URL'])\""

    output = run_honcho(tmp_path, f"web: {probe}", {"SITE_URL": "http://127.0.0.1:8101"})

    assert "link base http://127.0.0.1:8101" in output
    assert ":8000" not in output


SLOW_TO_STOP = (
    "import signal, sys, time\n"
    "def stop(*args):\n"
    "    time.sleep(6)\n"
    "    print('stopped warm', flush=True)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "time.sleep(60)\n"
)


def test_honcho_lets_a_process_finish_a_shutdown_longer_than_its_own_5_seconds(tmp_path):
    # Like Celery's warm shutdown on the filesystem broker: honcho alone sends SIGKILL after 5 s.
    assert honcho.manager.KILL_WAIT == 5  # an upgrade that renames it must fail here
    (tmp_path / "slow.py").write_text(SLOW_TO_STOP)
    procfile = f"slow: {sys.executable} slow.py\nquick: {sys.executable} -c 'import time; time.sleep(3)'"

    output = run_honcho(tmp_path, procfile, {})

    assert "stopped warm" in output
    assert "SIGKILL" not in output


def test_the_banner_shows_the_logins_seed_demo_printed_for_this_start(tmp_path, capsys):
    (tmp_path / "demo-logins.txt").write_text("Demo logins (password for all: pw)\n  Card to add  ICCID 1\n")

    dev.banner(
        "http://127.0.0.1:8107",
        "answering 3 s after start",
        logins=dev.demo_logins({"VAR_DIR": str(tmp_path)}),
    )

    shown = capsys.readouterr().out
    assert "Portal: http://127.0.0.1:8107/" in shown
    assert "  Demo logins (password for all: pw)" in shown
    assert "Card to add  ICCID 1" in shown
