package app

import (
	"context"
	"sync"
	"time"

	"github.com/latchkey/latchkey/libs/ttlcache"
	"github.com/latchkey/latchkey/services/account/internal/account"
)

// meTenantTTL bounds how stale the tenant GET /v1/me shows may be on a
// replica that did not make the change itself (this one forgets it at
// once). A tenant's policy and terms version only shape the pending steps
// and prompts GET /v1/me lists; they are enforced at log-in and refresh,
// which read them anew, so a second of lag on another replica admits
// nobody. The other services keep tenants longer (5s).
const meTenantTTL = time.Second

// tenantCache keeps tenants for GET /v1/me, the one read frequent enough
// for the tenant row to show in its profile (issue 14). Read-your-writes
// holds on this replica: every change of a tenant here calls forget after
// its transaction, and a read that began before the change cannot put
// the old tenant back afterwards (the generation check, under the same
// lock as forget). The tenants are shared: callers must not change them.
type tenantCache struct {
	mu      sync.Mutex
	gen     uint64
	tenants *ttlcache.Cache[string, *account.Tenant]
}

func newTenantCache() *tenantCache {
	return &tenantCache{tenants: ttlcache.New[string, *account.Tenant](meTenantTTL, 10000)}
}

// get returns the tenant id, from memory or from load.
func (c *tenantCache) get(ctx context.Context, id string, load func(context.Context, string) (*account.Tenant, error)) (*account.Tenant, error) {
	if t, ok := c.tenants.Get(id); ok {
		return t, nil
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	t, err := load(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen { // no tenant changed here since the read began
		c.tenants.Put(id, t)
	}
	return t, nil
}

// forget drops the tenant id after a change, and any read of it under
// way from being kept.
func (c *tenantCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.tenants.Delete(id)
}
