package token

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryKeyStore is a KeyStore in memory, for tests. Keys are gone when
// the process ends, so tokens signed before a restart stop verifying: do
// not use it in a server.
type MemoryKeyStore struct {
	mu   sync.Mutex
	keys map[string]StoredKey
}

// NewMemoryKeyStore returns an empty store.
func NewMemoryKeyStore() *MemoryKeyStore {
	return &MemoryKeyStore{keys: map[string]StoredKey{}}
}

// ListKeys returns copies of every key.
func (m *MemoryKeyStore) ListKeys(context.Context) ([]StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]StoredKey, 0, len(m.keys))
	for _, k := range m.keys {
		k.Sealed = slices.Clone(k.Sealed)
		out = append(out, k)
	}
	return out, nil
}

// AddKey stores a copy of k.
func (m *MemoryKeyStore) AddKey(_ context.Context, k StoredKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		return fmt.Errorf("token: key %s already stored", k.ID)
	}
	k.Sealed = slices.Clone(k.Sealed)
	m.keys[k.ID] = k
	return nil
}

// AddKeyIfNewest stores a copy of k while newest is the newest key.
func (m *MemoryKeyStore) AddKeyIfNewest(_ context.Context, k StoredKey, newest string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	top := ""
	var topAt time.Time
	for _, s := range m.keys {
		if top == "" || s.CreatedAt.After(topAt) || (s.CreatedAt.Equal(topAt) && s.ID > top) {
			top, topAt = s.ID, s.CreatedAt
		}
	}
	if top != newest {
		return false, nil
	}
	if _, ok := m.keys[k.ID]; ok {
		return false, fmt.Errorf("token: key %s already stored", k.ID)
	}
	k.Sealed = slices.Clone(k.Sealed)
	m.keys[k.ID] = k
	return true, nil
}

// DeleteKey removes the key id, if stored.
func (m *MemoryKeyStore) DeleteKey(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, id)
	return nil
}

// ResealKey replaces the sealed private key of k.ID, if stored.
func (m *MemoryKeyStore) ResealKey(_ context.Context, k StoredKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.keys[k.ID]
	if !ok {
		return nil
	}
	old.KEKID, old.Sealed = k.KEKID, slices.Clone(k.Sealed)
	m.keys[k.ID] = old
	return nil
}
