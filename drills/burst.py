"""`python -m drills.burst [URL] [COUNT]`: COUNT concurrent order POSTs to a running `make run`."""

from __future__ import annotations

import os
import sys
import time

import django

from drills.load import burst


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    django.setup()
    from oms.demo import DEMO_API_KEY

    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    started = time.monotonic()
    result = burst(url, count, prefix=f"BURST-{int(time.time())}", key=DEMO_API_KEY)
    print(f"{count} concurrent POSTs in {time.monotonic() - started:.1f} s: answers {dict(result.answers)}")
    for failure in result.failures[:10]:
        print("  ", failure)
    sys.exit(0 if sum(result.answers[s] for s in (200, 201)) == count else 1)


if __name__ == "__main__":
    main()
