package sqlstore

// LoginLookup is the query of FindAccountByLogin, for the plan test.
const LoginLookup = loginLookup
