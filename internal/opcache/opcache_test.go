package opcache

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// TestBoundedAndRecent: a cache of size n keeps between n and 2n
// operations, and an operation looked up recently survives where one
// that was not is dropped.
func TestBoundedAndRecent(t *testing.T) {
	c := New[int](2)
	ops := make([]*ast.OperationDefinition, 8)
	for i := range ops {
		ops[i] = &ast.OperationDefinition{}
	}
	c.Put(ops[0], 0)
	c.Put(ops[1], 1)
	c.Put(ops[2], 2) // ops 0 and 1 now in the old generation
	if v, ok := c.Get(ops[0]); !ok || v != 0 {
		t.Fatalf("Get(op 0) = %v, %v; want 0, true", v, ok)
	}
	for i := 3; i < 6; i++ { // op 0 was moved forward; op 1 was not
		c.Put(ops[i], i)
	}
	if _, ok := c.Get(ops[1]); ok {
		t.Errorf("op 1, never looked up again, is still kept")
	}
	kept := 0
	for _, op := range ops {
		if _, ok := c.cur.Load().m.Load(op); ok {
			kept++
		} else if _, ok := c.old.Load().m.Load(op); ok {
			kept++
		}
	}
	if kept > 4 {
		t.Errorf("%d operations kept; at most 4 for size 2", kept)
	}
	if _, ok := c.Get(&ast.OperationDefinition{}); ok {
		t.Errorf("an operation never stored was found")
	}
}
