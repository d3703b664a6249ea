"""Rank 7 — what-if: scenarios, batches (local or Dask), the batch summary and the budget frontier."""
