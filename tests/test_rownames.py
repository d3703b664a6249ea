"""Row names kept per block (svcplan.formulation.rownames): the same sequence as one
``(kind, index)`` tuple per row, with positions, kinds and subsets."""

from __future__ import annotations

import numpy as np
import pytest

from svcplan.formulation.rownames import RowNames
from svcplan.formulation.rows import RowKind

KINDS = [RowKind.ASSIGN, RowKind.GOODWILL, RowKind.BUDGET, RowKind.TOTAL_BUDGET]
INDEXES = [range(5), [(0, 1), (0, 2), (3, 1)], [0, 2, 7], [None]]
PLAIN = tuple((k, i) for k, idx in zip(KINDS, INDEXES, strict=True) for i in idx)


def test_the_names_are_the_tuple_they_replace():
    names = RowNames(KINDS, INDEXES)
    assert len(names) == len(PLAIN) == 12
    assert names == PLAIN and tuple(names) == PLAIN
    assert [names[k] for k in range(-12, 12)] == list(PLAIN) * 2
    with pytest.raises(IndexError):
        names[12]
    assert names[3:7] == PLAIN[3:7]


def test_positions_kinds_and_subsets():
    names = RowNames(KINDS, INDEXES)
    for k, key in enumerate(PLAIN):
        assert names.position(key) == k
    with pytest.raises(KeyError):
        names.position((RowKind.BUDGET, 1))
    assert names.of_kinds({RowKind.BUDGET, RowKind.TOTAL_BUDGET}).tolist() == [8, 9, 10, 11]
    pick = np.array([11, 0, 1, 2, 6, 8, 10, 4])
    sub = names.take(pick)
    assert sub == tuple(PLAIN[k] for k in pick)
    assert sub.of_kinds({RowKind.ASSIGN}).tolist() == [1, 2, 3, 7]
    assert names.take(np.zeros(0, dtype=int)) == ()
