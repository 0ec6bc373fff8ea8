package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mphost/mphost/internal/vm"
)

// publishTimeout bounds the storing of a task on the server.
const publishTimeout = 10 * time.Second

// DefaultIdleAfter is how long a run's tasks wait untaken before RunConfig.Idle is called.
const DefaultIdleAfter = 10 * time.Second

// Errors of a Run.
var (
	// ErrWithdrawn is returned by Submit and Next after Withdraw or Close.
	ErrWithdrawn = errors.New("cluster: the run's tasks were withdrawn")
)

// RunConfig is what a Run is made with.
type RunConfig struct {
	// ID names the run on the cluster: letters, digits, '-' and '_'. NewRun makes a random one
	// when it is empty. Two runs on one cluster must not share it.
	ID string
	// InFlight bounds the tasks out: submitted and their result not yet returned by Next.
	// Submit waits while there are that many. At least 1.
	InFlight int
	// IdleAfter is how long tasks wait with no worker taking any before Idle is called;
	// DefaultIdleAfter when 0.
	IdleAfter time.Duration
	// Idle, when set, is called once each time the run's tasks have waited IdleAfter with no
	// worker taking one: waiting is how many wait, waited how long. It runs on a goroutine of
	// the run and must not call the run's methods.
	Idle func(waiting int, waited time.Duration)
	// Chunks, when set, answers the workers' requests for the chunks of source that the
	// closures of the run's tasks were compiled from, and takes those they send back
	// (chunks.go). Its methods run on a goroutine of the run.
	Chunks vm.ChunkStore
	// Stdout and Stderr, when set, get what the run's tasks print, in whole lines, in order
	// per task (output.go); they are written from a goroutine of the run.
	Stdout, Stderr io.Writer
}

// Run submits the tasks of one run of a script to the cluster and collects their results.
// Make one with NewRun; Submit and Next may be called from different goroutines; Close it.
type Run struct {
	c        *Conn
	cfg      RunConfig
	taskSubj string
	// pub publishes the run's tasks without waiting for each one's ack, so that a task in
	// flight does not hold the next; a task the server did not take comes back from Next as
	// a result with Err (onSubmitFailed).
	pub     jetstream.JetStream
	tasks   jetstream.Stream
	alive   jetstream.KeyValue   // the runs bucket, where the run's heartbeat lives (liveness.go)
	runTTL  time.Duration        // the bucket's: watch renews the heartbeat three times in it
	subs    []*nats.Subscription // the results', the announcements', the chunk requests' and the output's
	slots   chan struct{}        // one token per task out: Submit puts, Next (or Withdraw) takes
	stop    chan struct{}        // closed by Close: ends the watch goroutine
	gone    chan struct{}        // closed by Withdraw: ends the waits of Submit
	watched chan struct{}        // closed when the watch goroutine has returned
	// submitting is held for reading by each Submit from its check of withdrawn to the end
	// of its publish, and for writing by Withdraw, so that no task lands after the purge.
	submitting sync.RWMutex
	// recovery is held while the run puts back what a server lacks after a reconnection
	// (restart.go); Close waits for it.
	recovery   sync.Mutex
	unregister func() // forgets the run's hook for reconnections

	mu        sync.Mutex
	lastID    uint64
	out       map[uint64]*outTask // tasks out whose result has not come
	waiting   int                 // tasks out that no worker took yet
	since     time.Time           // when a worker last took a task, or waiting last rose from 0
	stalled   bool                // Idle was called for this wait
	queue     []Result            // results come and not yet returned by Next
	ready     chan struct{}       // signalled (cap 1) when queue grows or the run is withdrawn
	withdrawn bool
	closed    bool
}

// outTask is a task out: its message, kept to publish it again (restart.go).
type outTask struct {
	msg   []byte
	msgID string // its Nats-Msg-Id: run.id
	taken bool   // a worker said it took it
	// sent counts its publishes: the failure of one before the last is not its result.
	sent uint64
	// unsent: a disconnection failed its last publish, and the reconnection publishes it.
	unsent bool
}

// validRunID reports whether id is 1 to 64 letters, digits, '_' or '-'. A
// loop rather than a regexp: `{1,64}` compiles at init, in every process,
// into a 64-deep recursion that grows the main goroutine's stack to 128 kB.
func validRunID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewRun starts a run on c: it makes the streams if need be, and the run's results consumer.
func NewRun(ctx context.Context, c *Conn, cfg RunConfig) (*Run, error) {
	if cfg.InFlight < 1 {
		return nil, fmt.Errorf("cluster: a run needs InFlight of at least 1, not %d", cfg.InFlight)
	}
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = DefaultIdleAfter
	}
	if cfg.ID == "" {
		id, err := randomHex(8)
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		cfg.ID = id
	} else if !validRunID(cfg.ID) {
		return nil, fmt.Errorf("cluster: bad run id %q: letters, digits, '-' and '_', at most 64", cfg.ID)
	}
	tasks, err := c.tasks(ctx)
	if err != nil {
		return nil, err
	}
	alive, runTTL, err := c.runs(ctx)
	if err != nil {
		return nil, err
	}
	r := &Run{
		c: c, cfg: cfg, taskSubj: c.subject(kindTask, cfg.ID), tasks: tasks,
		alive: alive, runTTL: runTTL,
		slots: make(chan struct{}, cfg.InFlight),
		stop:  make(chan struct{}), gone: make(chan struct{}), watched: make(chan struct{}),
		out: make(map[uint64]*outTask), ready: make(chan struct{}, 1),
	}
	if r.pub, err = jetstream.New(c.nc, jetstream.WithPublishAsyncMaxPending(cfg.InFlight),
		jetstream.WithPublishAsyncTimeout(publishTimeout), jetstream.WithPublishAsyncErrHandler(r.onSubmitFailed)); err != nil {
		return nil, fmt.Errorf("cluster: %s: run %s: %w", c.where, cfg.ID, err)
	}
	if err := r.heartbeat(); err != nil {
		return nil, fmt.Errorf("cluster: %s: run %s: cannot put its heartbeat: %w", c.where, cfg.ID, err)
	}
	if err := r.subscribe(); err != nil {
		r.unsubscribe()
		return nil, fmt.Errorf("cluster: %s: run %s: %w", c.where, cfg.ID, err)
	}
	r.unregister = c.onReconnect(r.recover)
	go r.watch()
	return r, nil
}

// ID is the run's id on the cluster.
func (r *Run) ID() string { return r.cfg.ID }

// Submit puts a task with payload on the cluster and returns its id; it waits while
// InFlight tasks are out (ctx bounds the wait). It returns ErrWithdrawn after Withdraw or
// Close. It does not wait for the server to store the task: a task the server does not take
// (the connection lost, no ack within a while) has a result all the same, from Next, whose
// Err says so.
func (r *Run) Submit(ctx context.Context, payload []byte) (uint64, error) {
	if max := r.MaxPayload(); len(payload) > max {
		return 0, fmt.Errorf("cluster: a task of %d bytes is more than the server takes (%d)", len(payload), max)
	}
	select {
	case r.slots <- struct{}{}:
	case <-r.gone:
		return 0, ErrWithdrawn
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	r.submitting.RLock()
	defer r.submitting.RUnlock()
	r.mu.Lock()
	if r.withdrawn {
		r.mu.Unlock()
		r.release()
		return 0, ErrWithdrawn
	}
	r.lastID++
	id := r.lastID
	t := &outTask{msg: appendTask(nil, r.c.version, r.cfg.ID, id, payload), msgID: r.cfg.ID + "." + strconv.FormatUint(id, 10)}
	r.out[id] = t
	if r.waiting++; r.waiting == 1 {
		r.since, r.stalled = time.Now(), false
	}
	r.mu.Unlock()
	if err := r.publish(t); err != nil {
		r.mu.Lock()
		if r.drop(id) {
			r.release()
		}
		r.mu.Unlock()
		return 0, fmt.Errorf("cluster: %s: run %s: cannot submit a task: %w", r.c.where, r.cfg.ID, err)
	}
	return id, nil
}

// MaxPayload is the largest payload Submit takes: what the server takes less a task's header.
func (r *Run) MaxPayload() int { return int(r.c.nc.MaxPayload()) - 64 - len(r.cfg.ID) }

// Flush waits until the server has stored, or refused, each task submitted so far.
func (r *Run) Flush(ctx context.Context) error {
	select {
	case <-r.pub.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: %s: run %s: its tasks in flight were not stored in time: %w", r.c.where, r.cfg.ID, ctx.Err())
	}
}

// Next returns the next result to come (each task's once), waiting as ctx allows, and frees
// its task's place in InFlight. After Withdraw or Close it returns the results already come,
// then ErrWithdrawn.
func (r *Run) Next(ctx context.Context) (Result, error) {
	for {
		r.mu.Lock()
		if len(r.queue) > 0 {
			res := r.queue[0]
			r.queue[0] = Result{}
			r.queue = r.queue[1:]
			r.mu.Unlock()
			r.release()
			return res, nil
		}
		withdrawn := r.withdrawn
		r.mu.Unlock()
		if withdrawn {
			return Result{}, ErrWithdrawn
		}
		select {
		case <-r.ready:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
}

// Withdraw deletes the run's tasks that no worker has finished and tells the workers to drop
// those they run; their results never come. Submit then returns ErrWithdrawn. Withdrawing twice
// is harmless.
func (r *Run) Withdraw(ctx context.Context) error {
	r.submitting.Lock()
	defer r.submitting.Unlock()
	r.mu.Lock()
	if r.withdrawn {
		r.mu.Unlock()
		return nil
	}
	r.withdrawn = true
	close(r.gone)
	for id := range r.out {
		delete(r.out, id)
		r.release()
	}
	r.waiting = 0
	r.mu.Unlock()
	r.signal()
	if _, ok := ctx.Deadline(); !ok { // Flush needs one
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, publishTimeout)
		defer cancel()
	}
	// The tasks published must be stored before the purge, or they would land after it.
	err := r.Flush(ctx)
	// Purge first, so that a worker told below finds no more of the run's tasks to take.
	if perr := r.tasks.Purge(ctx, jetstream.WithPurgeSubject(r.taskSubj)); perr != nil && err == nil {
		err = fmt.Errorf("cluster: %s: run %s: cannot delete its tasks: %w", r.c.where, r.cfg.ID, perr)
	}
	if perr := r.c.nc.Publish(r.c.subject(kindWithdrawn, r.cfg.ID), nil); perr != nil && err == nil {
		err = fmt.Errorf("cluster: %s: run %s: cannot tell the workers: %w", r.c.where, r.cfg.ID, perr)
	}
	if ferr := r.c.nc.FlushWithContext(ctx); ferr != nil && err == nil {
		err = fmt.Errorf("cluster: %s: run %s: cannot tell the workers: %w", r.c.where, r.cfg.ID, ferr)
	}
	return err
}

// Close withdraws the run's remaining tasks (Withdraw), stops reading results and deletes what
// the run left on the server. Closing twice is harmless.
func (r *Run) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.unregister()
	r.recovery.Lock() // a recovery under way ends first; none starts now
	defer r.recovery.Unlock()
	err := r.Withdraw(ctx)
	close(r.stop)
	<-r.watched
	r.pub.CleanupPublisher()
	r.unsubscribe()
	if derr := r.alive.Delete(ctx, r.cfg.ID); derr != nil && err == nil {
		err = fmt.Errorf("cluster: %s: run %s: cannot delete its heartbeat: %w", r.c.where, r.cfg.ID, derr)
	}
	return err
}

// subscribe listens for the results of the run's tasks, the workers' announcements, and the
// chunk requests and the output of the tasks, as cfg asks.
func (r *Run) subscribe() error {
	for _, s := range []struct {
		kind string
		on   nats.MsgHandler
		want bool
	}{
		{kindResult, r.onResult, true},
		{kindTaken, r.onTaken, true},
		{kindChunks, r.onChunks, r.cfg.Chunks != nil},
		{kindOutput, r.onOutput, r.cfg.Stdout != nil || r.cfg.Stderr != nil},
	} {
		if !s.want {
			continue
		}
		sub, err := r.c.nc.Subscribe(r.c.subject(s.kind, r.cfg.ID), s.on)
		if err != nil {
			return err
		}
		r.subs = append(r.subs, sub)
	}
	return r.c.nc.FlushTimeout(connectTimeout) // the server knows of them before NewRun returns
}

// unsubscribe stops what NewRun's subscriptions listen for.
func (r *Run) unsubscribe() {
	for _, sub := range r.subs {
		_ = sub.Unsubscribe()
	}
}

// release frees the place of a task in InFlight. Each task out holds one, so the receive
// does not wait; it never blocks all the same, should a count be wrong.
func (r *Run) release() {
	select {
	case <-r.slots:
	default:
	}
}

// signal wakes a Next waiting for a result.
func (r *Run) signal() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// onResult counts a result of the run once, then answers its worker, which then acks the
// task: a second result for a task (it ran twice) and a result of a withdrawn task are
// dropped.
func (r *Run) onResult(msg *nats.Msg) {
	version, res, err := decodeResult(msg.Data)
	if err != nil || version != r.c.version {
		return // not from a worker of this protocol: nothing to count
	}
	r.mu.Lock()
	if r.drop(res.Task) {
		r.queue = append(r.queue, res)
		r.since, r.stalled = time.Now(), false // a worker took it
		r.signal()
	}
	r.mu.Unlock()
	_ = msg.Respond(nil)
}

// onSubmitFailed makes the result of a task that the server did not take.
func (r *Run) onSubmitFailed(_ jetstream.JetStream, msg *nats.Msg, err error) {
	_, t, derr := decodeTask(msg.Data)
	if derr != nil {
		return
	}
	sent, _ := strconv.ParseUint(msg.Header.Get(sentHeader), 10, 64)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.out[t.ID]
	if out == nil || sent != out.sent {
		return // its result came, or it was published again
	}
	if errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) {
		out.unsent = true
		if r.c.nc.IsConnected() { // the reconnection came first
			go r.recover(false)
		}
		return
	}
	if r.drop(t.ID) {
		r.queue = append(r.queue, Result{Task: t.ID, Err: fmt.Sprintf("cluster: %s: run %s: cannot submit task %d: %v", r.c.where, r.cfg.ID, t.ID, err)})
		r.signal()
	}
}

// drop forgets task id, out until now, and reports whether it was out. r.mu is held.
func (r *Run) drop(id uint64) bool {
	t, ok := r.out[id]
	if !ok {
		return false
	}
	delete(r.out, id)
	if !t.taken {
		r.waiting--
	}
	return true
}

// onTaken notes that a worker took a task, for the idle notice.
func (r *Run) onTaken(msg *nats.Msg) {
	id, err := decodeTaken(msg.Data)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.out[id]; ok && !t.taken {
		t.taken = true
		r.waiting--
	}
	r.since, r.stalled = time.Now(), false
}

// watch calls cfg.Idle when tasks wait untaken for IdleAfter, and renews the run's
// heartbeat, until Close.
func (r *Run) watch() {
	defer close(r.watched)
	tick := time.NewTicker(r.cfg.IdleAfter / 10)
	defer tick.Stop()
	beat := time.NewTicker(r.runTTL / 3)
	defer beat.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-beat.C:
			_ = r.heartbeat()
		case now := <-tick.C:
			r.mu.Lock()
			waiting, waited := r.waiting, now.Sub(r.since)
			fire := waiting > 0 && !r.stalled && waited >= r.cfg.IdleAfter
			if fire {
				r.stalled = true
			}
			r.mu.Unlock()
			if fire && r.cfg.Idle != nil {
				r.cfg.Idle(waiting, waited)
			}
		}
	}
}
