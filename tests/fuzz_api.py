"""`make fuzz`: schemathesis, every check, against a live server on a fresh database.

    python -m tests.fuzz_api            # FUZZ_PORT (8765), FUZZ_EXAMPLES (5), FUZZ_SEED (1)

Starts `manage.py runserver` with DEBUG off on its own database (`<DATABASE_URL's name>_fuzz`,
dropped afterwards; a temporary SQLite file without DATABASE_URL), seeds the demo data, issues a
merchant API key, and runs every operation of /api/schema/ through the examples, coverage and
fuzzing phases. It fails on any 5xx and any answer the schema does not describe (status code,
content type, headers, body). A fixed seed keeps CI repeatable; set FUZZ_SEED to explore.

Exclusions (docs/RELIABILITY.md, "Bad input and abuse"):
- the `positive_data_acceptance` check: it expects every schema-valid request to succeed, but
  the domain refuses valid-shaped requests with 400 by design, and no schema can say why:
  totals that must add up, ISO country and currency codes, address rules per country, a known
  SKU or channel, card numbers in free text, dates out of range.
- `--workers 1`: hypothesis's lambda descriptions are not thread-safe ("AST constructor recursion
  depth mismatch"), an error in the fuzzer, not in the API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
EXCLUDED_CHECKS = "positive_data_acceptance"


@contextmanager
def fuzz_database(work: Path) -> Iterator[str]:
    """A fresh database for the run, removed after it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{work / 'fuzz.sqlite3'}"
        return
    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_fuzz"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def wait_ready(base: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the server did not come up")


# Real identifiers from the seeded data, so that operations on one object reach past their 404.
# Only text ones: a pinned integer id is sent even where schemathesis means to send a wrong type,
# which its negative-data check then reports as accepted.
IDENTIFIERS = """
import json
from inventory.models import Node, Product
from notifications.models import WebhookSubscription
from oms.models import Channel, Merchant
from orders.models import Order
demo = Merchant.objects.get(code="demo")
hook = WebhookSubscription.objects.create(merchant=demo, url="https://hooks.example.com/oms", event_types=["order.*"])
found = {
    "/orders/": ("number", Order.objects.filter(merchant=demo, payments__isnull=False).order_by("pk").first()),
    "/nodes/": ("code", Node.objects.filter(owner=demo).order_by("pk").first() or Node.objects.first()),
    "/channels/": ("code", Channel.objects.filter(merchant=demo).order_by("pk").first()),
    "/products/": ("sku", Product.objects.filter(merchant=demo).order_by("pk").first()),
    "/webhooks/": ("webhook_id", hook),
}
print(json.dumps({prefix: [name, str(getattr(obj, "pk" if name.endswith("id") else name))]
                  for prefix, (name, obj) in found.items() if obj is not None}))
"""


def config_file(env: dict[str, str], path: Path) -> Path:
    """A schemathesis.toml naming a real object for each operation on one object."""
    found = json.loads(manage(env, "shell", "-c", IDENTIFIERS).strip().splitlines()[-1])
    blocks = [
        f'[[operations]]\ninclude-path-regex = "^/api/v1{prefix}[{{]"\nparameters = {{ "path.{name}" = "{value}" }}\n'
        for prefix, (name, value) in found.items()
    ]
    path.write_text("\n".join(blocks))
    return path


def log_tail(path: Path, lines: int = 80) -> list[str]:
    return path.read_text(errors="replace").splitlines()[-lines:]


def main() -> int:
    port = os.environ.get("FUZZ_PORT", "8765")
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp, fuzz_database(Path(tmp)) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "OMS_VAR_DIR": tmp,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            # Jobs run inside the request: nothing waits on a worker, and their errors surface.
            "CELERY_TASK_ALWAYS_EAGER": "1",
        }
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "seed_demo")
        key = manage(env, "issue_api_token", "demo", "--name", "fuzz").strip()
        config = config_file(env, Path(tmp) / "schemathesis.toml")
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115 - closed with the directory
        server = subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(base, server)
            command = [
                str(Path(PYTHON).parent / "st"), "--config-file", str(config), "run", f"{base}/api/schema/",
                "--header", f"Authorization: Bearer {key}",
                "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
                "--phases", "examples,coverage,fuzzing",
                "--max-examples", os.environ.get("FUZZ_EXAMPLES", "5"),
                "--seed", os.environ.get("FUZZ_SEED", "1"),
                # A node's first geocode in a process loads the postal-code table (8 s seen on a
                # busy machine): the time limits allow for it.
                "--workers", "1", "--request-timeout", "60", "--max-response-time", "30", "--no-color",
            ]  # fmt: skip
            code = subprocess.run(command, cwd=ROOT, env=env).returncode
            if code:
                print("--- the server's log, last lines ---", *log_tail(Path(tmp) / "server.log"), sep="\n")
            return code
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    sys.exit(main())
