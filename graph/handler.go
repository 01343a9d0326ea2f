package graph

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/messages"
	"github.com/authgql/server/metrics"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxDepth         = 15   // the playground's introspection query needs 13
	DefaultMaxComplexity    = 1000 // gqlgen complexity: about one per field here
	DefaultMaxFields        = 500  // the introspection query selects about 200
	DefaultParserTokenLimit = 5000 // the introspection query has about 400 tokens
	DefaultQueryCacheSize   = 1000
)

// Options configures the GraphQL handler. Zero values mean the defaults.
type Options struct {
	Logger *slog.Logger // nil means discard
	// Introspection enables __schema and __type. The playground needs it;
	// production deployments may turn it off.
	Introspection bool

	MaxDepth         int // deepest field nesting
	MaxComplexity    int // gqlgen complexity (one per field unless the schema says more)
	MaxFields        int // fields per operation, aliases and fragment expansions included
	ParserTokenLimit int // lexer tokens per query document
	QueryCacheSize   int // parsed documents kept in an LRU cache
	// MaxBodyBytes caps a request body and a WebSocket message; 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Validator authenticates the credentials a WebSocket client sends in
	// connection_init (auth.Validator.Authenticate); required.
	Validator *auth.Validator
	// Hub is the message bus that carries sendMessage to messageSent
	// subscribers: messages.Hub in process, messages.RedisBus across
	// instances; nil means a new messages.Hub with its defaults.
	Hub messages.Bus
	// Metrics counts WebSocket refusals, denied fields, open WebSockets
	// and live subscriptions; nil means none.
	Metrics *metrics.Metrics
	// AllowedOrigins may open WebSocket connections besides the server's
	// own origin (CLIENT_ORIGIN_URL).
	AllowedOrigins []string
	WSInitTimeout  time.Duration // connection_init must arrive within it; 0 means DefaultWSInitTimeout
	WSKeepAlive    time.Duration // keep-alive/ping interval; 0 means DefaultWSKeepAlive
	WSConnections  int           // open WebSocket connections at most; 0 means DefaultWSConnections
}

// NewHandler returns the GraphQL endpoint, its body limits included. It
// refuses a schema that breaks default deny (see auth.CheckSchema). HTTP
// requests are authenticated outside it: wrap it in auth.Middleware, with
// WriteError as OnError, which puts the claims the directives read in the
// request context. WebSocket connections authenticate inside it, at
// connection_init, with Options.Validator (see initConnection). Call
// Handler.Shutdown to close its WebSockets when the server stops.
func NewHandler(opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.MaxDepth, DefaultMaxDepth)
	setDefault(&opts.MaxComplexity, DefaultMaxComplexity)
	setDefault(&opts.MaxFields, DefaultMaxFields)
	setDefault(&opts.ParserTokenLimit, DefaultParserTokenLimit)
	setDefault(&opts.QueryCacheSize, DefaultQueryCacheSize)
	setDefault(&opts.WSInitTimeout, DefaultWSInitTimeout)
	setDefault(&opts.WSKeepAlive, DefaultWSKeepAlive)
	setDefault(&opts.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&opts.WSConnections, DefaultWSConnections)
	if opts.Hub == nil {
		opts.Hub = messages.NewHub(messages.HubOptions{})
	}
	if opts.Validator == nil {
		return nil, errors.New("graph: a validator is required")
	}
	if opts.MaxDepth < 0 || opts.MaxComplexity < 0 || opts.MaxFields < 0 || opts.ParserTokenLimit < 0 || opts.MaxBodyBytes < 0 {
		return nil, errors.New("graph: limits must not be negative")
	}

	return newHandler(NewExecutableSchema(Config{
		Resolvers: &Resolver{Hub: opts.Hub, Logger: opts.Logger, Metrics: opts.Metrics},
		Directives: DirectiveRoot{
			Public:   auth.Public,
			Auth:     auth.Authenticated,
			HasScope: auth.HasScope,
		},
	}), opts)
}

// Scopes lists the scopes the schema's @hasScope directives require.
func Scopes() []string {
	return auth.SchemaScopes(NewExecutableSchema(Config{}).Schema())
}

func newHandler(es graphql.ExecutableSchema, opts Options) (*Handler, error) {
	if err := auth.CheckSchema(es.Schema()); err != nil {
		return nil, err
	}

	ws, err := websocketTransport(opts)
	if err != nil {
		return nil, err
	}
	h := &Handler{ws: ws}
	srv := handler.New(es)
	srv.AddTransport(transport.Options{AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions}})
	srv.AddTransport(ws)
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](opts.QueryCacheSize))
	srv.SetParserTokenLimit(opts.ParserTokenLimit)
	srv.SetValidationRulesFn(func() *rules.Rules { return validationRules(opts.Introspection) })
	srv.SetErrorPresenter(presentError(opts.Logger, opts.Metrics))
	srv.SetRecoverFunc(recoverPanic(opts.Logger))
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(webSocketSubscriptions{})
	// Order matters: the cheap, early-exiting walk runs before gqlgen's
	// complexity calculation, which walks the whole operation.
	srv.Use(operationLimits{maxDepth: opts.MaxDepth, maxFields: opts.MaxFields})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	h.next = limitBody(opts.MaxBodyBytes)(h.guardUpgrades(opts.AllowedOrigins, opts.WSConnections, opts.Metrics, srv))
	return h, nil
}

// validationRules are gqlparser's defaults with two changes. Its
// MaxIntrospectionDepth rule walks a fragment again at every spread, so a
// fragment bomb under __type costs exponential time before any of our
// limits run (22 levels, a 1 KiB request, took seconds); operationLimits
// enforces the same bound in one linear, early-exiting walk. And with
// introspection off, __schema and __type are refused at validation (422)
// instead of failing in their resolvers as internal errors.
func validationRules(introspection bool) *rules.Rules {
	r := rules.NewDefaultRules()
	r.RemoveRule(rules.MaxIntrospectionDepth.Name)
	if !introspection {
		r.AddRule("IntrospectionDisabled", func(o *core.Events, addError core.AddErrFunc) {
			o.OnField(func(_ *core.Walker, f *ast.Field) {
				if f.Name == "__schema" || f.Name == "__type" {
					addError(core.Message("introspection is disabled on this server (GRAPHQL_INTROSPECTION)"), core.At(f.Position))
				}
			})
		})
	}
	return r
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
