-- The partition guard checks each community a transaction touched, at
-- commit, with a few queries on that community's grids. Their cached
-- generic plans are made from the statistics of the moment, and after a
-- large build's ANALYZE (run inside the same transaction) PostgreSQL at
-- times chose a parallel sequential scan of the whole of unit_grids for
-- them: tens of milliseconds per community instead of a fraction of one,
-- which took the commit of a 41,000-grid district from 8 s to 100 s once
-- the table held a few hundred thousand grids. A community's grids are
-- always a handful read through the community index, so the check runs
-- with sequential scans and parallel workers off.

ALTER FUNCTION gridd_partition_problem(text, double precision) SET enable_seqscan = off;
ALTER FUNCTION gridd_partition_problem(text, double precision) SET max_parallel_workers_per_gather = 0;
