package messages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults for the zero values of RedisOptions.
const (
	DefaultStream             = "authgql:messages"
	DefaultStreamMaxLen       = 10000 // entries, approximately: over 3 minutes at 50 messages/s
	DefaultDialTimeout        = 2 * time.Second
	DefaultReadTimeout        = 2 * time.Second
	DefaultWriteTimeout       = 2 * time.Second
	DefaultSendTimeout        = 2 * time.Second
	DefaultReadBlock          = 2 * time.Second
	DefaultReadBatch          = 256 // entries per XREAD
	DefaultSlowSubscriberWait = 500 * time.Millisecond
	DefaultMinBackoff         = 100 * time.Millisecond
	DefaultMaxBackoff         = 5 * time.Second
	DefaultPoolSize           = 10
	DefaultClientName         = "authgql"
)

// Fields of a stream entry.
const (
	fieldText   = "text"
	fieldAuthor = "author"
	fieldSentAt = "sent_at" // RFC 3339 with nanoseconds, UTC
)

// RedisOptions configures a RedisBus. Zero values mean the defaults;
// negative values are invalid (see Validate).
type RedisOptions struct {
	// URL says where Redis is (REDIS_URL): redis://[[user]:password@]host[:port][/db],
	// or rediss:// for TLS; port 6379 and database 0 by default. Required.
	// Query parameters are refused: every tunable is a field here.
	URL string
	// Stream is the key of the Redis stream that carries messages;
	// instances sharing it form one bus.
	Stream string
	// StreamMaxLen bounds the stream (XADD MAXLEN ~: Redis trims whole
	// nodes, so it may keep somewhat more). It is also how far an instance
	// can fall behind, during a disconnect, and still catch up; beyond,
	// its subscriptions end with CodeMessagesLost.
	StreamMaxLen int64

	DialTimeout  time.Duration // to open a connection
	ReadTimeout  time.Duration // for a reply, besides ReadBlock for the reader's XREAD BLOCK
	WriteTimeout time.Duration // to write a command
	// SendTimeout bounds a whole Send (connection, XADD, retries): past
	// it Send fails with CodeUnavailable rather than hang.
	SendTimeout time.Duration
	// SendRetries is how often a failed XADD is retried within
	// SendTimeout. Default 0: a retried XADD whose reply was lost would
	// send the message twice; the client gets SERVICE_UNAVAILABLE instead
	// and may send again.
	SendRetries int

	// ReadBlock is how long the reader's XREAD BLOCK waits for new entries
	// before asking again; it also bounds how long a silently dead
	// connection goes unnoticed (ReadBlock + ReadTimeout).
	ReadBlock time.Duration
	// ReadBatch is the most entries one XREAD returns (COUNT).
	ReadBatch int64
	// SlowSubscriberWait is how long the reader waits for a subscriber
	// whose queue is full before ending it with CodeSlowSubscriber. A
	// reader catching up hands over a burst; this lets a subscriber that
	// is merely behind drain its queue, and delays the others by at most
	// this much per stuck subscriber.
	SlowSubscriberWait time.Duration
	// MinBackoff and MaxBackoff bound the reader's wait between attempts
	// while Redis is unreachable: doubling from MinBackoff up to
	// MaxBackoff, each wait drawn at random from its upper half.
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// PoolSize is the most connections to Redis (the reader holds one).
	PoolSize int
	// ClientName names the connections (CLIENT SETNAME), so an operator
	// can find them in CLIENT LIST.
	ClientName string

	// Hub holds the local limits (text length, queue per subscriber, live
	// subscriptions), the clock and the observer.
	Hub HubOptions
	// Logger receives connection losses and recoveries, lost messages and
	// malformed entries; nil means discard.
	Logger *slog.Logger
}

// Validate reports every problem with the options at once: a missing or
// malformed URL, a negative value, a ReadBlock under a millisecond (XREAD
// BLOCK counts milliseconds and 0 would block forever), MinBackoff over
// MaxBackoff, a PoolSize under 2.
func (o RedisOptions) Validate() error {
	var errs []error
	if _, err := parseRedisURL(o.URL); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", o.DialTimeout}, {"ReadTimeout", o.ReadTimeout}, {"WriteTimeout", o.WriteTimeout},
		{"SendTimeout", o.SendTimeout}, {"ReadBlock", o.ReadBlock}, {"SlowSubscriberWait", o.SlowSubscriberWait},
		{"MinBackoff", o.MinBackoff}, {"MaxBackoff", o.MaxBackoff},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("messages: %s must not be negative, got %s", d.name, d.v))
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"StreamMaxLen", o.StreamMaxLen}, {"SendRetries", int64(o.SendRetries)}, {"ReadBatch", o.ReadBatch}, {"PoolSize", int64(o.PoolSize)},
	} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("messages: %s must not be negative, got %d", n.name, n.v))
		}
	}
	if o.ReadBlock > 0 && o.ReadBlock < time.Millisecond {
		errs = append(errs, fmt.Errorf("messages: ReadBlock must be at least 1ms, got %s", o.ReadBlock))
	}
	if o.PoolSize == 1 {
		errs = append(errs, errors.New("messages: PoolSize must be at least 2: the reader holds one connection"))
	}
	d := o.withDefaults()
	if d.MinBackoff > d.MaxBackoff {
		errs = append(errs, fmt.Errorf("messages: MinBackoff (%s) must not exceed MaxBackoff (%s)", d.MinBackoff, d.MaxBackoff))
	}
	if err := o.Hub.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (o RedisOptions) withDefaults() RedisOptions {
	setDefault(&o.Stream, DefaultStream)
	setDefault(&o.StreamMaxLen, DefaultStreamMaxLen)
	setDefault(&o.DialTimeout, DefaultDialTimeout)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.SendTimeout, DefaultSendTimeout)
	setDefault(&o.ReadBlock, DefaultReadBlock)
	setDefault(&o.ReadBatch, DefaultReadBatch)
	setDefault(&o.SlowSubscriberWait, DefaultSlowSubscriberWait)
	setDefault(&o.MinBackoff, DefaultMinBackoff)
	setDefault(&o.MaxBackoff, DefaultMaxBackoff)
	setDefault(&o.PoolSize, DefaultPoolSize)
	setDefault(&o.ClientName, DefaultClientName)
	o.Hub = o.Hub.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func setDefault[T int | int64 | time.Duration | string](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// parseRedisURL checks a REDIS_URL and turns it into go-redis options. Its
// errors never repeat the URL, which may hold a password.
func parseRedisURL(raw string) (*redis.Options, error) {
	if raw == "" {
		return nil, errors.New("messages: the Redis URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // url.Error repeats the URL
		}
		return nil, fmt.Errorf("messages: the Redis URL is malformed: %w", err)
	}
	var errs []error
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		errs = append(errs, fmt.Errorf("messages: the Redis URL must start with redis:// or rediss://, not %q", u.Scheme+":"))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		errs = append(errs, errors.New("messages: the Redis URL must name a host, as in redis://host:6379"))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("messages: the Redis URL's port must be 1 to 65535, not %q", p))
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		errs = append(errs, errors.New("messages: the Redis URL must not have query parameters; use the named settings"))
	}
	if u.Fragment != "" {
		errs = append(errs, errors.New("messages: the Redis URL must not have a fragment"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		// Left: the path, which go-redis reads as the database number.
		return nil, fmt.Errorf("messages: the Redis URL's path must be empty or a database number, as in redis://host:6379/0, not %q", u.Path)
	}
	return opts, nil
}

// RedisBus is the Bus for several instances: Send appends the message to a
// Redis stream (XADD), and one reader per instance reads the stream (XREAD
// BLOCK from the last entry it delivered) and hands every entry to the
// local subscribers. The stream's order is the one global order, and the
// sender's own instance delivers through its reader like every other. A
// message's ID is its stream entry ID.
//
// While Redis is unreachable, Send fails with CodeUnavailable within
// SendTimeout, subscriptions stay open, and the reader retries with
// backoff; once back, it reads everything sent meanwhile, in order. If
// entries after the last one it delivered are gone (trimmed, because it
// was away longer than StreamMaxLen covers, or the stream deleted or
// replaced, as by a Redis restart without persistence), it cannot replay
// the gap: it ends every local subscription with CodeMessagesLost rather
// than skip messages silently, and carries on from the present.
//
// The instances sharing a stream need Redis 7 (XINFO STREAM's
// entries-added) and must leave its entries alone (no XDEL, XTRIM).
// go-redis reports some connection trouble through its own global logger
// (redis.SetLogger), not through Logger.
type RedisBus struct {
	opts   RedisOptions
	client *redis.Client
	fan    *fanout
	sent   *sentLog

	ctx       context.Context // the reader's; cancelled by Close
	cancel    context.CancelFunc
	done      chan struct{} // closed when the reader has returned
	connected atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ Bus = (*RedisBus)(nil)

// NewRedisBus validates opts (see Validate) and starts the reader. It does
// not wait for Redis: if Redis is unreachable, the reader keeps trying
// and Connected reports false until it succeeds. The reader starts at the
// stream's end when it first reaches Redis; subscribers receive what is
// sent from then on. Call Close when done.
func NewRedisBus(opts RedisOptions) (*RedisBus, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ro, _ := parseRedisURL(opts.URL) // checked by Validate
	ro.ClientName = opts.ClientName
	ro.DialTimeout = opts.DialTimeout
	ro.ReadTimeout = opts.ReadTimeout
	ro.WriteTimeout = opts.WriteTimeout
	// Deadlines from our contexts bound the blocking XREAD (go-redis would
	// otherwise allow it ReadBlock + 10s) and every Send.
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = opts.SendRetries
	if ro.MaxRetries == 0 {
		ro.MaxRetries = -1 // go-redis: -1 disables retries, 0 means 3
	}
	ro.DialerRetries = 1 // the reader has its own backoff; Send has SendTimeout
	ro.PoolSize = opts.PoolSize
	ro.MaxActiveConns = opts.PoolSize
	ro.PoolTimeout = opts.SendTimeout
	ro.PipelinePoolSize = -1 // one bounded pool, MULTI included
	// Redis 7.0 knows neither CLIENT SETINFO (7.2) nor maintenance
	// notifications (Redis Enterprise); don't ask.
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBus{
		opts:   opts,
		client: redis.NewClient(ro),
		fan:    newFanout(opts.Hub.Buffer, opts.Hub.MaxSubscribers, opts.Hub.Observer),
		sent:   newSentLog(opts.Hub.Deletable),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go b.read()
	return b, nil
}

// Send validates text and appends it to the stream. The message reaches
// subscribers, this instance's included, through their readers. An
// unreachable or failing Redis gives an *Error with CodeUnavailable within
// SendTimeout.
func (b *RedisBus) Send(ctx context.Context, author, text string) (Message, error) {
	if err := checkText(text, b.opts.Hub.MaxTextLength); err != nil {
		return Message{}, err
	}
	if b.closed.Load() {
		return Message{}, errClosed()
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.SendTimeout)
	defer cancel()
	m := Message{Text: text, Author: author, SentAt: b.opts.Hub.Now().UTC()}
	id, err := b.client.XAdd(ctx, &redis.XAddArgs{
		Stream: b.opts.Stream,
		MaxLen: b.opts.StreamMaxLen,
		Approx: true,
		Values: []any{fieldText, m.Text, fieldAuthor, m.Author, fieldSentAt, m.SentAt.Format(time.RFC3339Nano)},
	}).Result()
	if err != nil {
		if b.closed.Load() {
			return Message{}, errClosed()
		}
		b.opts.Hub.Observer.RedisError(OpSend)
		if b.opts.SendRetries == 0 && neverSent(err) {
			b.opts.Logger.WarnContext(ctx, "messages: sending through Redis failed; nothing was sent", "err", err)
			return Message{}, errUnavailable(err)
		}
		b.opts.Logger.WarnContext(ctx, "messages: sending through Redis failed; the message may still be delivered", "err", err)
		return Message{}, errUnconfirmed(err)
	}
	b.opts.Hub.Observer.Published()
	m.ID = id
	b.sent.add(id)
	return m, nil
}

// CheckText returns Send's refusal of text, if any (see Bus.CheckText).
func (b *RedisBus) CheckText(text string) error { return checkText(text, b.opts.Hub.MaxTextLength) }

// neverSent reports whether err shows that the XADD never left this
// process: no connection could be made (dialing failed, or none came free
// in the pool). Any other failure may come after the command was written
// (a timeout waiting for the reply, a connection dropped after the write),
// and Redis may have run it. With retries, an earlier attempt may have
// been written, which is why the caller asks only without them.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.Is(err, redis.ErrPoolTimeout) || (errors.As(err, &op) && op.Op == "dial")
}

// Delete deletes a message sent through this instance (see Bus.Delete):
// the stream's entry stays, since every instance's reader relies on the
// stream's entries and counters matching (no XDEL). Once the bus is closed
// it fails with CodeUnavailable, as Send does.
func (b *RedisBus) Delete(_ context.Context, id string) (bool, error) {
	if b.closed.Load() {
		return false, errClosed()
	}
	return b.sent.remove(id), nil
}

// Subscribe starts a subscription; it works while Redis is unreachable
// too, and receives messages once it is back. Call Close when done.
func (b *RedisBus) Subscribe() (*Subscription, error) { return b.fan.subscribe() }

// Subscribers counts this instance's live subscriptions.
func (b *RedisBus) Subscribers() int { return b.fan.count() }

// Connected reports whether the reader's last exchange with Redis
// succeeded; it lags a silent loss by at most ReadBlock + ReadTimeout.
// Meant for a readiness check; note that instances sharing one Redis all
// lose it together.
func (b *RedisBus) Connected() bool { return b.connected.Load() }

// Close stops the reader, closes the connections and ends every live
// subscription without an error. Later Send and Subscribe calls fail with
// CodeUnavailable. It is safe to call more than once.
func (b *RedisBus) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		b.cancel()
		b.closeErr = b.client.Close() // also interrupts a blocking XREAD
		<-b.done
		b.connected.Store(false)
		b.fan.close()
	})
	return b.closeErr
}

// position is the reader's place in the stream: the last entry delivered,
// and its ordinal, the stream's entries-added count (XINFO STREAM) just
// after that entry was added. Both survive disconnects; the ordinal is
// what proves nothing after the entry was trimmed before it was read.
type position struct {
	id    string
	added int64
}

// read is the reader goroutine: it runs until Close.
func (b *RedisBus) read() {
	defer close(b.done)
	var (
		pos      *position // nil until the first contact with Redis
		more     bool      // read at once, without waiting for a new entry
		failures int
	)
	for {
		err := b.readOnce(&pos, &more)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			b.opts.Hub.Observer.RedisError(OpRead)
			if b.connected.Swap(false) || failures == 0 {
				b.opts.Logger.Warn("messages: cannot read from Redis; subscriptions wait and will catch up", "err", err)
			}
			failures++
			// Once back, look at the stream at once: replay what was
			// missed, or find the gap, without waiting for a new entry.
			more = true
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(backoff(failures, b.opts.MinBackoff, b.opts.MaxBackoff)):
			}
			continue
		}
		if !b.connected.Swap(true) {
			b.opts.Logger.Info("messages: reading from Redis", "stream", b.opts.Stream, "after", pos.id)
		}
		failures = 0
	}
}

// readOnce takes one step: find the start, or wait for new entries, then
// read and deliver them from a consistent snapshot of the stream.
func (b *RedisBus) readOnce(pos **position, more *bool) error {
	if *pos == nil {
		// Start at the stream's end: a subscription receives what is sent
		// after it starts.
		s, err := b.snapshot("")
		if err != nil {
			return err
		}
		end := s.end()
		*pos = &end
		return nil
	}
	p := *pos
	if !*more {
		ctx, cancel := context.WithTimeout(b.ctx, b.opts.ReadBlock+b.opts.ReadTimeout)
		err := b.client.XRead(ctx, &redis.XReadArgs{Streams: []string{b.opts.Stream, p.id}, Count: 1, Block: b.opts.ReadBlock}).Err()
		cancel()
		if errors.Is(err, redis.Nil) {
			return nil // nothing new within ReadBlock
		}
		if err != nil {
			return err
		}
	}
	// The blocking XREAD only said that something arrived. Entries and
	// counters are read again together, in one MULTI, because deciding
	// whether anything was trimmed needs both at the same instant.
	s, err := b.snapshot(p.id)
	if err != nil {
		return err
	}
	if lost := b.gap(*p, s); lost != "" {
		b.opts.Logger.Error("messages: messages were lost; ending this instance's subscriptions", "why", lost, "after", p.id)
		b.fan.endAll(&Error{Code: CodeMessagesLost, Message: "subscription ended: this server lost contact with the message stream for too long and cannot replay what was missed; subscribe again"})
		*p = s.end()
		*more = false
		return nil
	}
	for _, e := range s.entries {
		p.id, p.added = e.ID, p.added+1
		m, err := decodeEntry(e)
		if err != nil {
			b.opts.Logger.Warn("messages: skipping a malformed stream entry", "id", e.ID, "err", err)
			continue
		}
		b.fan.deliverPaced(m, b.opts.SlowSubscriberWait, b.ctx.Done())
	}
	*more = int64(len(s.entries)) == b.opts.ReadBatch
	return nil
}

// snapshot is the stream at one instant: whether it exists, its counters,
// and up to ReadBatch entries after the given ID (none if after is "").
type snapshot struct {
	exists  bool
	info    *redis.XInfoStream
	entries []redis.XMessage
}

// end is the position after the stream's last entry.
func (s snapshot) end() position {
	if !s.exists {
		return position{id: "0-0"}
	}
	return position{id: s.info.LastGeneratedID, added: s.info.EntriesAdded}
}

func (b *RedisBus) snapshot(after string) (snapshot, error) {
	var (
		exists *redis.IntCmd
		read   *redis.XStreamSliceCmd
		info   *redis.XInfoStreamCmd
	)
	// Per-command errors are read below: a missing stream makes XINFO
	// fail, and an XREAD with nothing new returns redis.Nil. An error of
	// no command is the connection's; go-redis does not set it on the
	// commands when Redis itself refused the connection (e.g. WRONGPASS).
	cmds, err := b.client.TxPipelined(b.ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(b.ctx, b.opts.Stream)
		if after != "" {
			read = p.XRead(b.ctx, &redis.XReadArgs{Streams: []string{b.opts.Stream, after}, Count: b.opts.ReadBatch, Block: -1})
		}
		info = p.XInfoStream(b.ctx, b.opts.Stream)
		return nil
	})
	if err != nil && !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return errors.Is(c.Err(), err) }) {
		return snapshot{}, err
	}
	if err := exists.Err(); err != nil {
		return snapshot{}, err
	}
	if exists.Val() == 0 {
		return snapshot{}, nil
	}
	s := snapshot{exists: true}
	if s.info, err = info.Result(); err != nil {
		return snapshot{}, err
	}
	if read != nil {
		streams, err := read.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return snapshot{}, err
		}
		if len(streams) > 0 {
			s.entries = streams[0].Messages
		}
	}
	return s, nil
}

// gap says why entries after p may have been lost, or "" if the snapshot
// holds exactly the entries after p. Redis trims a stream from its head,
// so the entries-added count (ordinals 1..added) minus the length is how
// many leading entries are gone; if that reaches past p's ordinal, some
// entry after p was removed before this reader saw it.
func (b *RedisBus) gap(p position, s snapshot) string {
	if !s.exists {
		if p.added > 0 {
			return "the stream no longer exists"
		}
		return ""
	}
	added, removed := s.info.EntriesAdded, s.info.EntriesAdded-s.info.Length
	switch {
	case added < p.added:
		return "the stream was replaced: it has fewer entries added than already delivered"
	case removed > p.added:
		return "entries after the last delivered one were trimmed before they were read"
	case int64(len(s.entries)) != min(b.opts.ReadBatch, added-p.added):
		return "the stream's entries do not match its counters (entries deleted or the stream replaced)"
	}
	return ""
}

func decodeEntry(e redis.XMessage) (Message, error) {
	text, ok1 := e.Values[fieldText].(string)
	author, ok2 := e.Values[fieldAuthor].(string)
	at, ok3 := e.Values[fieldSentAt].(string)
	if !ok1 || !ok2 || !ok3 {
		return Message{}, errors.New("fields text, author and sent_at are required")
	}
	sentAt, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return Message{}, fmt.Errorf("sent_at: %w", err)
	}
	return Message{ID: e.ID, Text: text, Author: author, SentAt: sentAt.UTC()}, nil
}

// backoff is the wait before the next attempt after failures (1, 2, ...)
// in a row: min doubled per failure up to max, then drawn at random from
// its upper half, so instances that lost Redis together do not all come
// back at the same instant.
func backoff(failures int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		if d > hi/2 {
			d = hi
			break
		}
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// RedisLogger adapts logger to go-redis's logging interface, for
// redis.SetLogger: go-redis otherwise prints with the log package to
// stderr what it does not return as errors (connection pool trouble, a
// failed dial of a background reconnection). Each line becomes a warning
// with the message "redis" and the text as "detail".
func RedisLogger(logger *slog.Logger) interface {
	Printf(ctx context.Context, format string, v ...any)
} {
	return redisLogger{logger}
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "redis", "detail", fmt.Sprintf(format, v...))
}
