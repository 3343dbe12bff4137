"""Smoke-test a running faceverify service: wait for /ready, POST /verify, check the answer.

    python scripts/ci_verify_request.py --url http://127.0.0.1:18000 \
        --image1 a.jpg --image2 b.jpg [--api-key KEY]

Exits 0 and prints the answer when /verify returns 200 with `verified` (bool) and
`similarity` (number); exits 1 with the reason otherwise. Used by scripts/ci_docker_check.sh.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import httpx2


class SmokeTestError(RuntimeError):
    """The service did not answer as expected; the message says how."""


def wait_until_ready(client: httpx2.Client, timeout_s: float) -> dict:
    """Poll GET /ready until it answers 200 or the time is up.

    Args:
        client: Client bound to the service's base URL.
        timeout_s: Longest time to wait, in seconds.

    Returns:
        The /ready JSON body.

    Raises:
        SmokeTestError: If the service is not ready within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        try:
            response = client.get("/ready")
            if response.status_code == 200:
                return response.json()
            last_problem = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx2.TransportError as exc:
            last_problem = repr(exc)
        time.sleep(1.0)
    raise SmokeTestError(f"/ready not 200 within {timeout_s:.0f} s ({last_problem})")


def verify_pair(client: httpx2.Client, image1: Path, image2: Path) -> dict:
    """POST two image files to /verify as multipart/form-data and check the answer's shape.

    Args:
        client: Client bound to the service's base URL.
        image1: First image file.
        image2: Second image file.

    Returns:
        The /verify JSON body.

    Raises:
        SmokeTestError: If the status is not 200 or `verified`/`similarity` are missing.
    """
    files = {
        "image1": (image1.name, image1.read_bytes()),
        "image2": (image2.name, image2.read_bytes()),
    }
    response = client.post("/verify", files=files)
    if response.status_code != 200:
        raise SmokeTestError(f"/verify: HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if not isinstance(body.get("verified"), bool):
        raise SmokeTestError(f"/verify: no boolean 'verified' in {body}")
    similarity = body.get("similarity")
    if not isinstance(similarity, int | float) or not -1.0 <= similarity <= 1.0:
        raise SmokeTestError(f"/verify: 'similarity' missing or outside [-1, 1] in {body}")
    return body


def main(argv: list[str] | None = None) -> int:
    """Run the smoke test described by the command line.

    Args:
        argv: Command-line arguments (defaults to sys.argv[1:]).

    Returns:
        Process exit status: 0 on success, 1 on failure.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--image1", type=Path, required=True)
    parser.add_argument("--image2", type=Path, required=True)
    parser.add_argument("--api-key", default=None, help="sent as X-API-Key when given")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    with httpx2.Client(base_url=args.url, headers=headers, timeout=30.0) as client:
        try:
            ready = wait_until_ready(client, args.ready_timeout)
            print("ready:", json.dumps(ready))
            answer = verify_pair(client, args.image1, args.image2)
        except SmokeTestError as exc:
            print(f"smoke test failed: {exc}", file=sys.stderr)
            return 1
    print(
        "verify:",
        json.dumps(
            {key: answer[key] for key in ("verified", "similarity", "threshold") if key in answer}
        ),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
