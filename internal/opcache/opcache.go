// Package opcache keeps a value per GraphQL operation, for what depends
// only on a parsed document (its limits verdict, its authorization plan):
// gqlgen keeps parsed documents in an LRU cache, so a repeated query
// arrives as the same *ast.OperationDefinition and finds its value by
// pointer. An entry keeps its operation (and so its document) alive, so
// the address cannot be reused by another document while the entry
// exists.
package opcache

import (
	"sync"
	"sync/atomic"

	"github.com/vektah/gqlparser/v2/ast"
)

// Cache is a bounded map from operation to V with two generations: lookups
// read without locking; when the current generation is full it becomes
// the old one and the old one is dropped; a hit in the old generation moves
// to the current one. That approximates LRU in O(1): between size and
// twice size operations are kept. Safe for concurrent use.
type Cache[V any] struct {
	size     int
	mu       sync.Mutex // serializes Put
	cur, old atomic.Pointer[generation]
}

type generation struct {
	m sync.Map // *ast.OperationDefinition -> V
	n int      // entries stored; guarded by Cache.mu
}

// New returns a Cache keeping at least size operations (at least 1).
func New[V any](size int) *Cache[V] {
	c := &Cache[V]{size: max(size, 1)}
	c.cur.Store(&generation{})
	c.old.Store(&generation{})
	return c
}

// Get returns the value of op, if cached.
func (c *Cache[V]) Get(op *ast.OperationDefinition) (V, bool) {
	if v, ok := c.cur.Load().m.Load(op); ok {
		return v.(V), true
	}
	if v, ok := c.old.Load().m.Load(op); ok {
		c.Put(op, v.(V))
		return v.(V), true
	}
	var zero V
	return zero, false
}

// Put stores the value of op.
func (c *Cache[V]) Put(op *ast.OperationDefinition, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.cur.Load()
	if g.n >= c.size {
		c.old.Store(g)
		g = &generation{}
		c.cur.Store(g)
	}
	if _, loaded := g.m.Swap(op, v); !loaded {
		g.n++
	}
}
