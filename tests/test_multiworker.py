"""Two local worker processes train the smoke preset with MultiWorkerMirroredStrategy.

Known to fail with Keras 3.15 + TensorFlow 2.21 (not because of this CPU build): the two
workers form the cluster (collective ops start, ``strategy.num_replicas_in_sync == 2``),
then ``Model.fit`` breaks inside Keras's TensorFlow trainer, twice over:
1. ``TensorFlowTrainer._maybe_symbolic_build`` calls ``strategy.reduce("MEAN", (x, y))``
   on a *tuple* of PerReplica values; the collective strategy cannot reduce a tuple:
   "Attempt to convert a value (PerReplica...) with an unsupported type ... to a Tensor".
2. With that bypassed, ``reduce_per_replica`` reduces every scalar metric with
   ``strategy.reduce("MEAN", v, axis=0)``: "Invalid reduction dimension 0 for input with
   0 dimensions".
Upstream: keras-team/keras#20585 (open). The test asserts that the cluster forms, then
reports xfail only on that known Keras error, and passes outright once Keras is fixed.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_train_smoke import make_identity_folders

ROOT = Path(__file__).resolve().parents[1]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start_worker(index, workers, data, out, log_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                     "task": {"type": "worker", "index": index}}))
    command = [sys.executable, "-m", "training", "train", "--preset", "smoke", "--data", str(data),
               "--out", str(out), "--epochs", "1", "--verbose", "2"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_path.open("w"),
                            stderr=subprocess.STDOUT)


KERAS_BUG = "with an unsupported type (<class 'tensorflow.python.distribute.values.PerReplica'>)"


@pytest.mark.slow
def test_two_local_workers_train_together(tmp_path):
    data = make_identity_folders(tmp_path / "faces")
    out = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    processes = [start_worker(i, workers, data, out, logs[i]) for i in range(2)]
    try:
        codes = [process.wait(timeout=240) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    outputs = [log.read_text() for log in logs]
    # config.json is written before fit: both workers joined one 2-replica cluster
    # (MultiWorkerMirroredStrategy is a CollectiveAllReduceStrategy)
    for run_dir in (out, out / "workers" / "worker1"):
        config = json.loads((run_dir / "config.json").read_text())
        assert (config["strategy"], config["replicas"]) == ("CollectiveAllReduceStrategy", 2)
    if codes != [0, 0] and all(KERAS_BUG in text for text in outputs):
        pytest.xfail("Keras 3 Model.fit fails under MultiWorkerMirroredStrategy (keras#20585)")
    assert codes == [0, 0], "\n----\n".join(text[-3000:] for text in outputs)
    assert (out / "final.keras").is_file()
    assert (out / "workers" / "worker1" / "final.keras").is_file()  # non-chief writes aside
