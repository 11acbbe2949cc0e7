"""Runs on this machine's cores that stop at once when interrupted.

Workers ignore Ctrl-C: the terminal sends SIGINT to the whole process group, and a worker that raised
KeyboardInterrupt would print its own traceback. The parent alone handles it: it cancels what has not
started and terminates the workers, so Ctrl-C returns within a second instead of waiting for the
variants in flight (ProcessPoolExecutor's own exit waits for them).
"""

import os
import signal
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_all_start_methods, get_context


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _outcome(future):
    try:
        return future.result(), None
    except Exception as exc:  # the task's own failure: reported with it, the others go on
        return None, exc


def run_tasks(
    fn: Callable[..., object],
    tasks: Iterable[tuple[Hashable, tuple]],
    workers: int | None,
    on_result: Callable[[Hashable, object, Exception | None], None],
) -> None:
    """Call fn(*args) for each (key, args) in tasks on up to `workers` processes (in this process when 1);
    on_result(key, result, error) as each finishes, error the exception a task raised (result None)."""
    tasks = list(tasks)
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    if workers == 1:
        for key, args in tasks:
            try:
                result = fn(*args)
            except Exception as exc:
                on_result(key, None, exc)
                continue
            on_result(key, result, None)
        return
    # fork shares the parent's compiled kernels; where there is none (Windows), the default start method
    context = get_context("fork") if "fork" in get_all_start_methods() else None
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_sigint)
    try:
        futures = {pool.submit(fn, *args): key for key, args in tasks}
        for future in as_completed(futures):
            on_result(futures[future], *_outcome(future))
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _stop(pool):
    """Cancel what has not started and end the workers now (their partial work is thrown away)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # private, but the only handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        if process.is_alive():
            process.terminate()
    for process in workers:
        process.join(timeout=2.0)
