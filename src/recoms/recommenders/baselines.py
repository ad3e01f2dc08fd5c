"""Reference recommenders the platform's algorithms are measured against (`recoms evaluate`).

Every baseline scores from what the query carries (its history and context items), never from a row
learned per user, so it serves users unseen at fit time alike. Each scores a whole batch of queries with
one matrix product (`BatchScorer.score_batch`); `recommend` is derived from it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recoms.recommenders.base import PURCHASE, Candidates, Interactions, Items, Query, Recommender

Scores = np.ndarray | sp.csr_matrix


class BatchScorer(Recommender):
    """A recommender whose batch of queries is one matrix product: rows are queries, columns items."""

    n_items: int = 0

    @abstractmethod
    def score_batch(self, queries: Sequence[Query]) -> Scores:
        """Dense scores (-inf: not a candidate), or sparse ones whose stored entries are the candidates."""

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        scores = self.score_batch(queries)
        if sp.issparse(scores):
            scores = sp.csr_matrix(scores)
            bounds = zip(scores.indptr[:-1], scores.indptr[1:], strict=True)
            return [(scores.indices[s:e].astype(np.int32), scores.data[s:e].astype(np.float32)) for s, e in bounds]
        out = []
        for row in scores:
            ids = np.flatnonzero(np.isfinite(row)).astype(np.int32)
            out.append((ids, row[ids].astype(np.float32)))
        return out


def profile_matrix(queries: Sequence[Query], n_items: int, purchases_only: bool = False) -> sp.csr_matrix:
    """Queries x items: how often each query's history (and context) holds each item."""
    if purchases_only:
        parts = [q.history_items[q.history_kinds == PURCHASE] for q in queries]
    else:
        parts = [np.concatenate([q.history_items, q.context]) for q in queries]
    lengths = np.fromiter((len(p) for p in parts), np.int64, len(parts))
    cols = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(parts)), lengths)
    keep = (cols >= 0) & (cols < n_items)
    m = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (rows[keep], cols[keep])), shape=(len(parts), n_items)
    )
    m.sum_duplicates()
    return m


def event_matrix(interactions: Interactions, binary: bool = False) -> sp.csr_matrix:
    """Users x items counting every event alike, whatever its kind (views, carts and purchases)."""
    kinds = np.unique(interactions.kind)
    return interactions.matrix({int(kind): 1.0 for kind in kinds}, binary=binary)


def top_neighbours(x: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Items x items: the n largest entries of each row of XᵀX, the item itself left out.

    implicit's native `all_pairs_knn` keeps a heap per row: never the whole item x item product in memory.
    """
    from implicit.nearest_neighbours import all_pairs_knn

    n_items = x.shape[1]
    if x.nnz == 0:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    found = all_pairs_knn(sp.csr_matrix(x, dtype=np.float64), n + 1, show_progress=False, num_threads=0).tocsr()
    found = sp.csr_matrix(found - sp.diags(found.diagonal()), dtype=np.float32)
    found.eliminate_zeros()
    found.resize((n_items, n_items))  # items after the last one with data have no neighbours
    return found


def _csr_state(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {f"{prefix}_indptr": m.indptr, f"{prefix}_indices": m.indices, f"{prefix}_data": m.data}


def _csr_load(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    indptr = arrays[f"{prefix}_indptr"]
    n = len(indptr) - 1
    return sp.csr_matrix((arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], indptr), shape=(n, n))


class Popularity(BatchScorer):
    """Everyone gets the items with the most events: the floor every algorithm must clear."""

    name = "popularity"

    def fit(self, interactions: Interactions, items: Items) -> Popularity:
        self.counts = np.bincount(interactions.item, minlength=interactions.n_items).astype(np.float32)
        self.n_items = interactions.n_items
        return self

    def score_batch(self, queries: Sequence[Query]) -> np.ndarray:
        return np.tile(self.counts, (len(queries), 1))

    def state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Popularity:
        self.counts = arrays["counts"]
        self.n_items = len(self.counts)
        return self


class UserFrequency(Popularity):
    """The user's own past purchases, most bought first, ties (and the rest) by popularity: repeat buying."""

    name = "user_frequency"

    def score_batch(self, queries: Sequence[Query]) -> np.ndarray:
        own = profile_matrix(queries, self.n_items, purchases_only=True).toarray().astype(np.float64)
        return own + self.counts / (self.counts.max(initial=0.0) + 1.0)  # popularity stays below one purchase


class ItemKNN(BatchScorer):
    """Item-item cosine on the binary user x item matrix, `neighbours` kept per item; score = summed similarity."""

    name = "itemknn"
    default_params: ClassVar[dict[str, Any]] = {"neighbours": 100}
    tuning_grid: ClassVar[list[dict[str, Any]]] = [{"neighbours": n} for n in (20, 50, 100, 200)]

    def fit(self, interactions: Interactions, items: Items) -> ItemKNN:
        x = event_matrix(interactions, binary=True)
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
        xn = sp.csr_matrix(x @ sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)))
        self.similarity = top_neighbours(xn, int(self.params["neighbours"]))
        self.n_items = interactions.n_items
        return self

    def score_batch(self, queries: Sequence[Query]) -> sp.csr_matrix:
        profile = profile_matrix(queries, self.n_items)
        profile.data[:] = 1.0
        return sp.csr_matrix(profile @ self.similarity)

    def state(self) -> dict[str, np.ndarray]:
        return _csr_state("similarity", self.similarity)

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> ItemKNN:
        self.similarity = _csr_load("similarity", arrays)
        self.n_items = self.similarity.shape[0]
        return self


class CooccurrenceCount(ItemKNN):
    """Raw co-occurrence: an item scores the number of baskets holding it with each context item."""

    name = "cooccurrence"
    default_params: ClassVar[dict[str, Any]] = {"neighbours": 500}
    tuning_grid: ClassVar[list[dict[str, Any]]] = []

    def fit(self, interactions: Interactions, items: Items) -> CooccurrenceCount:
        baskets = interactions.basket
        if (baskets >= 0).any():  # orders; without any, each user's history is one basket
            keep = baskets >= 0
            rows = np.unique(baskets[keep], return_inverse=True)[1]
            cols = interactions.item[keep]
        else:
            rows, cols = interactions.user, interactions.item
        n_rows = int(rows.max(initial=-1)) + 1
        x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_rows, interactions.n_items))
        x.sum_duplicates()
        x.data[:] = 1.0
        self.similarity = top_neighbours(x, int(self.params["neighbours"]))
        self.n_items = interactions.n_items
        return self


class EASE(BatchScorer):
    """Steck (2019): B = I - P/diag(P), P = (XᵀX + λI)⁻¹, on the `max_items` items with the most users.

    The inverse is dense (max_items² floats), so larger catalogues are restricted to their most frequent
    items; the others are no candidates.
    """

    name = "ease"
    default_params: ClassVar[dict[str, Any]] = {"l2": 500.0, "max_items": 20_000}
    tuning_grid: ClassVar[list[dict[str, Any]]] = [{"l2": v} for v in (50.0, 200.0, 500.0, 1000.0)]

    def fit(self, interactions: Interactions, items: Items) -> EASE:
        x = event_matrix(interactions, binary=True)
        users_per_item = np.asarray(x.sum(axis=0)).ravel()
        order = np.argsort(-users_per_item, kind="stable")
        kept = order[: int(self.params["max_items"])]
        self.kept = np.sort(kept[users_per_item[kept] > 0]).astype(np.int32)
        self.n_items = interactions.n_items
        active = int((users_per_item > 0).sum())
        self.note = f"{len(self.kept)} most frequent of {active} items" if len(self.kept) < active else ""
        xk = sp.csr_matrix(x[:, self.kept])
        dtype = np.float64 if len(self.kept) <= 8192 else np.float32  # float32 halves the big inverses
        gram = _gram(xk, dtype)
        gram[np.diag_indices_from(gram)] += float(self.params["l2"])
        p = _spd_inverse(gram)
        p /= -np.diag(p).copy()[None, :]
        np.fill_diagonal(p, 0.0)
        self.weights = p.astype(np.float32, copy=False)
        return self

    def score_batch(self, queries: Sequence[Query]) -> np.ndarray:
        profile = profile_matrix(queries, self.n_items)
        profile.data[:] = 1.0
        out = np.full((len(queries), self.n_items), -np.inf, np.float32)
        out[:, self.kept] = sp.csr_matrix(profile[:, self.kept]) @ self.weights
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"kept": self.kept, "weights": self.weights, "n_items": np.array([self.n_items])}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> EASE:
        self.kept, self.weights, self.n_items = arrays["kept"], arrays["weights"], int(arrays["n_items"][0])
        return self


def _gram(x: sp.csr_matrix, dtype: type) -> np.ndarray:
    """XᵀX as a dense matrix, a block of its rows at a time.

    Each block is a sparse product (most item pairs never meet: on a 100,000-product shop 2 % of the
    pairs of its 20,000 most frequent items), so the work follows the pairs that meet, and the memory a
    block's pairs, never every pair at once.
    """
    m = x.shape[1]
    gram = np.zeros((m, m), dtype)
    xt = sp.csr_matrix(x.T, dtype=dtype)
    xd = sp.csr_matrix(x, dtype=dtype)
    block = max(1, 2**24 // max(m, 1))
    for start in range(0, m, block):
        gram[start : start + block] = (xt[start : start + block] @ xd).toarray()
    return gram


def _spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky, in place (half the work of LU)."""
    potrf, potri = scipy.linalg.get_lapack_funcs(("potrf", "potri"), (a,))
    factor, info = potrf(a.T, lower=False, overwrite_a=True, clean=False)  # a.T: Fortran order, no copy
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix not positive definite (potrf info {info})")
    inv, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inversion failed (potri info {info})")
    inv = inv.T  # back to C order: the lower triangle holds the values
    for start in range(0, len(inv), 2048):  # mirror lower -> upper a block of rows at a time
        stop = start + 2048
        inv[start:stop, stop:] = inv[stop:, start:stop].T
        block = inv[start:stop, start:stop]
        block[np.triu_indices(len(block), 1)] = block.T[np.triu_indices(len(block), 1)]
    return inv


class _Factorization(BatchScorer):
    """implicit learns the item factors; a query's user factors are folded in from its history at scoring."""

    def fit(self, interactions: Interactions, items: Items) -> _Factorization:
        model = self._implicit_model()
        with threadpool_limits(1, "blas"):  # implicit's own threads do the work; nested BLAS threads thrash
            model.fit(event_matrix(interactions), show_progress=False)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.n_items = interactions.n_items
        self._solver: Any = None
        return self

    @abstractmethod
    def _implicit_model(self) -> Any: ...

    @abstractmethod
    def user_factors(self, profile: sp.csr_matrix) -> np.ndarray:
        """Queries x factors from the queries x items event counts."""

    def score_batch(self, queries: Sequence[Query]) -> np.ndarray:
        users = self.user_factors(profile_matrix(queries, self.n_items))
        with threadpool_limits(1, "blas"):
            return users @ self.item_factors.T

    def state(self) -> dict[str, np.ndarray]:
        return {"item_factors": self.item_factors}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> _Factorization:
        self.item_factors = arrays["item_factors"]
        self.n_items = len(self.item_factors)
        self._solver = None
        return self


class ALS(_Factorization):
    """implicit's AlternatingLeastSquares (Hu et al. 2008) on event counts, confidence = alpha x count.

    A query's user factors are exactly the ALS user step on its history: implicit's `recalculate_user`,
    one native least-squares solve per row for the whole batch.
    """

    name = "als"
    default_params: ClassVar[dict[str, Any]] = {
        "factors": 64, "regularization": 0.05, "iterations": 15, "alpha": 1.0, "seed": 0,
    }
    tuning_grid: ClassVar[list[dict[str, Any]]] = [
        {"factors": f, "regularization": r, "alpha": a} for f in (32, 64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0)
    ]

    def _implicit_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        return AlternatingLeastSquares(
            factors=int(p["factors"]), regularization=float(p["regularization"]), alpha=float(p["alpha"]),
            iterations=int(p["iterations"]), random_state=int(p["seed"]),
        )

    def user_factors(self, profile: sp.csr_matrix) -> np.ndarray:
        if self._solver is None:  # implicit's model around our item factors (caches their Gram matrix)
            self._solver = self._implicit_model()
            self._solver.factors = self.item_factors.shape[1]
            self._solver.item_factors = self.item_factors
        return self._solver.recalculate_user(np.arange(profile.shape[0]), profile)


class BPR(_Factorization):
    """implicit's BayesianPersonalizedRanking (Rendle et al. 2009): pairwise SGD on the observed items.

    BPR learns no way to place a new user, so a query's user vector is the mean of its history items'
    factors (with the bias term kept): on ML-100K this fold-in ranked better than BPR's own learned user
    factors, and better than a ridge regression of the history on the item factors.
    """

    name = "bpr"
    default_params: ClassVar[dict[str, Any]] = {
        "factors": 64, "learning_rate": 0.01, "regularization": 0.01, "iterations": 100, "seed": 0,
    }
    tuning_grid: ClassVar[list[dict[str, Any]]] = [
        {"factors": f, "learning_rate": lr, "iterations": it}
        for f in (64, 128) for lr in (0.01, 0.05) for it in (100, 300)
    ]

    def _implicit_model(self) -> Any:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        p = self.params
        return BayesianPersonalizedRanking(
            factors=int(p["factors"]), learning_rate=float(p["learning_rate"]),
            regularization=float(p["regularization"]), iterations=int(p["iterations"]), random_state=int(p["seed"]),
            num_threads=1,  # Hogwild SGD on several threads is not reproducible for a seed
        )

    def user_factors(self, profile: sp.csr_matrix) -> np.ndarray:
        binary = profile.copy()
        binary.data[:] = 1.0
        sizes = np.maximum(np.asarray(binary.sum(axis=1)), 1.0)
        users = np.asarray(binary @ self.item_factors[:, :-1]) / sizes
        return np.hstack([users, np.ones((len(users), 1))]).astype(np.float32)  # implicit keeps the bias last
