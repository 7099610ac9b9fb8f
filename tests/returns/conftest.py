from tests.notifications.conftest import run_commits, smtp_server  # noqa: F401  (shared fixtures)
