#!/usr/bin/env python3
"""One entry point for newcomers and CI, using nothing but the Python standard library.

    python3 dev.py run     # set up .venv, migrate, seed the demo, serve web + Celery workers + beat
    python3 dev.py test    # set up .venv, ruff, migration check, then the whole pytest suite
    python3 dev.py lock    # rewrite requirements.lock from what .venv holds now
    python3 dev.py bench   # run every benchmark in bench/ and print one table (bench/README.md)

Extra arguments after `test` go to pytest (`python3 dev.py test -k healthz -x`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
LOCK = ROOT / "requirements.lock"
PROJECT_NAME = "monaco-data-portal"
MINIMUM_PYTHON = (3, 11)


def say(message: str) -> None:
    print(f"\033[1;34m==>\033[0m {message}", flush=True)


def fail(message: str, code: int = 1) -> int:
    print(f"\033[1;31mxx\033[0m {message}", file=sys.stderr, flush=True)
    return code


def run(command: list[str], env: dict[str, str], check: bool = True) -> int:
    print("    $ " + " ".join(str(part) for part in command), flush=True)
    code = subprocess.call([str(part) for part in command], cwd=ROOT, env=env)
    if check and code != 0:
        raise SystemExit(fail(f"failed with exit code {code}: {' '.join(str(p) for p in command)}", code))
    return code


def base_env(*, debug_default: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if debug_default is not None:
        env.setdefault("DEBUG", debug_default)
    return env


# --- Virtual environment ----------------------------------------------------------------------


def ensure_venv() -> None:
    if PYTHON.exists():
        return
    say(f"Creating the virtual environment in {VENV.name}/")
    code = subprocess.call([sys.executable, "-m", "venv", str(VENV)])
    if code != 0 or not PYTHON.exists():
        raise SystemExit(
            fail(
                "could not create .venv. On Debian/Ubuntu install the venv module first "
                "(apt-get install python3-venv), then run this again."
            )
        )


def install(*, extras: str, env: dict[str, str]) -> None:
    """Install the project and its dependencies, pinned by requirements.lock; skip when unchanged."""
    stamp = VENV / f".installed-{extras or 'base'}"
    # A full install (dev) also satisfies a run-only one.
    candidates = [(stamp, extras)] if extras else [(stamp, ""), (VENV / ".installed-dev", "dev")]
    if any(path.exists() and path.read_text() == fingerprint(extras=e) for path, e in candidates):
        say("Dependencies are up to date")
        return
    say(f"Installing dependencies ({'with' if extras else 'without'} development tools)")
    command = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if LOCK.exists():
        command += ["-c", LOCK]
    run(command + requirements(extras), env)
    stamp.write_text(fingerprint(extras=extras))


def fingerprint(*, extras: str) -> str:
    digest = hashlib.sha256(f"{sys.version_info[:2]} {extras}".encode())
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def requirements(extras: str) -> list[str]:
    # The project is not a package to install: take its requirements straight from pyproject.toml.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project.get("optional-dependencies", {}).get(extras, []))


def lock() -> int:
    ensure_venv()
    env = base_env(debug_default=None)
    install(extras="dev", env=env)
    frozen = subprocess.run(
        [PYTHON, "-m", "pip", "freeze", "--disable-pip-version-check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    pins = sorted(
        (line for line in frozen if line and not line.lower().startswith((PROJECT_NAME, "-e "))),
        key=str.lower,
    )
    header = "# Exact versions the tests were run with. Regenerate: python3 dev.py lock\n"
    LOCK.write_text(header + "\n".join(pins) + "\n")
    install(extras="dev", env=env)  # re-stamp against the new lock
    say(f"Wrote {len(pins)} pins to {LOCK.name}")
    return 0


# --- Django preparation -----------------------------------------------------------------------


def var_dir(env: dict[str, str]) -> Path:
    return Path(env.get("VAR_DIR") or ROOT / "var")


def make_var_dirs(env: dict[str, str]) -> None:
    var = var_dir(env)
    for sub in ("mail", "sms", "broker/queue", "broker/processed", "broker/control", "cache", "static"):
        (var / sub).mkdir(parents=True, exist_ok=True)


def manage(*args: str, env: dict[str, str], check: bool = True) -> int:
    return run([PYTHON, "manage.py", *args], env, check=check)


def translation_command() -> list[str] | None:
    # A fresh machine may lack GNU gettext: prefer the project's pure-Python compiler.
    if not list((ROOT / "locale").glob("*/LC_MESSAGES/*.po")):
        say("No translation catalogues yet (locale/*/LC_MESSAGES/*.po): nothing to compile")
    elif list(ROOT.glob("*/management/commands/compiletranslations.py")):
        return ["compiletranslations"]
    elif shutil.which("msgfmt"):
        return ["compilemessages", "--ignore=.venv", "--ignore=var"]
    else:
        say("Skipping translations: no compiletranslations command and no msgfmt on PATH")
    return None


def compile_translations(env: dict[str, str]) -> None:
    command = translation_command()
    if command:
        say("Compiling translations")
        manage(*command, env=env)


# Run the setup commands in one Django process: each separate start costs seconds.
SETUP_SCRIPT = """
import json, sys
import django
django.setup()
from django.core.management import call_command
for label, command in json.loads(sys.argv[1]):
    print("\\033[1;34m==>\\033[0m " + label, flush=True)
    call_command(*command)
"""


def prepare(env: dict[str, str]) -> None:
    make_var_dirs(env)
    steps = [("Applying database migrations", ["migrate", "--noinput"])]
    translations = translation_command()
    if translations:
        steps.append(("Compiling translations", translations))
    steps += [
        ("Collecting static files", ["collectstatic", "--noinput", "--verbosity", "0"]),
        ("Seeding demo data", ["seed_demo"]),
    ]
    setup_env = {**env, "DJANGO_SETTINGS_MODULE": env.get("DJANGO_SETTINGS_MODULE", "portal.settings")}
    code = subprocess.call([PYTHON, "-c", SETUP_SCRIPT, json.dumps(steps)], cwd=ROOT, env=setup_env)
    if code != 0:
        raise SystemExit(fail(f"setting up the portal failed (exit code {code})", code))


# --- Commands ---------------------------------------------------------------------------------


def local_url(env: dict[str, str]) -> str:
    """Where this machine reaches the web process that the Procfile starts on HOST:PORT."""
    host = env.get("HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 - every interface: this machine answers on loopback
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{env.get('PORT') or '8000'}"


def site_url(env: dict[str, str]) -> str:
    """The base of every link in mail and SMS: SITE_URL when set, else where the web process runs."""
    return (env.get("SITE_URL") or local_url(env)).rstrip("/")


# honcho sends SIGKILL 5 s after the first process stops (honcho.manager.KILL_WAIT, no option for
# it). Celery's warm shutdown on the filesystem broker alone takes about that long, so give it more.
HONCHO_KILL_WAIT_SECONDS = 20
HONCHO_LAUNCHER = """
import sys
import honcho.command
import honcho.manager
honcho.manager.KILL_WAIT = int(sys.argv.pop(1))
sys.argv[0] = "honcho"
sys.exit(honcho.command.main())
"""


def honcho_command(procfile: Path) -> list[str | Path]:
    # --env os.devnull: honcho would read a .env file and let it override the variables set here
    # (a .env copied from .env.example sends every link to :8000); dev.py reads no .env file.
    launcher = [PYTHON, "-c", HONCHO_LAUNCHER, str(HONCHO_KILL_WAIT_SECONDS)]
    return [*launcher, "start", "-f", procfile, "--env", os.devnull]


def wait_until_served(url: str, started: float, process: subprocess.Popen, logins: str) -> None:
    """Print the banner once the web process answers /healthz, then say when it turns green."""
    announced = False
    while process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5):  # noqa: S310 - our own server
                if not announced:
                    banner(url, f"answering {time.monotonic() - started:.0f} s after start", logins=logins)
                say(f"Health: {url}/healthz is green (database, broker, worker and beat heartbeat)")
                return
        except urllib.error.HTTPError:
            # 503 while the worker and beat start: the server answers, the heartbeat is pending.
            if not announced:
                banner(url, f"answering {time.monotonic() - started:.0f} s after start", logins=logins)
                announced = True
        except (urllib.error.URLError, OSError):
            pass
        # The first beat heartbeat takes up to one schedule interval (30 s); poll gently once up.
        time.sleep(5 if announced else 0.3)


def banner(url: str, note: str, *, logins: str = "") -> None:
    line = "=" * 72
    print(
        f"\n\033[1;32m{line}\n  Portal: {url}/   ({note})\n"
        + (logins or "  Logins: printed above by seed_demo, with their password\n")
        + "  Mail and SMS codes: printed in this terminal, also saved in var/mail/ and var/sms/\n"
        f"  Admin:  {url}/admin/     Health: {url}/healthz     Stop: Ctrl-C\n{line}\033[0m\n",
        flush=True,
    )


def demo_logins(env: dict[str, str]) -> str:
    """What seed_demo printed (logins, the card to add) for this start, indented for the banner."""
    try:
        text = (var_dir(env) / "demo-logins.txt").read_text(encoding="utf-8")
    except OSError:
        return ""
    return "".join(f"  {line}\n" for line in text.splitlines())


def command_run() -> int:
    started = time.monotonic()
    ensure_venv()
    env = base_env(debug_default="1")
    env.setdefault("PORT", "8000")
    env.setdefault("HOST", "127.0.0.1")
    env["SITE_URL"] = site_url(env)
    # One process per worker, no pool children: honcho's SIGTERM reaches each worker's whole process
    # group, and prefork children die of it mid-task instead of finishing (warm shutdown needs solo).
    if env.setdefault("CELERY_POOL", "solo") == "solo":
        env["CELERY_CONCURRENCY"] = env["RENEWALS_CONCURRENCY"] = "1"  # what solo is (worker banners)
    url = local_url(env)
    install(extras="", env=env)
    prepare(env)
    say("Starting web, the Celery workers (renewals, general) and beat (Ctrl-C stops them all)")
    process = subprocess.Popen(honcho_command(ROOT / "Procfile"), cwd=ROOT, env=env)
    watcher = threading.Thread(target=wait_until_served, args=(url, started, process, demo_logins(env)))
    watcher.daemon = True
    watcher.start()
    # Ctrl-C reaches honcho directly (same terminal); a SIGTERM to us is passed on to it.
    signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def command_test(pytest_args: list[str]) -> int:
    started = time.monotonic()
    ensure_venv()
    env = base_env(debug_default=None)
    install(extras="dev", env=env)
    check_env = {**env, "DEBUG": "1"}
    make_var_dirs(check_env)
    compile_translations(check_env)
    results: list[tuple[str, int]] = []
    steps = [
        ("ruff check", [BIN / "ruff", "check", "."]),
        ("ruff format --check", [BIN / "ruff", "format", "--check", "."]),
        ("djlint --lint templates", [BIN / "djlint", "templates", "--lint"]),
        ("makemigrations --check", [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"]),
        ("mypy", [BIN / "mypy"]),
    ]
    for name, command in steps:
        say(name)
        results.append((name, run(command, check_env, check=False)))
    say("pytest")
    # pytest's own exit codes pass through: 5 ("no tests collected") is a failure too.
    results.append(("pytest", run([PYTHON, "-m", "pytest", *pytest_args], env, check=False)))
    print()
    for name, code in results:
        print(f"    {'ok  ' if code == 0 else 'FAIL'} {name}" + ("" if code == 0 else f" (exit {code})"))
    failed = [code for _, code in results if code != 0]
    say(f"{'FAILED' if failed else 'All green'} in {time.monotonic() - started:.0f} s")
    return failed[-1] if failed else 0


def main(argv: list[str]) -> int:
    if sys.version_info < MINIMUM_PYTHON:
        return fail(f"Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer is needed; this is {sys.version}")
    if not argv or argv[0] not in {"run", "test", "lock", "bench"}:
        print(__doc__)
        return 2
    if argv[0] == "run":
        return command_run()
    if argv[0] == "test":
        return command_test(argv[1:])
    if argv[0] == "bench":
        ensure_venv()
        return subprocess.call([str(PYTHON), str(ROOT / "bench" / "run_all.py"), *argv[1:]], cwd=ROOT)
    return lock()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
