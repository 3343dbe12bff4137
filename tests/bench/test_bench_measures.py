"""The product benchmarks' own arithmetic: result files, summaries, payloads and model cost."""

import io
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from bench.altered_copies import summarise
from bench.bench_gallery_search import percentiles
from bench.bench_service import load_summary
from bench.hostile_monitor import window
from bench.hostile_payloads import png_header_only
from bench.model_cost import model_flops_per_image
from bench.results_file import write_result
from bench.wrk_load import BOUNDARY, multipart_body


def test_a_result_is_indented_json_in_a_folder_made_for_it(tmp_path):
    path = write_result(tmp_path / "new" / "result.json", {"images_per_s": 12.5, "rows": [1]})
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and '\n  "rows"' in text
    assert json.loads(text) == {"images_per_s": 12.5, "rows": [1]}


def test_altered_copies_count_misses_apart_from_the_scores():
    summary = summarise({"grey": [0.9, None, 0.5, 0.7], "lost": [None, None]}, threshold=0.6)
    assert summary["grey"]["photos"] == 4 and summary["grey"]["misses"] == 1
    assert summary["grey"]["mean"] == pytest.approx(0.7)
    assert summary["grey"]["verified_at_default"] == pytest.approx(0.6667)
    assert summary["grey"]["p5"] == pytest.approx(float(np.percentile([0.9, 0.5, 0.7], 5)), 1e-3)
    assert summary["lost"] == {
        "photos": 2,
        "misses": 2,
        "mean": None,
        "p5": None,
        "verified_at_default": None,
    }


def test_a_load_level_reports_rates_and_quantiles_in_milliseconds():
    latencies = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    summary = load_summary(latencies, images=200, elapsed=4.0)
    assert summary["requests"] == 100 and summary["requests_per_s"] == 25
    assert summary["images_per_s"] == 50
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert 98 <= summary["p99_ms"] <= 100
    single = load_summary([0.02], images=1, elapsed=1.0)  # one request: every quantile is it
    assert single["p50_ms"] == single["p99_ms"] == pytest.approx(20)


def test_search_percentiles_of_unordered_samples():
    samples = [float(v) for v in np.random.default_rng(0).permutation(np.arange(1, 201))]
    result = percentiles(samples)
    assert result == {"p50_ms": 100.5, "p99_ms": 199.0, "mean_ms": 100.5, "samples": 200}


def test_the_monitor_window_keeps_only_the_samples_inside_it(tmp_path):
    log = tmp_path / "monitor.log"
    log.write_text("1.0 rss 100\n2.0 health 3.5\n2.5 verify_5xx 503\n3.0 rss 120\n4.0 verify 9\n")
    assert window(log, 2.0, 3.0) == {
        "rss": [120.0],
        "health": [3.5],
        "verify": [],
        "verify_5xx": [503.0],
    }


def test_a_header_only_png_declares_a_size_its_payload_does_not_hold():
    data = png_header_only(40_000, 1_000)
    assert len(data) < 200
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40_000, 1_000)


@pytest.mark.parametrize(
    ("route", "fields"), [("/embed", ["images"]), ("/verify", ["image1", "image2"])]
)
def test_the_load_body_carries_the_image_once_per_field(route, fields):
    image = b"\xff\xd8 jpeg bytes \xff\xd9"
    body = multipart_body(route, image)
    parts = body.split(f"--{BOUNDARY}".encode())
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    for part, field in zip(parts[1:-1], fields, strict=True):
        head, payload = part.split(b"\r\n\r\n", 1)
        assert f'name="{field}"'.encode() in head
        assert payload == image + b"\r\n"
    assert len(parts) == len(fields) + 2


def test_model_flops_count_convolutions_and_products_for_one_image(tmp_path):
    conv = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "conv_w")  # 3 -> 4 ch
    dense = numpy_helper.from_array(np.zeros((4 * 6 * 6, 5), np.float32), "dense_w")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "conv_w"], ["c"], kernel_shape=[3, 3]),  # 8x8 -> 6x6
            helper.make_node("Flatten", ["c"], ["f"]),
            helper.make_node("MatMul", ["f", "dense_w"], ["y"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])],
        [conv, dense],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph), str(path))
    conv_flops = 2 * (4 * 6 * 6) * (3 * 3 * 3)
    dense_flops = 2 * 5 * (4 * 6 * 6)
    assert model_flops_per_image(path) == conv_flops + dense_flops
