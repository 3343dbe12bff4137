"""End to end 1:N and 1:1 with the real model on people it never saw in training.

Starts ``python -m app`` (127.0.0.1, fresh SQLite gallery) on the model, enrols 2 photos each of
every held-out person with 3+ photos, then probes ``/identify`` and ``/people/{id}/verify``:
  * mated searches: the enrolled people's other photos (up to ``--probes-per-person`` each);
  * non-mated searches: held-out people with fewer photos, never enrolled (first photo each).
Reports the NIST FRVT 1:N measures (rank-1 rate; FNIR at FPIR = 1e-2, the threshold set on the
non-mated searches' top scores; FPIR/FNIR at the service's own identification threshold) and
the 1:1 TAR of ``/people/{id}/verify`` at the default operating point (and its FAR on
non-mated probes against an enrolled person). Writes bench/results/gallery_e2e.json.

    python -m bench.bench_gallery_e2e --model models/resnet18-2.7.0 --data ../shared/data/faces
"""

from __future__ import annotations

import argparse
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np

from bench.local_service import SERVED_MODEL, local_service
from bench.results_file import write_result

ROOT = Path(__file__).resolve().parents[1]
# An identity namespace -> the folders of ../shared/data/faces holding its people.
FOLDERS = {"celeba": ("celeba_subset", "celeba_aligned_small")}
ENROLLED_PHOTOS = 2


def photos_of(data: Path, identity: str) -> list[Path]:
    """Every photo of a held-out identity such as ``celeba/00046``, sorted."""
    namespace, name = identity.split("/", 1)
    folders = FOLDERS.get(namespace, (namespace,))
    return sorted(
        path for folder in folders for path in (data / folder / name).glob("*") if path.is_file()
    )


def choose(data: Path, split: Path, probes_per_person: int) -> tuple[dict, list]:
    """Enrolled people (2 photos + probes) and the non-mated probes."""
    identities = json.loads(split.read_text())["heldout_identities"]
    enrolled, nonmated = {}, []
    for identity in identities:
        photos = photos_of(data, identity)
        if len(photos) > ENROLLED_PHOTOS:
            enrolled[identity] = (
                photos[:ENROLLED_PHOTOS],
                photos[ENROLLED_PHOTOS : ENROLLED_PHOTOS + probes_per_person],
            )
        elif photos:
            nonmated.append((identity, photos[0]))
    return enrolled, nonmated


def person_id(identity: str) -> str:
    return identity.replace("/", ":")


def enrol(client: httpx2.Client, identity: str, photos: list[Path]) -> int:
    pid = person_id(identity)
    client.post("/people", json={"id": pid}).raise_for_status()
    response = client.post(
        f"/people/{pid}/faces",
        files=[("images", (photo.name, photo.read_bytes())) for photo in photos],
    )
    response.raise_for_status()
    return sum("face_id" in result for result in response.json()["results"])


def probe(client: httpx2.Client, photo: Path, claimed: str) -> dict:
    """/identify (top 5) and /people/{claimed}/verify for one photo."""
    data = photo.read_bytes()
    found = client.post("/identify", files={"image": (photo.name, data)}, data={"top_k": "5"})
    found.raise_for_status()
    verdict = client.post(
        f"/people/{person_id(claimed)}/verify", files={"image": (photo.name, data)}
    )
    verdict.raise_for_status()
    answer = found.json()
    return {
        "candidates": answer["candidates"],
        "threshold": answer["threshold"],
        "fpir_bound": answer["fpir_bound"],
        "verified": verdict.json()["verified"],
        "verify_threshold": verdict.json()["threshold"],
    }


def top(result: dict) -> tuple[str | None, float]:
    first = result["candidates"][0] if result["candidates"] else None
    return (first["person_id"], first["similarity"]) if first else (None, -1.0)


def fnir_at_fpir(mated: list[tuple[dict, str]], nonmated: list[dict], fpir: float) -> dict:
    """Threshold = the strictest that lets at most ``fpir`` of non-mated searches through."""
    scores = sorted((top(result)[1] for result in nonmated), reverse=True)
    allowed = int(np.floor(fpir * len(scores)))
    threshold = float(np.nextafter(np.float32(scores[allowed]), np.float32(2)))
    misses = sum(not (top(r)[0] == pid and top(r)[1] >= threshold) for r, pid in mated)
    passed = sum(score >= threshold for score in scores)
    return {
        "fpir_target": fpir,
        "threshold": round(threshold, 4),
        "fpir_measured": passed / len(scores),
        "fnir": misses / len(mated),
    }


def summarise(mated: list[tuple[dict, str]], nonmated: list[dict]) -> dict:
    rank1 = sum(top(result)[0] == pid for result, pid in mated) / len(mated)
    rank5 = sum(
        any(c["person_id"] == pid for c in result["candidates"]) for result, pid in mated
    ) / len(mated)
    service_fp = sum(top(r)[1] >= r["threshold"] for r in nonmated) / len(nonmated)
    service_fn = sum(
        not (top(r)[0] == pid and top(r)[1] >= r["threshold"]) for r, pid in mated
    ) / len(mated)
    thresholds = sorted({round(r["threshold"], 4) for r, _ in mated})
    return {
        "rank1_identification_rate": rank1,
        "rank5_identification_rate": rank5,
        "fnir_at_fpir_1e-2": fnir_at_fpir(mated, nonmated, 1e-2),
        "service_identification_threshold": {
            "thresholds_used": thresholds,
            "fpir": service_fp,
            "fnir": service_fn,
            "fpir_bound_reported": nonmated[0]["fpir_bound"],
        },
        "verify_default_operating_point": {
            "threshold": mated[0][0]["verify_threshold"],
            "tar": sum(r["verified"] for r, _ in mated) / len(mated),
            "far_nonmated_vs_random_enrolled": sum(r["verified"] for r in nonmated) / len(nonmated),
        },
    }


def run(args: argparse.Namespace) -> dict:
    enrolled, nonmated = choose(args.data, args.split, args.probes_per_person)
    mated_probes = [(photo, ident) for ident, (_, probes) in enrolled.items() for photo in probes]
    claims = random.Random(0).choices(sorted(enrolled), k=len(nonmated))
    started = time.perf_counter()
    with (
        local_service(args.model, timeout=300) as service,
        httpx2.Client(base_url=service.url, timeout=300) as client,
        ThreadPoolExecutor(args.clients) as pool,
    ):
        templates = sum(
            pool.map(
                lambda item: enrol(client, *item),
                [(i, photos) for i, (photos, _) in enrolled.items()],
            )
        )
        mated = list(pool.map(lambda item: probe(client, *item), mated_probes))
        impostor = list(
            pool.map(
                lambda item: probe(client, item[0][1], item[1]), zip(nonmated, claims, strict=True)
            )
        )
        model = client.get("/ready").json()["model"]
    return {
        "model": model,
        "data": str(args.data),
        "split": str(args.split),
        "enrolled_people": len(enrolled),
        "enrolled_templates": templates,
        "mated_searches": len(mated),
        "nonmated_searches": len(impostor),
        **summarise(
            list(zip(mated, [person_id(i) for _, i in mated_probes], strict=True)), impostor
        ),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SERVED_MODEL)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "faces")
    parser.add_argument(
        "--split",
        type=Path,
        default=None,
        help="held-out identities (default: MODEL/evaluation/heldout_split.json)",
    )
    parser.add_argument("--probes-per-person", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "gallery_e2e.json")
    args = parser.parse_args()
    args.split = args.split or args.model / "evaluation" / "heldout_split.json"
    results = run(args)
    print(json.dumps(results, indent=2))
    write_result(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
