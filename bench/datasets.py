# Dataset readers and exact ground truth for the vecann benchmarks (bench/run.py).
# Reads TEXMEX .fvecs/.ivecs/.bvecs files from ../shared/data (relative to the repo),
# the Fashion-MNIST IDX files installed by Debian's dataset-fashion-mnist package,
# and generates seeded random sets. Exact neighbours are computed by brute force
# with numpy and cached on disk outside the repository.

import gzip
import hashlib
import os
import struct
import sys
from dataclasses import dataclass, field

import numpy as np

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.environ.get("VECANN_DATA_DIR",
                          os.path.normpath(os.path.join(REPO_DIR, "..", "shared", "data")))
FASHION_DIR = os.environ.get("VECANN_FASHION_DIR", "/usr/share/datasets/fashion-mnist")
CACHE_DIR = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                         "vecann-bench")

METRICS = ("l2", "cosine", "ip")
GT_K = 100


# ----------------------------------------------------------------------------- readers

def _read_xvecs(path, value_dtype, limit=None):
    """Generic TEXMEX reader: per row an int32 dimension then `dim` values."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 4:
        raise ValueError(f"{path}: empty file")
    dim = int(raw[:4].view("<i4")[0])
    vsize = np.dtype(value_dtype).itemsize
    row_bytes = 4 + dim * vsize
    if raw.size % row_bytes:
        raise ValueError(f"{path}: size {raw.size} is not a multiple of row size {row_bytes}")
    n = raw.size // row_bytes
    if limit is not None:
        n = min(n, limit)
    rows = raw[: n * row_bytes].reshape(n, row_bytes)
    dims = rows[:, :4].copy().view("<i4").ravel()
    if not np.all(dims == dim):
        raise ValueError(f"{path}: rows of varying dimension")
    return rows[:, 4:].copy().view(np.dtype(value_dtype).newbyteorder("<")).reshape(n, dim)


def read_fvecs(path, limit=None):
    return _read_xvecs(path, np.float32, limit).astype(np.float32, copy=False)


def read_ivecs(path, limit=None):
    return _read_xvecs(path, np.int32, limit).astype(np.int32, copy=False)


def read_bvecs(path, limit=None):
    return _read_xvecs(path, np.uint8, limit)


def read_idx_images(path, limit=None):
    """IDX (MNIST format, optionally gzip) unsigned-byte tensor -> (n, prod(dims)) uint8."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = f.read(4)
        if len(magic) != 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08:
            raise ValueError(f"{path}: not an unsigned-byte IDX file")
        ndim = magic[3]
        shape = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        n = shape[0]
        per = int(np.prod(shape[1:])) if ndim > 1 else 1
        if limit is not None:
            n = min(n, limit)
        data = f.read(n * per)
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size != n * per:
        raise ValueError(f"{path}: truncated")
    return arr.reshape(n, per)


# ----------------------------------------------------------------------------- datasets

@dataclass
class Dataset:
    name: str                 # cache key and table-name stem
    base: np.ndarray          # (n, d) float32
    queries: np.ndarray       # (nq, d) float32
    metric: str = "l2"        # the metric the dataset is meant for
    source: str = ""
    provided_gt: np.ndarray = field(default=None, repr=False)  # (nq, k) int32, L2, if shipped

    @property
    def n(self):
        return self.base.shape[0]

    @property
    def dim(self):
        return self.base.shape[1]


def _texmex(name, base_file, query_file, gt_file, rows, reader=read_fvecs):
    folder = os.path.join(DATA_DIR, name)
    base = reader(os.path.join(folder, base_file)).astype(np.float32, copy=False)
    queries = reader(os.path.join(folder, query_file)).astype(np.float32, copy=False)
    gt = None
    if rows is not None and rows < base.shape[0]:
        base = base[:rows]
        name = f"{name}-{rows}"
    else:
        gt_path = os.path.join(folder, gt_file)
        if os.path.exists(gt_path):
            gt = read_ivecs(gt_path)
    return Dataset(name, base, queries, "l2", source=folder, provided_gt=gt)


def random_dataset(n, dim, nq=1000, seed=42):
    """Uniform [0,1) float32 vectors, seeded; queries from the same distribution."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, dim), dtype=np.float32)
    queries = np.random.default_rng(seed + 1).random((nq, dim), dtype=np.float32)
    return Dataset(f"random-{n}x{dim}-s{seed}", base, queries, "l2",
                   source=f"numpy default_rng({seed}) uniform [0,1)")


def clusters_dataset(n, dim, nq=1000, seed=42, k=200):
    """Gaussian clusters around zero, like model embeddings (both signs, so that
    binary quantization means something): k centres N(0, 1), points centre +
    N(0, 0.5^2); queries drawn the same way. Seeded."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)).astype(np.float32)
    base = centres[rng.integers(0, k, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    qrng = np.random.default_rng(seed + 1)
    queries = centres[qrng.integers(0, k, nq)] + 0.5 * qrng.standard_normal((nq, dim)).astype(np.float32)
    return Dataset(f"clusters-{n}x{dim}-s{seed}", base.astype(np.float32), queries.astype(np.float32), "l2",
                   source=f"numpy default_rng({seed}): {k} N(0,1) centres + N(0,0.25) noise")


def fashion_mnist(rows=None):
    train = os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")
    test = os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(train):
        raise FileNotFoundError(
            f"{train} not found: install it with `apt-get install -y dataset-fashion-mnist`")
    base = read_idx_images(train).astype(np.float32)
    queries = read_idx_images(test).astype(np.float32)
    name = "fashion-mnist"
    if rows is not None and rows < base.shape[0]:
        base = base[:rows]
        name = f"fashion-mnist-{rows}"
    return Dataset(name, base, queries, "l2", source=FASHION_DIR)


DATASETS = ("siftsmall", "bigann10k", "fashion-mnist", "random", "clusters")


def load(name, rows=None, dim=128, nq=1000, seed=42):
    """Load a dataset by name. `rows` limits the base set (random: its size)."""
    if name == "siftsmall":
        return _texmex("siftsmall", "siftsmall_base.fvecs", "siftsmall_query.fvecs",
                       "siftsmall_groundtruth.ivecs", rows)
    if name == "bigann10k":
        return _texmex("bigann10k", "bigann10k_base.fvecs", "bigann10k_query.fvecs",
                       "bigann10k_groundtruth.ivecs", rows)
    if name == "fashion-mnist":
        return fashion_mnist(rows)
    if name == "random":
        return random_dataset(rows or 100000, dim, nq, seed)
    if name == "clusters":
        return clusters_dataset(rows or 20000, dim, nq, seed)
    raise ValueError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")


# ----------------------------------------------------------------------------- exact search

def _prepare(x, metric):
    x = np.asarray(x, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        x = x / norms
    return x


def distances(base, queries, ids, metric):
    """Exact distances (float64) from each query to base[ids[i]]; ids (nq, k), -1 = missing.
    l2: squared Euclidean; cosine: 1 - cos; ip: -<q, x> (all: smaller is nearer)."""
    ids = np.asarray(ids)
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    q = _prepare(queries, metric)
    out = np.empty(ids.shape, dtype=np.float64)
    for i in range(ids.shape[0]):
        x = _prepare(base[safe[i]], metric)
        if metric == "l2":
            diff = x - q[i]
            out[i] = np.einsum("ij,ij->i", diff, diff)
        elif metric == "cosine":
            out[i] = 1.0 - x @ q[i]
        else:
            out[i] = -(x @ q[i])
    out[~valid] = np.inf
    return out


def brute_force(base, queries, k=GT_K, metric="l2", chunk_rows=None, verbose=True):
    """Exact top-k neighbour ids (int32) and distances (float64) by brute force.
    Scans the base in chunks, keeps a running top-k per query, then recomputes the
    final distances directly (not via the |a|^2-2ab+|b|^2 expansion) and re-sorts,
    so ties and near-ties are ordered by the exact float64 distance."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    n, d = base.shape
    k = min(k, n)
    nq = queries.shape[0]
    # candidate pass in float32 (much faster without an optimised BLAS); the final
    # ranking below is recomputed exactly in float64
    q = _prepare(queries, metric).astype(np.float32)
    qn = np.einsum("ij,ij->i", q, q) if metric == "l2" else None
    if chunk_rows is None:
        # keep the (nq x chunk) score matrices around 256 MB
        chunk_rows = max(1000, min(n, (256 << 20) // (8 * max(nq, 1))))
    best_d = np.full((nq, k), np.inf)
    best_i = np.full((nq, k), -1, dtype=np.int64)
    for start in range(0, n, chunk_rows):
        x = _prepare(base[start:start + chunk_rows], metric).astype(np.float32)
        dots = q @ x.T
        if metric == "l2":
            xn = np.einsum("ij,ij->i", x, x)
            dist = qn[:, None] - 2.0 * dots + xn[None, :]
        elif metric == "cosine":
            dist = 1.0 - dots
        else:
            dist = -dots
        cand_d = np.concatenate([best_d, dist], axis=1)
        cand_i = np.concatenate(
            [best_i, np.broadcast_to(np.arange(start, start + x.shape[0]), dist.shape)], axis=1)
        # keep a few extra candidates beyond k so that rounding in the expansion cannot
        # drop a true neighbour before the exact re-ranking below
        keep = min(cand_d.shape[1], k + 16)
        part = np.argpartition(cand_d, keep - 1, axis=1)[:, :keep]
        best_d = np.take_along_axis(cand_d, part, axis=1)
        best_i = np.take_along_axis(cand_i, part, axis=1)
        if verbose:
            sys.stderr.write(f"\r  ground truth: {min(start + chunk_rows, n)}/{n} base rows")
            sys.stderr.flush()
    if verbose:
        sys.stderr.write("\n")
    exact = distances(base, queries, best_i, metric)
    order = np.argsort(exact, axis=1, kind="stable")
    best_i = np.take_along_axis(best_i, order, axis=1)[:, :k]
    exact = np.take_along_axis(exact, order, axis=1)[:, :k]
    return best_i.astype(np.int32), exact


def _digest(arr):
    h = hashlib.sha1()
    h.update(str(arr.shape).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:12]


def ground_truth(ds, metric="l2", k=GT_K, verbose=True):
    """Exact top-k (ids, distances) for all queries of `ds`, cached under CACHE_DIR by
    dataset name, metric, and a digest of the base and query data."""
    key = f"{ds.name}-{metric}-k{k}-{_digest(ds.base)}-{_digest(ds.queries)}"
    path = os.path.join(CACHE_DIR, f"gt-{key}.npz")
    if os.path.exists(path):
        with np.load(path) as z:
            return z["ids"], z["dist"]
    if verbose:
        print(f"computing exact ground truth for {ds.name} ({ds.n} x {ds.dim}, "
              f"{ds.queries.shape[0]} queries, {metric}); cache: {path}", flush=True)
    ids, dist = brute_force(ds.base, ds.queries, k, metric, verbose=verbose)
    os.makedirs(CACHE_DIR, exist_ok=True)
    tmp = path + f".tmp{os.getpid()}.npz"
    np.savez(tmp, ids=ids, dist=dist)
    os.replace(tmp, path)
    return ids, dist


def recall_at(k, result_ids, gt_ids, gt_dist=None, base=None, queries=None, metric="l2",
              per_query=False):
    """Mean recall@k over queries. Returns (id_recall, tie_recall): id_recall counts
    returned ids that are among the k true nearest ids; tie_recall (when distances are
    available) counts returned ids whose exact distance is no larger than the k-th true
    distance (ann-benchmarks style, insensitive to how ties are broken)."""
    nq = len(result_ids)
    hits = 0
    for i, res in enumerate(result_ids):
        hits += len(set(res[:k]) & set(gt_ids[i, :k].tolist()))
    id_recall = hits / (nq * k)
    if gt_dist is None or base is None:
        return (id_recall, None, None) if per_query else (id_recall, None)
    padded = np.full((nq, k), -1, dtype=np.int64)
    for i, res in enumerate(result_ids):
        res = list(res[:k])
        padded[i, :len(res)] = res
    d = distances(base, queries[:nq], padded, metric)
    thresh = gt_dist[:nq, k - 1]
    eps = 1e-5 * np.maximum(1.0, np.abs(thresh))  # float32 arithmetic in the server
    hits_q = np.sum(d <= (thresh + eps)[:, None], axis=1)
    tie_recall = float(hits_q.sum()) / (nq * k)
    if per_query:
        return id_recall, tie_recall, hits_q / k
    return id_recall, tie_recall


if __name__ == "__main__":
    # quick self-check: python3 bench/datasets.py [dataset]
    name = sys.argv[1] if len(sys.argv) > 1 else "siftsmall"
    ds = load(name)
    print(ds.name, ds.base.shape, ds.queries.shape, ds.source)
    ids, dist = ground_truth(ds, "l2")
    if ds.provided_gt is not None:
        agree = np.mean([len(set(ids[i, :10]) & set(ds.provided_gt[i, :10])) / 10
                         for i in range(len(ids))])
        print(f"agreement with shipped ground truth (top 10): {agree:.4f}")
