"""The download queue: several downloads in order on a worker thread, cancel, failures."""

from __future__ import annotations

import threading

from conftest import HostedRepo, TestHub, gguf_bytes

from chatdesk.hub.download import Downloader
from chatdesk.hub.queue import DownloadJob, DownloadQueue, JobState

Q4 = "tiny-chat-Q4_K_M.gguf"
Q8 = "tiny-chat-Q8_0.gguf"


def make_queue() -> tuple[DownloadQueue, list[DownloadJob]]:
    queue = DownloadQueue(Downloader(stall_timeout=2.0, max_retries=1, retry_delay=0.01))
    events: list[DownloadJob] = []
    queue.subscribe(events.append)
    return queue, events


def test_queued_downloads_run_one_after_another(small_repo: HostedRepo) -> None:
    queue, events = make_queue()
    try:
        first = queue.add(small_repo.repo_id, Q4)
        second = queue.add(small_repo.repo_id, Q8)
        assert queue.wait(timeout=20)
    finally:
        queue.close()

    jobs = {job.id: job for job in queue.jobs()}
    assert jobs[first.id].state == JobState.DONE
    assert jobs[second.id].state == JobState.DONE
    assert jobs[second.id].path is not None
    assert jobs[second.id].path.read_bytes() == small_repo.files[Q8]
    running = [e.id for e in events if e.state == JobState.RUNNING and e.downloaded == 0]
    assert running[0] == first.id
    done_order = [e.id for e in events if e.state == JobState.DONE]
    assert done_order == [first.id, second.id]


def test_adding_the_same_file_twice_gives_the_same_job(small_repo: HostedRepo) -> None:
    queue, _ = make_queue()
    try:
        first = queue.add(small_repo.repo_id, Q4)
        again = queue.add(small_repo.repo_id, Q4)
        assert queue.wait(timeout=20)
    finally:
        queue.close()
    assert first.id == again.id
    assert len(queue.jobs()) == 1


def test_failures_are_reported_and_the_queue_goes_on(
    small_repo: HostedRepo, online_hub: TestHub
) -> None:
    online_hub.add_repo(HostedRepo("x/Other-GGUF", {"o-Q4_0.gguf": gguf_bytes(1000)}))
    queue, _ = make_queue()
    try:
        missing = queue.add(small_repo.repo_id, "no-such-Q4_0.gguf")
        good = queue.add("x/Other-GGUF", "o-Q4_0.gguf")
        assert queue.wait(timeout=20)
    finally:
        queue.close()
    jobs = {job.id: job for job in queue.jobs()}
    assert jobs[missing.id].state == JobState.FAILED
    assert "no GGUF file named" in (jobs[missing.id].error or "")
    assert jobs[good.id].state == JobState.DONE


def test_cancel_stops_a_running_download(small_repo: HostedRepo, online_hub: TestHub) -> None:
    online_hub.faults.stall_seconds[Q8] = 0.5  # keep the job busy long enough to cancel
    queue, events = make_queue()
    started = threading.Event()
    queue.subscribe(lambda job: started.set() if job.state == JobState.RUNNING else None)
    try:
        job = queue.add(small_repo.repo_id, Q8)
        queued = queue.add(small_repo.repo_id, Q4)
        assert started.wait(10)
        queue.cancel(queued.id)
        queue.cancel(job.id)
        assert queue.wait(timeout=20)
    finally:
        queue.close()
    states = {j.id: j.state for j in queue.jobs()}
    assert states == {job.id: JobState.CANCELLED, queued.id: JobState.CANCELLED}
    assert not any(e.state == JobState.DONE for e in events)
