package ttlcache

import (
	"testing"
	"time"
)

func TestCache_KeepsUntilTTLThenForgets(t *testing.T) {
	c := New[string, int](50*time.Millisecond, 10)
	if _, ok := c.Get("a"); ok {
		t.Fatal("empty cache answered")
	}
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %v %v", v, ok)
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := c.Get("a"); ok {
		t.Fatal("expired entry answered")
	}
}

func TestCache_BoundedAndZeroTTLKeepsNothing(t *testing.T) {
	c := New[int, int](time.Minute, 3)
	for i := range 10 {
		c.Put(i, i)
	}
	if n := len(c.m); n > 3 {
		t.Fatalf("%d entries, want at most 3", n)
	}
	off := New[int, int](0, 3)
	off.Put(1, 1)
	if _, ok := off.Get(1); ok {
		t.Fatal("ttl 0 kept a value")
	}
}

func TestCache_DeleteForgets(t *testing.T) {
	c := New[string, int](time.Minute, 10)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Delete("a")
	if _, ok := c.Get("a"); ok {
		t.Fatal("deleted entry answered")
	}
	if v, ok := c.Get("b"); !ok || v != 2 {
		t.Fatalf("other entry: %v %v", v, ok)
	}
}
