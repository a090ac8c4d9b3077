-- The token that replaced a spent refresh token, sealed under a key only
-- the spent token's holder can derive (token.SealSuccessor): two requests
-- of one client that refresh with the same token at once, on two gateway
-- replicas, both get it within a few seconds instead of ending the session
-- as a stolen token's reuse would.
ALTER TABLE refresh_tokens ADD COLUMN successor BYTEA;
