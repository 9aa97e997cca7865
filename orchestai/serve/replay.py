"""``python -m orchestai.serve.replay --data ../shared/data/routerbench``: the recorded-outcome backend over HTTP.

Serves RouterBench's recorded answers as an OpenAI-compatible chat API (see
:mod:`orchestai.serve.backend`) with uvicorn on ``--host``/``--port`` (127.0.0.1 by
default: nothing is exposed beyond this machine unless asked).
"""

from __future__ import annotations

import argparse

from orchestai.cli import run_cli
from orchestai.envs.routerbench_data import ROUTERBENCH_DIR, load_routerbench_folder
from orchestai.errors import UserInputError
from orchestai.serve.backend import RecordedBackend, ReplaySettings, create_app


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Serve RouterBench's recorded answers as an OpenAI-compatible chat API.")
    parser.add_argument("--data", default=ROUTERBENCH_DIR, help=f"folder of RouterBench CSVs (default {ROUTERBENCH_DIR})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument(
        "--latency-scale", type=float, default=1.0, help="multiplies the sampled latencies; 0 answers at once (default 1.0)"
    )
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of (prompt, model) pairs answering HTTP 429 or 500 (default 0)"
    )
    parser.add_argument(
        "--down",
        action="append",
        default=[],
        metavar="MODEL",
        help="a model that answers 503 to everything (repeatable; default none)",
    )
    parser.add_argument(
        "--slow",
        action="append",
        default=[],
        metavar="MODEL",
        help="a model answering --slow-factor times slower (repeatable; default none)",
    )
    parser.add_argument("--slow-factor", type=float, default=5.0, help="how much slower a --slow model is (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latency draws and the injected faults (default 0)")
    args = parser.parse_args(argv)

    def command() -> int:
        import uvicorn

        data = load_routerbench_folder(args.data, keep_responses=True)
        settings = ReplaySettings(
            args.latency_scale, args.error_rate, tuple(args.down), tuple(args.slow), args.slow_factor, args.seed
        )
        try:
            backend = RecordedBackend(data, settings)
        except ValueError as error:
            raise UserInputError(f"--data {args.data}: {error}") from None
        print(
            f"serving {len(backend.by_hash)} recorded prompts of {len(data.models)} models on http://{args.host}:{args.port}/v1",
            flush=True,
        )
        uvicorn.run(create_app(backend), host=args.host, port=args.port, log_level="warning")
        return 0

    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
