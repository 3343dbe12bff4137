"""FACEVERIFY_PRECISION: which of the model's precisions is served, and where it shows."""

import image_factory as images
import pytest
from fastapi.testclient import TestClient
from fixture_paths import TINY_MODEL
from int8_factory import INT8_THRESHOLD, evaluation, tiny_int8_model

from app.inference import precision as precision_module
from app.inference.model_loading import ModelLoadError, load_model
from app.inference.precision import choose_precision, cpu_int8_flags
from app.main import create_app
from facecore.metadata import ModelMetadata

FACE_A = images.PHOTO_ONE_FACE.read_bytes()
FACE_B = images.PHOTO_ONE_FACE_2.read_bytes()


@pytest.fixture
def int8_model(tmp_path):
    return tiny_int8_model(tmp_path / "model")


def with_cpu(monkeypatch, *flags: str) -> None:
    monkeypatch.setattr(precision_module, "cpu_int8_flags", lambda: flags)


def test_auto_serves_int8_on_a_vnni_cpu(make_client, int8_model, monkeypatch, caplog):
    with_cpu(monkeypatch, "avx512_vnni")
    with caplog.at_level("INFO"):
        client = make_client(model_path=int8_model)
    assert "model precision: int8 (auto: int8 within budget, CPU has avx512_vnni)" in caplog.text
    ready = client.get("/ready").json()
    assert ready["model"]["precision"] == "int8"
    assert [p["cosine"] for p in ready["operating_points"]] == [INT8_THRESHOLD]
    files = {"image1": ("a.jpg", FACE_A), "image2": ("b.jpg", FACE_B)}
    verify = client.post("/verify", files=files).json()
    assert verify["threshold"] == INT8_THRESHOLD
    embed = client.post("/embed", files={"images": ("a.jpg", FACE_A)}).json()
    assert 'precision="int8"' in client.get("/metrics").text
    assert embed["model"] == {
        "name": "tiny-random",
        "version": "0.0.1",
        "dimension": 16,
        "precision": "int8",
    }


def test_auto_serves_float32_without_vnni_or_amx(make_client, int8_model, monkeypatch):
    with_cpu(monkeypatch)
    client = make_client(model_path=int8_model)
    assert client.get("/ready").json()["model"]["precision"] == "float32"
    embed = client.post("/embed", files={"images": ("a.jpg", FACE_A)}).json()
    assert embed["model"]["precision"] == "float32"


def test_explicit_int8_without_a_block_fails_to_load_naming_the_setting(make_settings):
    with pytest.raises(ModelLoadError, match="FACEVERIFY_PRECISION=int8: .*no int8 block"):
        load_model(make_settings(precision="int8"))
    app = create_app(make_settings(precision="int8"))
    with pytest.raises(ModelLoadError, match="FACEVERIFY_PRECISION=int8"), TestClient(app):
        pass


def test_explicit_precisions_are_obeyed(make_settings, int8_model, monkeypatch):
    with_cpu(monkeypatch)  # no VNNI: int8 is served anyway when asked for
    assert (
        load_model(make_settings(model_path=int8_model, precision="int8")).metadata.precision
        == "int8"
    )
    with_cpu(monkeypatch, "amx_int8")
    float32 = load_model(make_settings(model_path=int8_model, precision="float32"))
    assert float32.metadata.precision == "float32"


@pytest.mark.parametrize(
    ("overrides", "block", "expected"),
    [
        ({}, True, "int8"),
        ({}, False, "float32"),  # no block
        ({"backend": "savedmodel"}, True, "float32"),
        ({"device": "gpu"}, True, "float32"),
    ],
)
def test_auto_needs_every_condition(
    make_settings, int8_model, monkeypatch, overrides, block, expected
):
    with_cpu(monkeypatch, "avx_vnni")
    metadata = ModelMetadata.load(int8_model if block else TINY_MODEL)
    settings = make_settings(**overrides)
    assert choose_precision(settings, metadata)[0] == expected


def test_auto_refuses_an_int8_block_out_of_budget(make_settings, monkeypatch, tmp_path):
    with_cpu(monkeypatch, "avx512_vnni")
    model = tiny_int8_model(
        tmp_path / "m", evaluation=evaluation(int8_eer=0.06), within_budget=False
    )
    precision, why = choose_precision(make_settings(), ModelMetadata.load(model))
    assert (precision, why) == (
        "float32",
        "auto: the model's int8 block is not within its accuracy budget",
    )


def test_cpu_flags_come_from_proc_cpuinfo(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512_vnni amx_int8\n\n")
    monkeypatch.setattr(precision_module, "CPUINFO", cpuinfo)
    monkeypatch.setattr(precision_module.sys, "platform", "linux")
    assert cpu_int8_flags() == ("avx512_vnni", "amx_int8")
    cpuinfo.write_text("flags\t\t: fpu sse avx2\n")
    assert cpu_int8_flags() == ()
    monkeypatch.setattr(precision_module.sys, "platform", "darwin")
    assert cpu_int8_flags() == ()
