// Package ttlcache keeps another service's answers for a short time: a
// tenant's policy is asked for at every log-in, reset and e-mail, changes
// rarely, and a few seconds of staleness is the bound the services
// document.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values that expire ttl after they were put. It holds
// at most max entries: when full it starts again empty, since the keys
// (tenant ids) are few but callers could name many. Safe for concurrent
// use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[K]entry[V]
}

type entry[V any] struct {
	v     V
	until time.Time
}

// New returns an empty cache; ttl ≤ 0 keeps nothing.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, m: map[K]entry[V]{}}
}

// Get returns the value of k while it has not expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !time.Now().Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k for the cache's ttl.
func (c *Cache[K, V]) Put(k K, v V) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = entry[V]{v: v, until: time.Now().Add(c.ttl)}
}

// Delete forgets k, so the next Get misses: for the owner of the data,
// which changed it.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}
