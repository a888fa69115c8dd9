"""Load from client processes on the same machine: each runs `target(*args, queue)` and puts
(latencies in seconds, error count) on the queue when its time is up."""

import multiprocessing


def clients_run(target, args_per_client: list[tuple]) -> tuple[list[float], int]:
    """Start one process per args tuple, wait for all; every latency (sorted) and the errors."""
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=target, args=(*args, queue)) for args in args_per_client]
    for process in processes:
        process.start()
    latencies, errors = [], 0
    for _ in processes:
        got, failed = queue.get()
        latencies.extend(got)
        errors += failed
    for process in processes:
        process.join()
    latencies.sort()
    return latencies, errors
