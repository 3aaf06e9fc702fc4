-- Cost reports (gateway/accounting/reports.py) aggregate the ledger directly; no rollup table.
--
-- Measured before choosing (1,000,000 rows over 92 days, one month = ~330k rows, 2-core machine shared with
-- other work, warm cache; evals/bench_costs.py re-measures every group_by):
--   month grouped by model, plain GROUP BY over the btree `ledger_ts`, parallel    ~150-200 ms
--   same with GROUPING SETS for the totals (no parallel plan)                       ~300-450 ms
--   covering index (ts) INCLUDE (group columns, tokens, cost)                       ~10% faster, and a second
--                                                                                   copy of the table to write
--   hourly rollup (hour, key, team, model, target, provider, rule)                  slower than the ledger: at
--                                                                                   this density almost every
--                                                                                   row is its own bucket
--   daily rollup, same dimensions                                                   ~20 ms
-- The plain scan meets the 500 ms goal with room. A rollup would put a trigger, row locks contended by every
-- replica's flush, and deadlock-ordering care on the ledger's write path, and ranges that do not start on a
-- bucket would still need raw rows at the edges; it is the next step if a month outgrows the scan.
-- `ledger_ts` (0001) serves the time range, `ledger_key_ts` the key filter; this adds the team filter's.
CREATE INDEX IF NOT EXISTS ledger_team_ts ON ledger (team, ts);

-- Without statistics on the UTC-day expression the planner guesses one group per row and picks a serial
-- plan (~350 ms); with them it aggregates in parallel (~175 ms). Must match GROUPS["day"] in reports.py.
CREATE STATISTICS IF NOT EXISTS ledger_utc_day
    ON (date_bin('1 day', ts, timestamptz '2000-01-01 00:00:00+00')) FROM ledger;
