# The in-memory reference of the `ann` sweep: hnswlib (Debian's python3-hnswlib)
# on the same vectors, metric, m, ef_construction and ef_search values, queried
# one vector at a time on one thread, so that its time per query is what a
# graph search costs without pages, locks or a SQL statement around it.
import time

import numpy as np

SPACES = {"l2": "l2", "cosine": "cosine", "ip": "ip"}


def build(base, metric, m, ef_construction, threads=2):
    """Builds the index; returns (index, build seconds)."""
    import hnswlib
    idx = hnswlib.Index(space=SPACES[metric], dim=base.shape[1])
    t0 = time.perf_counter()
    idx.init_index(max_elements=base.shape[0], M=m, ef_construction=ef_construction, random_seed=100)
    idx.add_items(base, np.arange(base.shape[0]), num_threads=threads)
    return idx, time.perf_counter() - t0


def sweep_point(idx, queries, ef, k, min_time, rounds):
    """Per-query search at one ef: (result ids per query, QPS per round)."""
    idx.set_ef(max(ef, k))
    idx.set_num_threads(1)
    ids = [idx.knn_query(q, k=k)[0][0].tolist() for q in queries]
    slot = min_time / max(rounds, 1)
    qps = []
    for _ in range(max(rounds, 1)):
        done, t0 = 0, time.perf_counter()
        while True:
            for q in queries:
                idx.knn_query(q, k=k)
            done += len(queries)
            el = time.perf_counter() - t0
            if el >= slot:
                break
        qps.append(done / el)
    return ids, qps
