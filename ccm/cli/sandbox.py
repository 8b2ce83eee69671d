"""``ccm sandbox``: serve the GitHub sandbox in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from ccm.github.sandbox import SandboxServer, SandboxWorld, SeedError, StoreError, load_seed
from ccm.github.sandbox.seed import MAX_TIME_SCALE


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a simulated GitHub Actions API on loopback",
        description="Serve the GitHub sandbox: a simulated GitHub Actions REST API that needs no token. "
        "Point ccm at it with --github URL. Admin API (faults, counters): URL/_sandbox/.",
    )
    parser.add_argument("--seed", type=Path, required=True, help="YAML seed: repositories, workflows, runs")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on; default 127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="TCP port; 0 picks a free one; default 8765")
    parser.add_argument(
        "--time-scale", type=float, help="simulated seconds per wall second; default: the seed's time_scale"
    )
    parser.add_argument(
        "--persist", type=Path, help="JSON file to keep the world in across restarts; default: memory only"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        print(f"--port {args.port} is not a TCP port; give 0 to 65535 (0 picks a free one).", file=sys.stderr)
        return 2
    try:
        seed = load_seed(args.seed)
    except SeedError as error:
        hint = " Check the --seed path." if isinstance(error.__cause__, OSError) else ""
        print(f"{error}{hint}", file=sys.stderr)
        return 2
    if args.time_scale is not None:
        # Written so that NaN, which every comparison rejects, fails the check too.
        if not 0 < args.time_scale <= MAX_TIME_SCALE:
            print(
                f"--time-scale must be greater than 0 and at most {MAX_TIME_SCALE:.0f}, not {args.time_scale}.",
                file=sys.stderr,
            )
            return 2
        seed = seed.model_copy(update={"time_scale": args.time_scale})

    try:
        world = SandboxWorld.open(seed, args.persist)
        server = SandboxServer(world, host=args.host, port=args.port).start()
    except StoreError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"Cannot listen on {args.host}:{args.port}: {error.strerror}. Choose another --port.",
            file=sys.stderr,
        )
        return 2

    stopping = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(
        f"GitHub sandbox serving {server.url} ({len(seed.repositories)} repositories, "
        f"time scale {seed.time_scale}). Press Ctrl-C to stop.",
        flush=True,
    )
    stopping.wait()
    server.stop()
    print("GitHub sandbox stopped.", flush=True)
    return 0
