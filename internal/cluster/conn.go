package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connectTimeout bounds each step of Connect: the TCP dial and the first JetStream request.
const connectTimeout = 5 * time.Second

// ConnectOptions are the credentials and TLS settings of Connect beyond what the URL carries
// (a token or user:password in nats://TOKEN@HOST:PORT).
type ConnectOptions struct {
	Creds    string      // a NATS credentials file (JWT and seed)
	CAFile   string      // for tls:// URLs: the CA of the server's certificate; the system's roots when empty
	CertFile string      // a client certificate, with KeyFile, for servers that ask for one
	KeyFile  string      // the key of CertFile
	TLS      *tls.Config // for embedders: used instead of CAFile, CertFile and KeyFile
	Name     string      // the connection's name, shown by the server's monitoring
}

// Conn is a connection to a cluster, for runs and workers. Make one with Connect; it is safe
// for concurrent use.
type Conn struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	where   string // the URL without its credentials, for messages
	version int    // ProtocolVersion; tests of version mismatch change it
	// ackWait and runTTL are AckWait and RunTTL, which the consumer and the bucket are made
	// with when this connection makes them; tests shorten them.
	ackWait, runTTL time.Duration
	// askWait bounds a request to a run (askRun): askTimeout; tests shorten it.
	askWait time.Duration
	// reconnects counts the connection's reconnections: a run may have missed what was
	// published meanwhile (output.go).
	reconnects atomic.Uint64

	mu       sync.Mutex
	server   string                          // the id of the server connected to
	hooks    map[uint64]func(newServer bool) // called when the connection comes back (restart.go)
	lastHook uint64
}

// Connect connects to the cluster at rawURL and checks that it has JetStream. Its errors say
// what is wrong (the credentials refused, nothing listening, no JetStream) within a few
// seconds, and never show the URL's credentials.
func Connect(rawURL string, opt ConnectOptions) (*Conn, error) {
	where := redact(rawURL)
	c := &Conn{where: where, version: ProtocolVersion, ackWait: AckWait, runTTL: RunTTL, askWait: askTimeout, hooks: map[uint64]func(bool){}}
	opts := []nats.Option{nats.Timeout(connectTimeout), nats.MaxReconnects(-1), nats.ReconnectHandler(c.reconnected)}
	if opt.Name != "" {
		opts = append(opts, nats.Name(opt.Name))
	}
	if opt.Creds != "" {
		opts = append(opts, nats.UserCredentials(opt.Creds))
	}
	switch {
	case opt.TLS != nil:
		opts = append(opts, nats.Secure(opt.TLS))
	default:
		if opt.CAFile != "" {
			opts = append(opts, nats.RootCAs(opt.CAFile))
		}
		if opt.CertFile != "" || opt.KeyFile != "" {
			opts = append(opts, nats.ClientCert(opt.CertFile, opt.KeyFile))
		}
	}
	nc, err := nats.Connect(rawURL, opts...)
	switch {
	case errors.Is(err, nats.ErrAuthorization):
		return nil, fmt.Errorf("cluster: %s refused the credentials (authorization violation): give the URL with the token the server printed, or a credentials file", where)
	case errors.Is(err, nats.ErrNoServers):
		return nil, fmt.Errorf("cluster: no NATS server answers at %s", where)
	case err != nil:
		return nil, fmt.Errorf("cluster: cannot connect to %s: %w", where, err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		_, err = js.AccountInfo(ctx)
		cancel()
	}
	if err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("cluster: the NATS server at %s has no JetStream", where)
		}
		return nil, fmt.Errorf("cluster: %s: JetStream does not answer: %w", where, err)
	}
	c.mu.Lock()
	c.nc, c.js, c.server = nc, js, nc.ConnectedServerId()
	c.mu.Unlock()
	return c, nil
}

// Close closes the connection. Runs and workers on it must have ended.
func (c *Conn) Close() { c.nc.Close() }

// Where is the cluster's URL without its credentials.
func (c *Conn) Where() string { return c.where }

// redact returns rawURL without its credentials, or the whole list of URLs so treated.
func redact(rawURL string) string {
	parts := strings.Split(rawURL, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.Host == "" {
			parts[i] = "the cluster URL"
			continue
		}
		u.User = nil
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// The kinds of subjects, each followed by a run id: mphost.v<V>.<kind>.<run>.
const (
	kindTask      = "task"
	kindResult    = "result"
	kindTaken     = "taken"
	kindWithdrawn = "withdrawn"
	kindCancelled = "cancelled"
	kindChunks    = "chunks"
	kindOutput    = "output"
)

// subject is the subject of kind for run ("*" for any run) in c's protocol version.
func (c *Conn) subject(kind, run string) string {
	return fmt.Sprintf("mphost.v%d.%s.%s", c.version, kind, run)
}

// tasksStream is the name of the tasks stream of version v.
func tasksStream(v int) string { return fmt.Sprintf("MPHOST_TASKS_V%d", v) }

// tasksStreamPrefix starts the name of the tasks stream of every version.
const tasksStreamPrefix = "MPHOST_TASKS_V"

// tasks makes the tasks stream of c's version, or checks that it exists as it should, and
// returns it. It keeps its messages in memory: a work-queue stream on files makes a new file
// each time it empties (each task acked when no other waits), which cost more than the rest of
// a task's round trip; a restarted server has lost it, and runs and workers put back what it
// lost (restart.go).
func (c *Conn) tasks(ctx context.Context) (jetstream.Stream, error) {
	tasks, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        tasksStream(c.version),
		Description: "mphost pool tasks, one subject per run",
		Subjects:    []string{c.subject(kindTask, ">")},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.MemoryStorage,
		MaxAge:      tasksMaxAge,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %s: cannot make the stream %s: %w", c.where, tasksStream(c.version), err)
	}
	return tasks, nil
}

// workers makes the consumer that all workers of c's version share, if need be, with
// c.ackWait, and returns the ack wait it has. A consumer made already is never changed, so
// that no worker decides the ack wait of the others.
func (c *Conn) workers(ctx context.Context) (time.Duration, error) {
	name := tasksStream(c.version)
	cons, err := c.js.Consumer(ctx, name, workersConsumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = c.js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{
			Durable:       workersConsumer,
			FilterSubject: c.subject(kindTask, ">"),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       c.ackWait,
			MaxDeliver:    -1, // the worker bounds deliveries itself, so that the last one gives a result
			MaxAckPending: -1,
			MaxWaiting:    maxWaitingPulls,
		})
		if errors.Is(err, jetstream.ErrConsumerExists) { // made by another at the same time
			cons, err = c.js.Consumer(ctx, name, workersConsumer)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: %s: cannot make the workers' consumer: %w", c.where, err)
	}
	return cons.CachedInfo().Config.AckWait, nil
}
