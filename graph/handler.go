package graph

import (
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/authz"
	"github.com/authgql/server/demo"
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
	// MaxErrors caps the errors of one response (validation, execution,
	// refusals); the rest are summed up in one more, CodeTooManyErrors.
	// 0 means DefaultMaxErrors.
	MaxErrors int
	// CheckOperation, if set, may refuse an operation as a whole before
	// any resolver runs (see OperationCheck).
	CheckOperation OperationCheck
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
	// WSPongTimeout bounds the wait for the answer to a WebSocket ping, so
	// that a peer gone without closing is noticed; 0 means
	// graphqlws.DefaultPongTimeout.
	WSPongTimeout time.Duration
	// WSWriteTimeout bounds one write to a WebSocket, so that a peer that
	// stops reading is dropped; 0 means graphqlws.DefaultWriteTimeout.
	WSWriteTimeout time.Duration
	// WSMaxOperations caps the operations running at once on one
	// WebSocket connection; 0 means graphqlws.DefaultMaxOperations.
	WSMaxOperations int

	// Authz configures the operation pass (plan cache size, walk bound);
	// zero values mean authz's defaults.
	Authz authz.Options
}

// NewHandler returns the GraphQL endpoint, its limits included. It
// refuses a schema that breaks default deny (see authz.CheckSchema). HTTP
// requests are authenticated outside it: wrap it in auth.Middleware, with
// WriteError as OnError, which puts the claims the directives read in the
// request context. WebSocket connections authenticate inside it, at
// connection_init, with Options.Validator (see initConnection). Call
// Handler.Shutdown to close its WebSockets when the server stops.
func NewHandler(opts Options) (*Handler, error) {
	opts.setDefaults()
	if opts.Validator == nil {
		return nil, errors.New("graph: a validator is required")
	}
	if opts.MaxDepth < 0 || opts.MaxComplexity < 0 || opts.MaxFields < 0 || opts.ParserTokenLimit < 0 ||
		opts.MaxBodyBytes < 0 || opts.MaxErrors < 0 || opts.QueryCacheSize < 0 {
		return nil, errors.New("graph: limits must not be negative")
	}

	policy, err := Policy()
	if err != nil {
		return nil, err
	}
	cfg := Config{
		Resolvers:  &Resolver{Hub: opts.Hub, Logger: opts.Logger, Metrics: opts.Metrics, Demo: demo.New()},
		Directives: Directives(policy),
	}
	// Complexity functions receive arguments, variables included: with
	// any, the complexity limit runs per request instead of once per
	// operation.
	return newHandler(NewExecutableSchema(cfg), opts, !reflect.ValueOf(cfg.Complexity).IsZero(), mutationInputs(opts.Hub))
}

// setDefaults gives zero settings their defaults.
func (opts *Options) setDefaults() {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&opts.MaxDepth, DefaultMaxDepth)
	setDefault(&opts.MaxComplexity, DefaultMaxComplexity)
	setDefault(&opts.MaxFields, DefaultMaxFields)
	setDefault(&opts.ParserTokenLimit, DefaultParserTokenLimit)
	setDefault(&opts.QueryCacheSize, DefaultQueryCacheSize)
	setDefault(&opts.MaxErrors, DefaultMaxErrors)
	setDefault(&opts.WSInitTimeout, DefaultWSInitTimeout)
	setDefault(&opts.WSKeepAlive, DefaultWSKeepAlive)
	setDefault(&opts.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&opts.WSConnections, DefaultWSConnections)
	if opts.Hub == nil {
		opts.Hub = messages.NewHub(messages.HubOptions{})
	}
}

// newHandler serves es. inputs, if not nil, checks an operation's inputs
// once it is authorized (mutationInputs, for this server's schema).
func newHandler(es graphql.ExecutableSchema, opts Options, complexityReadsVariables bool, inputs OperationCheck) (*Handler, error) {
	authorization, err := newAuthorization(es, opts) // authz.go
	if err != nil {
		return nil, err
	}
	// Who may read what is decided once per operation, after validation
	// and the limits, before any resolver runs; another check, if any,
	// first. A mutation's inputs are checked last, so that a caller who
	// may not run it learns nothing about its arguments.
	opts.CheckOperation = checkInOrder(opts.CheckOperation, authorization.check, inputs)

	ws, err := websocketTransport(opts)
	if err != nil {
		return nil, err
	}
	srv := &server{
		exec:      newExecutor(es, opts, complexityReadsVariables),
		websocket: ws,
		post:      postTransport{maxBodyBytes: opts.MaxBodyBytes},
	}
	h := &Handler{ws: ws}
	h.next = h.guardUpgrades(opts.AllowedOrigins, opts.WSConnections, opts.Metrics, srv)
	return h, nil
}

// server routes a request to its transport, each with the one executor.
type server struct {
	exec      *executor
	websocket graphql.Transport
	post      postTransport
	get       getTransport
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.websocket.Supports(r):
		s.websocket.Do(w, r, s.exec)
	case s.post.Supports(r):
		s.post.Do(w, r, s.exec)
	case s.get.Supports(r):
		s.get.Do(w, r, s.exec)
	default:
		serveOptions(w, r)
	}
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
