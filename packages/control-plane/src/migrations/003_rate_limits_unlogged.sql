-- Rate-limit counters are written by every client request. As an unlogged table they write no WAL,
-- so PostgreSQL commits the authentication statement without waiting for a WAL flush. The price: after
-- a PostgreSQL crash (not a clean restart) the table comes back empty and standbys never hold it,
-- i.e. the current minute's limits start over. Nothing billed or stored for users lives here.
ALTER TABLE rate_limit_counters SET UNLOGGED;
