"""A pool of worker processes speaking JSON lines over pipes (no pickle crosses a process).

The parent writes one JSON config line, then one JSON job per line; a worker answers
each job with a line starting with RESULT_PREFIX (anything else it prints is passed
to stderr). A worker that dies hands its unfinished jobs back to the others, once.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

RESULT_PREFIX = "@@RESULT "


class WorkerPool:
    def __init__(self, argv: Sequence[str], n: int, config: dict, env: dict | None = None):
        self.argv, self.n, self.config, self.env = list(argv), n, config, env

    def map(self, jobs: Sequence[dict], on_result: Callable[[dict], None], on_lost: Callable[[dict, str], dict]) -> None:
        """Run every job; ``on_result(result)`` per answer (from worker threads, serialised by a lock).
        A job lost twice to dying workers becomes ``on_lost(job, reason)``."""
        todo: queue.Queue = queue.Queue()
        for j in jobs:
            todo.put((j, 0))
        lock = threading.Lock()
        remaining = [len(jobs)]

        def finish(result: dict) -> None:
            with lock:
                on_result(result)
                remaining[0] -= 1

        def serve() -> bool:
            """One worker process until the queue is drained (True) or it dies (False)."""
            proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    env=self.env, bufsize=1)
            assert proc.stdin and proc.stdout
            try:
                try:
                    proc.stdin.write(json.dumps(self.config) + "\n")
                except OSError:  # died on start-up: the caller starts another
                    return False
                while True:
                    with lock:
                        if remaining[0] <= 0:
                            return True
                    try:
                        job, tries = todo.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    try:
                        proc.stdin.write(json.dumps(job) + "\n")
                        proc.stdin.flush()
                        result = None
                        for line in proc.stdout:
                            if line.startswith(RESULT_PREFIX):
                                result = json.loads(line[len(RESULT_PREFIX):])
                                break
                            sys.stderr.write(line)
                        if result is None:
                            raise RuntimeError(f"worker exited with code {proc.wait()}")
                    except (OSError, RuntimeError, ValueError) as e:
                        if tries == 0:
                            todo.put((job, 1))
                        else:
                            finish(on_lost(job, str(e)))
                        return False
                    finish(result)
            finally:
                if proc.stdin and not proc.stdin.closed:
                    try:
                        proc.stdin.close()
                    except OSError:
                        pass
                if proc.poll() is None:
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                proc.stdout.close()

        def worker() -> None:
            while not serve():  # a dead worker is replaced; its job was re-queued
                pass

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
