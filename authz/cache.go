package authz

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
)

// Defaults for the zero values of Options.
const (
	// DefaultPlanCacheSize matches the GraphQL handler's parsed-document
	// cache, whose documents the plans belong to.
	DefaultPlanCacheSize = 1000
	// DefaultMaxFieldVisits is far above what the handler's field limit
	// (500 per operation, fragments expanded) lets through.
	DefaultMaxFieldVisits = 10000
)

// Options configures an Engine. Zero values mean the defaults.
type Options struct {
	// PlanCacheSize is how many operations keep their Plan: between
	// PlanCacheSize and twice that many are kept, the least recently used
	// dropped first.
	PlanCacheSize int
	// MaxFieldVisits bounds one walk over an operation: field selections
	// visited, fragment expansions included (a fragment walked again for
	// the same possible types is not visited twice). An operation over it
	// is decided conservatively (see Plan).
	MaxFieldVisits int
}

// Engine runs the operation pass for a Policy and keeps each operation's
// Plan in a bounded cache. gqlgen keeps parsed documents in an LRU cache,
// so a repeated query arrives as the same *ast.QueryDocument and finds its
// Plan by pointer; a cached Plan keeps its document alive, so the address
// cannot be reused by another document while the entry exists. An Engine is
// safe for concurrent use.
type Engine struct {
	policy *Policy
	opts   Options
	plans  planCache
}

// NewEngine returns an Engine for p. It refuses negative settings.
func NewEngine(p *Policy, opts Options) (*Engine, error) {
	if p == nil {
		return nil, errors.New("authz: a policy is required")
	}
	if opts.PlanCacheSize < 0 || opts.MaxFieldVisits < 0 {
		return nil, errors.New("authz: PlanCacheSize and MaxFieldVisits must not be negative")
	}
	if opts.PlanCacheSize == 0 {
		opts.PlanCacheSize = DefaultPlanCacheSize
	}
	if opts.MaxFieldVisits == 0 {
		opts.MaxFieldVisits = DefaultMaxFieldVisits
	}
	e := &Engine{policy: p, opts: opts}
	e.plans.init(opts.PlanCacheSize)
	return e, nil
}

// Policy returns the policy e decides with.
func (e *Engine) Policy() *Policy { return e.policy }

// Plan returns the Plan of op, an operation of the validated document doc,
// from the cache or by walking it once.
func (e *Engine) Plan(doc *ast.QueryDocument, op *ast.OperationDefinition) *Plan {
	if pl := e.plans.get(op); pl != nil && pl.doc == doc {
		return pl
	}
	pl := newPlan(e.policy, doc, op, e.opts.MaxFieldVisits)
	e.plans.put(op, pl)
	return pl
}

// Authorize runs the operation pass for one request: Plan, then
// Plan.Authorize. For a repeated operation whose requirements the caller
// meets it costs a cache lookup and one Decide per distinct requirement,
// and allocates nothing.
func (e *Engine) Authorize(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, claims *auth.Claims, now time.Time) Result {
	return e.Plan(doc, op).Authorize(vars, claims, now)
}

// planCache is a bounded map from operation to Plan with two generations:
// lookups read without locking; when the current generation is full it
// becomes the old one and the old one is dropped; a hit in the old
// generation moves to the current one. That approximates LRU in O(1).
type planCache struct {
	size     int
	mu       sync.Mutex // serializes put
	cur, old atomic.Pointer[generation]
}

type generation struct {
	m sync.Map // *ast.OperationDefinition -> *Plan
	n int      // entries stored; guarded by planCache.mu
}

func (c *planCache) init(size int) {
	c.size = size
	c.cur.Store(&generation{})
	c.old.Store(&generation{})
}

func (c *planCache) get(op *ast.OperationDefinition) *Plan {
	if v, ok := c.cur.Load().m.Load(op); ok {
		return v.(*Plan)
	}
	if v, ok := c.old.Load().m.Load(op); ok {
		pl := v.(*Plan)
		c.put(op, pl)
		return pl
	}
	return nil
}

func (c *planCache) put(op *ast.OperationDefinition, pl *Plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.cur.Load()
	if g.n >= c.size {
		c.old.Store(g)
		g = &generation{}
		c.cur.Store(g)
	}
	if _, loaded := g.m.Swap(op, pl); !loaded {
		g.n++
	}
}
