CREATE TABLE things (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    flag       BOOLEAN NOT NULL,
    data       BYTEA,
    made_at    TIMESTAMPTZ NOT NULL,
    gone_at    TIMESTAMPTZ,
    CONSTRAINT things_name_key UNIQUE (name)
);
CREATE INDEX things_made_at ON things (made_at);
