"""`make run` refuses a port that is taken: a clear message and a non-zero status, nothing started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from django.conf import settings


def test_a_port_in_use_fails_with_a_message_and_a_non_zero_status(tmp_path):
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "run_stack"],
            cwd=settings.BASE_DIR, env={**os.environ, "PORT": str(port), "OMS_VAR_DIR": str(tmp_path)},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "OMS local demo" not in result.stdout  # it stopped before starting anything
