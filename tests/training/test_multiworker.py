"""Two local worker processes train the smoke preset with MultiWorkerMirroredStrategy.

Keras 3's ``Model.fit`` fails under that strategy (keras-team/keras#20585), so with
``TF_CONFIG`` set ``training train`` uses the custom loop of ``training.run.multiworker``.
The test runs one epoch, then a second one resumed from the chief's checkpoint, and
checks that both workers end with the very same weights.
"""

import csv
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from image_factory import make_identity_folders

from tests.training.test_train_smoke import ARTEFACTS

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 150


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start_worker(index, workers, data, out, epochs, log_path):
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
        TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        ),
    )
    command = [
        sys.executable,
        "-m",
        "training",
        "train",
        "--preset",
        "smoke",
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--verbose",
        "2",
    ]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT
    )


def train_two_workers(data, out, epochs, logs_dir):
    """Run both workers to the end (killed after RUN_TIMEOUT_S); assert both exit 0."""
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    logs = [logs_dir / f"worker{i}-epochs{epochs}.log" for i in range(2)]
    processes = [start_worker(i, workers, data, out, epochs, logs[i]) for i in range(2)]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        codes = [process.wait(timeout=max(deadline - time.monotonic(), 1)) for process in processes]
    except subprocess.TimeoutExpired:
        codes = None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    outputs = "\n----\n".join(log.read_text()[-3000:] for log in logs)
    assert codes == [0, 0], outputs


def history(run_dir):
    with (run_dir / "history.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_two_local_workers_train_together_and_resume(tmp_path):
    data = make_identity_folders(tmp_path / "faces")
    out = tmp_path / "run"
    worker1 = out / "workers" / "worker1"  # the non-chief worker writes aside
    train_two_workers(data, out, 1, tmp_path)
    train_two_workers(data, out, 2, tmp_path)  # resumes from out/checkpoints

    for name in ARTEFACTS:
        assert (out / name).is_file(), name
    assert (worker1 / "final.keras").is_file()
    config = json.loads((out / "config.json").read_text())
    assert (config["strategy"], config["replicas"]) == ("CollectiveAllReduceStrategy", 2)
    rows = history(out)
    assert [int(row["epoch"]) for row in rows] == [0, 1]
    assert all(math.isfinite(float(row[key])) for row in rows for key in ("loss", "val_loss"))
    assert history(worker1) == rows  # metrics are reduced over the whole cluster
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["epochs_completed"], summary["epochs_this_session"]) == (2, 1)
    assert summary["global_batch_size"] == 2 * config["batch_size"]

    from training.model.network import load_model

    chief, other = load_model(out / "final.keras"), load_model(worker1 / "final.keras")
    assert int(chief.optimizer.iterations.numpy()) == 2 * config["steps_per_epoch"]
    for mine, theirs in zip(chief.weights, other.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs), err_msg=mine.path)
