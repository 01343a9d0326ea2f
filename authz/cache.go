package authz

import (
	"errors"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/internal/opcache"
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
// Plan in a bounded cache (opcache): a repeated query finds its Plan by
// its operation's pointer. An Engine is safe for concurrent use.
type Engine struct {
	policy *Policy
	opts   Options
	plans  *opcache.Cache[*Plan]
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
	return &Engine{policy: p, opts: opts, plans: opcache.New[*Plan](opts.PlanCacheSize)}, nil
}

// Policy returns the policy e decides with.
func (e *Engine) Policy() *Policy { return e.policy }

// Plan returns the Plan of op, an operation of the validated document doc,
// from the cache or by walking it once.
func (e *Engine) Plan(doc *ast.QueryDocument, op *ast.OperationDefinition) *Plan {
	if pl, ok := e.plans.Get(op); ok && pl.doc == doc {
		return pl
	}
	pl := newPlan(e.policy, doc, op, e.opts.MaxFieldVisits)
	e.plans.Put(op, pl)
	return pl
}

// Authorize runs the operation pass for one request: Plan, then
// Plan.Authorize. For a repeated operation whose requirements the caller
// meets it costs a cache lookup and one Decide per distinct requirement,
// and allocates nothing.
func (e *Engine) Authorize(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, claims *auth.Claims, now time.Time) Result {
	return e.Plan(doc, op).Authorize(vars, claims, now)
}
