CREATE TABLE things (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    flag       BOOLEAN NOT NULL,
    data       BLOB,
    made_at    TIMESTAMP NOT NULL,
    gone_at    TIMESTAMP
);
CREATE INDEX things_made_at ON things (made_at);
