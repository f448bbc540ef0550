"""Run a script in a fresh Python interpreter, where nothing this test process imported or
set up (modules, a frozen heap, BOOKPAY_* settings) can answer for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def last_json_line(script: str, *args: str, **settings: str) -> Any:
    """The JSON the script prints last, run with `args` and no BOOKPAY_* variable but
    `settings`; AssertionError with its stderr when it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKPAY_")}
    env.update(settings)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
