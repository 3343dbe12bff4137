# faceverify container images. Targets:
#   serve-cpu  (default) slim serving image: ONNX Runtime on CPU, no TensorFlow
#   serve-gpu  serving on an NVIDIA GPU: onnxruntime-gpu on an nvidia/cuda runtime base
#   train      offline training with TensorFlow (CPU; --build-arg TRAIN_GPU=1 for CUDA)
#
#   docker build -t faceverify:cpu .
#   docker build --target serve-gpu -t faceverify:gpu .
#   docker build --target train -t faceverify:train .
#
# Every image keeps its Python packages in a virtual environment at /opt/venv, so the same
# steps work whether the base has python at /usr/local/bin (python:3.11-slim) or at
# /usr/bin (Debian and Ubuntu packages). See docs/docker.md for the details.

ARG PYTHON_IMAGE=python:3.11-slim
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

# ---------------------------------------------------------------------------------------
# python-base: a Python base with an empty virtual environment and an unprivileged user.
FROM ${PYTHON_IMAGE} AS python-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH}
RUN python3 -m venv /opt/venv \
    && useradd --system --uid 10001 --user-group --home-dir /srv/faceverify \
       --shell /usr/sbin/nologin faceverify \
    && install -d -o faceverify -g faceverify /srv/faceverify /srv/faceverify/data
WORKDIR /srv/faceverify

# ---------------------------------------------------------------------------------------
# serve-deps: the serving dependencies (pyproject core list), then the package itself.
# Dependencies come first so that code edits do not re-download them; the package goes in
# with --no-deps because they are already there (and, in the CUDA builds, swapped for
# onnxruntime-gpu / tensorflow[and-cuda], which pip would otherwise "fix" back).
FROM python-base AS serve-deps
WORKDIR /build
COPY pyproject.toml README.md ./
COPY scripts/requirements_from_pyproject.py scripts/
RUN python scripts/requirements_from_pyproject.py > requirements.txt \
    && pip install -r requirements.txt
COPY facecore/ facecore/
COPY app/ app/
RUN pip install --no-deps .

# ---------------------------------------------------------------------------------------
# serve-cpu: the slim serving image (default target, last stage of this file's CPU chain).
FROM python-base AS serve-cpu
ARG MODEL_DIR=models/dlib-resnet-v1
COPY --from=serve-deps /opt/venv /opt/venv
COPY --chown=faceverify:faceverify ${MODEL_DIR}/ /srv/faceverify/model/
ENV FACEVERIFY_HOST=0.0.0.0 \
    FACEVERIFY_PORT=8000 \
    FACEVERIFY_MODEL_PATH=/srv/faceverify/model \
    FACEVERIFY_DATA_DIR=/srv/faceverify/data \
    FACEVERIFY_BACKEND=onnx \
    FACEVERIFY_DEVICE=cpu
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FACEVERIFY_PORT', '8000') + '/ready', timeout=4)"]
CMD ["python", "-m", "app"]

# ---------------------------------------------------------------------------------------
# serve-gpu: ONNX Runtime with the CUDA execution provider. The CUDA/cuDNN libraries come
# from the nvidia/cuda base (CUDA_IMAGE must match onnxruntime-gpu: CUDA 12.x, cuDNN 9).
FROM ${CUDA_IMAGE} AS serve-gpu
ARG MODEL_DIR=models/dlib-resnet-v1
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH}
# Versions come from the pinned base image's distribution release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && useradd --system --uid 10001 --user-group --home-dir /srv/faceverify \
       --shell /usr/sbin/nologin faceverify \
    && install -d -o faceverify -g faceverify /srv/faceverify /srv/faceverify/data
WORKDIR /build
COPY pyproject.toml README.md ./
COPY scripts/requirements_from_pyproject.py scripts/
RUN python scripts/requirements_from_pyproject.py --gpu > requirements.txt \
    && pip install -r requirements.txt
COPY facecore/ facecore/
COPY app/ app/
RUN pip install --no-deps . && rm -rf /build
WORKDIR /srv/faceverify
COPY --chown=faceverify:faceverify ${MODEL_DIR}/ /srv/faceverify/model/
ENV FACEVERIFY_HOST=0.0.0.0 \
    FACEVERIFY_PORT=8000 \
    FACEVERIFY_MODEL_PATH=/srv/faceverify/model \
    FACEVERIFY_DATA_DIR=/srv/faceverify/data \
    FACEVERIFY_BACKEND=onnx \
    FACEVERIFY_DEVICE=gpu
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FACEVERIFY_PORT', '8000') + '/ready', timeout=4)"]
CMD ["python", "-m", "app"]

# ---------------------------------------------------------------------------------------
# train: prepare / train / evaluate / export. TRAIN_GPU=1 installs tensorflow[and-cuda]
# (CUDA libraries from PyPI wheels, so the same Debian base works with the NVIDIA runtime).
FROM python-base AS train
ARG TRAIN_GPU=0
WORKDIR /build
COPY pyproject.toml README.md ./
COPY scripts/requirements_from_pyproject.py scripts/
RUN if [ "${TRAIN_GPU}" = "1" ]; then gpu_flag=--gpu; else gpu_flag=; fi \
    && python scripts/requirements_from_pyproject.py --extras train ${gpu_flag} > requirements.txt \
    && pip install -r requirements.txt
COPY facecore/ facecore/
COPY training/ training/
RUN pip install --no-deps . && rm -rf /build
WORKDIR /srv/faceverify
USER 10001:10001
ENTRYPOINT ["python", "-m", "training"]
CMD ["--help"]

# ---------------------------------------------------------------------------------------
# The default target: a plain `docker build .` gives the slim CPU serving image.
FROM serve-cpu AS default
