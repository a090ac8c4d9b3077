-- Keyset pages of one tenant's accounts walk this index instead of the
-- primary key, which interleaves every tenant's rows.
CREATE INDEX accounts_tenant_id ON accounts (tenant_id, id);
