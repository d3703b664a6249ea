"""The names of a standard form's rows, ``(kind, index)``, kept per row block.

A tuple with one ``(kind, index)`` pair per row cost ~160 MB at 1M binaries (2.45M rows:
a tuple each, an int for most indexes), and the text of each row's kind another 170 MB —
more than the matrix itself (135 MB). :class:`RowNames` keeps one kind and one index
sequence per block (a ``range`` for the blocks indexed ``0..n-1``, the block's own list
otherwise) and makes a row's name when it is asked for. It is a read-only sequence equal
to the tuple it replaces.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .rows import RowKind


class RowNames(Sequence):
    """``(kind, index)`` of every row: block ``b`` names its rows ``(kinds[b], key)`` for
    each ``key`` of ``indexes[b]``, blocks one after another."""

    def __init__(self, kinds: Sequence[RowKind], indexes: Sequence[Sequence]):
        self._kinds = tuple(kinds)
        self._indexes = tuple(indexes)
        self._starts = np.r_[0, np.cumsum([len(i) for i in self._indexes])].astype(np.int64)

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, k):
        if isinstance(k, slice):
            return self.take(np.arange(len(self))[k])
        k = operator.index(k)
        n = len(self)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("row index out of range")
        b = int(np.searchsorted(self._starts, k, side="right")) - 1
        return self._kinds[b], self._indexes[b][k - int(self._starts[b])]

    def __iter__(self) -> Iterator[tuple]:
        for kind, index in zip(self._kinds, self._indexes, strict=True):
            for key in index:
                yield kind, key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # a sequence compared by value, like the tuple it stands for

    def __repr__(self) -> str:
        return f"RowNames({len(self)} rows in {len(self._kinds)} blocks)"

    def codes(self, kinds: Iterable[RowKind]) -> np.ndarray:
        """Per row: the position of its kind in ``kinds`` (−1: not there)."""
        where = {str(k): i for i, k in enumerate(kinds)}
        per_block = np.array([where.get(str(k), -1) for k in self._kinds], dtype=np.int16)
        return np.repeat(per_block, np.diff(self._starts))

    def of_kinds(self, kinds: Iterable[RowKind]) -> np.ndarray:
        """Positions of the rows whose kind is one of ``kinds``."""
        return np.flatnonzero(self.codes(list(kinds)) >= 0)

    def position(self, key: tuple) -> int:
        """The position of the row named ``key``; KeyError if there is none."""
        kind, want = key
        for b, (k, index) in enumerate(zip(self._kinds, self._indexes, strict=True)):
            if k != kind:
                continue
            try:
                return int(self._starts[b]) + index.index(want)
            except (ValueError, TypeError):
                continue
        raise KeyError(key)

    def take(self, positions: np.ndarray) -> RowNames:
        """The names of the rows at ``positions``, in that order, as their own blocks: a run
        of consecutive rows of one block keeps a slice of its index (a ``range`` stays a
        ``range``), other rows of a block get a list of their keys."""
        pos = np.asarray(positions, dtype=np.int64)
        if not len(pos):
            return RowNames((), ())
        block = np.searchsorted(self._starts, pos, side="right") - 1
        local = pos - self._starts[block]
        cut = np.flatnonzero(block[1:] != block[:-1]) + 1
        kinds, indexes = [], []
        for s, e in zip(np.r_[0, cut].tolist(), np.r_[cut, len(pos)].tolist(), strict=True):
            b, mine = int(block[s]), local[s:e]
            index = self._indexes[b]
            if np.all(np.diff(mine) == 1):
                indexes.append(index[int(mine[0]): int(mine[-1]) + 1])
            else:
                indexes.append([index[i] for i in mine.tolist()])
            kinds.append(self._kinds[b])
        return RowNames(kinds, indexes)
