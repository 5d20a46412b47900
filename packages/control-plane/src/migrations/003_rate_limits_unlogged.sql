-- Rate-limit counters are written by every client request. As an unlogged table they write no WAL,
-- so the authentication statement commits without waiting for a WAL flush to disk. The price: after
-- a PostgreSQL crash (not a clean restart) the table comes back empty and standbys never hold it,
-- i.e. the current minute's limits start over. Nothing billed or stored for users lives here.
ALTER TABLE rate_limit_counters SET UNLOGGED;
