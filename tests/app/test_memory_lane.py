"""The memory budget's lane for small holders (app.inference.memory_budget): large bodies and
decodes together never take its last ``lane`` bytes, so an ordinary request finds room (issue
41)."""

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hostile_requests import verify_files
from PIL import Image

from app.inference.memory_budget import SMALL_HOLDER_BYTES, MemoryBudget, Reservation
from app.settings import MIB

SMALL = SMALL_HOLDER_BYTES


def budget() -> MemoryBudget:
    return MemoryBudget(256 * MIB, wait_s=0.05, lane=64 * MIB)


def test_a_large_holder_is_refused_at_capacity_less_lane_while_a_small_one_fits():
    memory = budget()
    large = Reservation(memory)
    large.grow(192 * MIB)  # all that large holders may take
    assert (memory.in_use, memory.large_in_use) == (192 * MIB, 192 * MIB)
    assert not memory.try_reserve(MIB, held=SMALL + MIB)  # another large holder: no room
    assert not memory.try_reserve(SMALL + MIB, held=0)
    smalls = [Reservation(memory) for _ in range(2)]
    for small in smalls:
        small.grow(SMALL)  # the lane: 64 MiB
    assert (memory.in_use, memory.large_in_use) == (256 * MIB, 192 * MIB)
    assert not memory.try_reserve(1, held=0)  # the capacity still bounds everything
    for small in smalls:
        small.release()
    assert (memory.in_use, memory.large_in_use) == (192 * MIB, 192 * MIB)
    large.release()
    assert (memory.in_use, memory.large_in_use) == (0, 0)


def test_a_holder_crossing_the_threshold_moves_its_bytes_to_the_large_pool():
    memory = budget()
    holder = Reservation(memory)
    holder.grow(SMALL)
    assert memory.large_in_use == 0  # at the threshold: still small
    holder.grow(1)
    assert memory.large_in_use == SMALL + 1  # all its bytes, not only the one over
    holder.grow(100 * MIB)
    assert memory.large_in_use == memory.in_use == SMALL + 1 + 100 * MIB


def test_a_small_holder_that_would_cross_needs_large_room():
    memory = budget()
    full = Reservation(memory)
    full.grow(192 * MIB - 16 * MIB)  # large room left: 16 MiB
    holder = Reservation(memory)
    holder.grow(20 * MIB)  # small: the lane
    with pytest.raises(Exception, match="had no room"):
        holder.grow(20 * MIB)  # 40 MiB would be large: 40 > 16
    assert (holder.held, memory.in_use) == (20 * MIB, 196 * MIB)
    full.shrink_to(100 * MIB)
    holder.grow(20 * MIB)
    assert memory.large_in_use == 140 * MIB


def test_shrink_and_release_return_bytes_to_the_right_pool():
    memory = budget()
    holder = Reservation(memory)
    holder.grow(100 * MIB)
    holder.shrink_to(50 * MIB)  # still large
    assert (memory.in_use, memory.large_in_use) == (50 * MIB, 50 * MIB)
    holder.shrink_to(10 * MIB)  # back under the threshold: small again
    assert (memory.in_use, memory.large_in_use) == (10 * MIB, 0)
    holder.grow(30 * MIB)
    assert memory.large_in_use == 40 * MIB
    holder.release()
    assert (memory.in_use, memory.large_in_use) == (0, 0)
    holder.release()  # idempotent
    assert (memory.in_use, memory.large_in_use) == (0, 0)


def test_a_body_announced_large_counts_as_large_until_it_is_shrunk():
    memory = budget()
    body = Reservation(memory, large=True)  # a declared 126 MiB upload
    body.grow(MIB)
    assert memory.large_in_use == MIB  # not in the lane, though it holds 1 MiB
    full = Reservation(memory)
    full.grow(191 * MIB)
    with pytest.raises(Exception, match="had no room"):
        body.grow(MIB)  # the lane is not for it
    body.grow(0)
    body.shrink_to(MIB // 2)  # parsed: its images' bytes, counted by size from now on
    assert (memory.in_use, memory.large_in_use) == (191 * MIB + MIB // 2, 191 * MIB)
    body.grow(MIB)  # small now: the lane
    full.release()
    body.release()
    assert (memory.in_use, memory.large_in_use) == (0, 0)


def test_bytes_without_a_holder_are_bounded_by_the_capacity_alone():
    memory = budget()
    assert memory.try_reserve(250 * MIB)
    assert memory.large_in_use == 0
    assert not memory.try_reserve(7 * MIB)
    memory.release(250 * MIB)
    assert (memory.in_use, memory.large_in_use) == (0, 0)


def test_settings_keep_the_lane_and_a_64_mib_decode_beside_the_largest_request(
    make_settings,
):
    settings = make_settings()
    assert settings.memory_lane_bytes == 64 * MIB  # 256 MiB budget, 16 x 8 MiB images
    assert settings.decode_budget_bytes == 64 * MIB  # 256 - 64 - 128


@pytest.mark.parametrize("mode", ["thread", "process"])  # process: asked of the server
def test_an_ordinary_verify_finds_room_while_large_holders_fill_their_share(make_client, mode):
    client = make_client(memory_wait_s=1.0, preprocess_mode=mode)
    memory = client.app.state.memory_budget
    hog = Reservation(memory)
    hog.grow(memory.capacity - memory.lane)  # a large body or decode holding all it may
    try:
        assert not memory.try_reserve(MIB, held=hog.held)  # it cannot take the lane
        assert not memory.try_reserve(SMALL + 1, held=0)  # nor can another large holder
        response = client.post("/verify", files=verify_files())
        assert response.status_code == 200, response.text
        assert "verified" in response.json()
    finally:
        hog.release()
    deadline = time.monotonic() + 5
    while memory.in_use and time.monotonic() < deadline:  # work of answered requests ends
        time.sleep(0.02)
    assert (memory.in_use, memory.large_in_use) == (0, 0)


def large_png() -> bytes:
    """A 3000 x 3000 PNG: its decode reserves ~90 MiB, a large holder's bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 3000), (120, 110, 100)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_decode_waiting_for_memory_holds_no_worker(make_client, mode):
    """Price, reserve, then a worker: with the large pool held and a large decode waiting for
    it, an ordinary /verify is prepared on the only worker. (Before, the waiting decode held
    the worker until its wait ran out.)"""
    client = make_client(memory_wait_s=30.0, preprocess_mode=mode, preprocess_workers=1)
    memory = client.app.state.memory_budget
    hog = Reservation(memory)
    hog.grow(memory.capacity - memory.lane)  # the large pool, all of it
    with ThreadPoolExecutor(1) as pool:
        try:
            large = pool.submit(client.post, "/embed", files=[("images", ("l.png", large_png()))])
            deadline = time.monotonic() + 30
            while not memory._async_waiters:  # the large decode waits for room
                assert time.monotonic() < deadline and not large.done(), "it never waited"
                time.sleep(0.01)
            response = client.post("/verify", files=verify_files())
            assert response.status_code == 200, response.text
            assert "verified" in response.json()
            assert not large.done()  # still waiting for memory, not for the worker
        finally:
            hog.release()
        answer = large.result(timeout=60)
    assert answer.status_code == 200, answer.text  # decoded once the room came
    error = answer.json()["results"][0].get("error", {})
    assert error.get("code") not in ("server_busy", "image_too_large")
    deadline = time.monotonic() + 5
    while memory.in_use and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (memory.in_use, memory.large_in_use) == (0, 0)
