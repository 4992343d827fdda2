// PostgreSQL twin of store/migrations/0010-device-search.ts: hostname substring search at fleet scale. pg_trgm's GIN
// index over lower(hostname COLLATE "C") (ASCII folding, as SQLite's lower) answers the LIKE the data layer runs on
// PostgreSQL (store/data/predicates.ts likeContains), so both stores find the same devices; PostgreSQL keeps the index
// in the row's own transaction, no triggers.
export const sql = `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX devices_hostname_trgm ON devices USING gin (lower(hostname COLLATE "C") gin_trgm_ops);
`;
