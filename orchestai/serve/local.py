"""The recorded-outcome backend as a local subprocess on 127.0.0.1 at a free port (tests, benchmarks, demos)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_replay_server(data_dir: str | Path, *flags: str, start_timeout_s: float = 60.0) -> Iterator[str]:
    """``python -m orchestai.serve.replay --data DATA_DIR FLAGS`` on a free port; yields its base URL (``.../v1``), stops it after."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "orchestai.serve.replay", "--data", str(data_dir), "--port", str(port), *flags]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the replay server exited: {process.stderr.read() if process.stderr else ''}".strip())
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > start_timeout_s:
                raise RuntimeError(f"the replay server did not answer within {start_timeout_s:g}s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
