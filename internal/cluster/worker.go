package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of WorkerConfig.
const (
	// DefaultMaxDeliveries is how many times a task is handed to a worker before the next
	// delivery fails it.
	DefaultMaxDeliveries = 5
)

const (
	workersConsumer   = "workers"        // the durable consumer all workers of a version share
	maxWaitingPulls   = 4096             // pull requests the consumer keeps: one per free slot of every worker
	pullWait          = 5 * time.Second  // how long one pull request waits for a task
	versionCheckEvery = 30 * time.Second // how often a worker looks for tasks of other versions
	withdrawnKept     = 10 * time.Minute // how long a worker remembers a withdrawn run
	// announceAfter is how long a task runs before its worker tells the run it took it (for
	// the idle notice): a shorter one's result says so, without a message of its own.
	announceAfter = 200 * time.Millisecond
)

// ErrProcessDied is what a worker's callback returns (wrapped) when the process that ran the
// task died: the worker hands the task back at once, for another delivery.
var ErrProcessDied = errors.New("the process running the task died")

// errWithdrawn is the cause of a task's context when its run withdrew it.
var errWithdrawn = errors.New("cluster: the task's run withdrew it")

// WorkerConfig is what a Worker is made with.
type WorkerConfig struct {
	// Name names the worker in results and logs; "HOST:PID" when empty.
	Name string
	// Slots is how many tasks the worker runs at once (its pool worker processes); at least 1.
	Slots int
	// Run runs a task and returns its result. An error wrapping ErrProcessDied hands the task
	// back for another delivery; any other error is the task's result (with the data, if
	// any). Its ctx ends when the run withdraws the task or the worker hands it back.
	Run func(ctx context.Context, t Task) ([]byte, error)
	// MaxDeliveries bounds the deliveries of a task; the delivery after the last fails it
	// with an error saying so. DefaultMaxDeliveries when 0.
	MaxDeliveries int
	// Logf, when set, is given the worker's log lines (tasks handed back, other versions...).
	Logf func(format string, args ...any)

	versionCheck time.Duration // versionCheckEvery when 0; tests shorten it
}

// Worker pulls the tasks of every run on a cluster and runs each with WorkerConfig.Run. Make
// one with NewWorker, then call Work once.
type Worker struct {
	c       *Conn
	cfg     WorkerConfig
	ackWait time.Duration // the consumer's: the worker renews its claims three times in it
	tasks   jetstream.Stream
	runs    jetstream.KeyValue // the runs' heartbeats (liveness.go)
	runTTL  time.Duration      // the bucket's
	// finishing counts the results sent whose task is not acked yet.
	finishing sync.WaitGroup
	stopping  chan struct{} // closed by Stop
	stopOnce  sync.Once

	mu        sync.Mutex
	inHand    map[*heldTask]struct{}
	withdrawn map[string]time.Time  // runs withdrawn or gone lately, to when the worker heard of it
	cancelled map[taskKey]time.Time // tasks cancelled lately (cancel.go), to when
	alive     map[string]time.Time  // runs seen alive, to when
}

// heldTask is a task a worker runs.
type heldTask struct {
	run    string
	id     uint64
	cancel context.CancelCauseFunc
}

// NewWorker joins c as a worker: it makes the streams and the workers' consumer if need be.
func NewWorker(ctx context.Context, c *Conn, cfg WorkerConfig) (*Worker, error) {
	if cfg.Slots < 1 {
		return nil, fmt.Errorf("cluster: a worker needs at least 1 slot, not %d", cfg.Slots)
	}
	if cfg.Run == nil {
		return nil, fmt.Errorf("cluster: a worker needs a Run function")
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	if cfg.MaxDeliveries <= 0 {
		cfg.MaxDeliveries = DefaultMaxDeliveries
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.versionCheck <= 0 {
		cfg.versionCheck = versionCheckEvery
	}
	tasks, err := c.tasks(ctx)
	if err != nil {
		return nil, err
	}
	ackWait, err := c.workers(ctx)
	if err != nil {
		return nil, err
	}
	runs, runTTL, err := c.runs(ctx)
	if err != nil {
		return nil, err
	}
	return &Worker{
		c: c, cfg: cfg, ackWait: ackWait, tasks: tasks, runs: runs, runTTL: runTTL,
		stopping: make(chan struct{}), inHand: make(map[*heldTask]struct{}),
		withdrawn: make(map[string]time.Time), alive: make(map[string]time.Time), cancelled: make(map[taskKey]time.Time),
	}, nil
}

// Work takes tasks and runs them until Stop or the end of ctx. After Stop it takes no more
// and returns once the tasks in hand have finished; when ctx ends it hands the tasks in hand
// back at once (another worker gets them), cancels their Run's context and returns once each
// Run has returned.
func (w *Worker) Work(ctx context.Context) error {
	for kind, on := range map[string]nats.MsgHandler{kindWithdrawn: w.onWithdrawn, kindCancelled: w.onCancelled} {
		sub, err := w.c.nc.Subscribe(w.c.subject(kind, "*"), on)
		if err != nil {
			return fmt.Errorf("cluster: %s: %w", w.c.where, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	pulling, stopPulling := context.WithCancel(ctx)
	defer stopPulling()
	go func() {
		select {
		case <-w.stopping:
			stopPulling()
		case <-pulling.Done():
		}
	}()
	p, err := newPuller(w)
	if err != nil {
		return err
	}
	defer w.c.onReconnect(func(newServer bool) { w.recover(p, newServer) })()
	var wg sync.WaitGroup
	wg.Go(func() { p.run(pulling.Done()) })
	for range w.cfg.Slots {
		wg.Go(func() { w.slot(ctx, pulling, p) })
	}
	wg.Go(func() { w.watchVersions(pulling) })
	wg.Wait()
	w.finishing.Wait()
	return nil
}

// MaxResult is the most bytes of data a task's result may have, with no error text, for the
// server to take it; a larger one fails its task (finish).
func (w *Worker) MaxResult() int { return int(w.c.nc.MaxPayload()) - resultHeader - len(w.cfg.Name) }

// resultHeader bounds what appendResult adds to a result's data and worker name, with no error.
const resultHeader = 4 * binary.MaxVarintLen64

// Stop makes Work take no more tasks and return once those in hand have finished.
func (w *Worker) Stop() { w.stopOnce.Do(func() { close(w.stopping) }) }

// slot takes one task at a time and runs it, until pulling ends. It looks at ctx too: a
// parent context is marked done before its children, and a task handed back as ctx ends must
// not be taken again by this worker.
func (w *Worker) slot(ctx, pulling context.Context, p *puller) {
	for ctx.Err() == nil && pulling.Err() == nil {
		if msg := p.next(pulling.Done()); msg != nil {
			w.handle(ctx, msg)
		}
	}
}

// handle runs the task in msg and gives its result, or hands it back.
func (w *Worker) handle(ctx context.Context, msg *nats.Msg) {
	version, t, err := decodeTask(msg.Data)
	if err == nil && version != w.c.version {
		err = fmt.Errorf("protocol version %d, not %d", version, w.c.version)
	}
	var meta *nats.MsgMetadata
	if err == nil {
		meta, err = msg.Metadata()
	}
	if err != nil {
		w.cfg.Logf("dropped a task on %s that is not one: %v", msg.Subject, err)
		_ = msg.Term()
		return
	}
	t.Delivery = int(meta.NumDelivered)
	if w.runGone(t.Run) || w.isCancelled(t) {
		_ = msg.Ack()
		return
	}
	if t.Delivery > w.cfg.MaxDeliveries {
		w.cfg.Logf("run %s: task %d failed: delivered %d times", t.Run, t.ID, t.Delivery)
		w.finish(msg, t, nil, fmt.Errorf("cluster: task %d was handed to a worker %d times and its worker was lost each time; it is not run again", t.ID, t.Delivery-1))
		return
	}
	tctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	held := &heldTask{run: t.Run, id: t.ID, cancel: cancel}
	w.mu.Lock()
	w.inHand[held] = struct{}{}
	w.mu.Unlock()
	if w.isCancelled(t) { // withdrawn after the check above: onWithdrawn or onCancelled missed this task
		cancel(errWithdrawn)
	}
	handedBack := make(chan struct{})
	ran := make(chan struct{})
	go func() { // announce a long task, keep its claim alive; hand it back when ctx ends
		announce := time.NewTimer(announceAfter)
		defer announce.Stop()
		tick := time.NewTicker(w.ackWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-ran:
				return
			case <-announce.C:
				_ = w.c.nc.Publish(w.c.subject(kindTaken, t.Run), appendTaken(nil, t.ID))
			case <-tick.C:
				_ = msg.InProgress()
				w.runGone(t.Run) // cancels the task when the run is gone
			case <-ctx.Done():
				_ = msg.Nak()
				close(handedBack)
				cancel(ctx.Err())
				return
			}
		}
	}()
	data, err := w.cfg.Run(tctx, t)
	close(ran)
	w.mu.Lock()
	delete(w.inHand, held)
	w.mu.Unlock()
	select {
	case <-handedBack:
		return
	default:
	}
	switch {
	case context.Cause(tctx) == errWithdrawn:
		_ = msg.Ack()
	case errors.Is(err, ErrProcessDied):
		w.cfg.Logf("run %s: task %d handed back (delivery %d): %v", t.Run, t.ID, t.Delivery, err)
		_ = msg.Nak()
	default:
		w.finish(msg, t, data, err)
	}
	cancel(nil)
}

// finish sends the result of t to its run, then acks its message once the run has answered
// that it has the result; a result the run does not take hands the task back. A result larger
// than the server takes fails the task instead: it would be as large on any worker. It does
// not wait for the run: the slot takes its next task meanwhile, and Work waits for the acks.
func (w *Worker) finish(msg *nats.Msg, t Task, data []byte, taskErr error) {
	res := Result{Task: t.ID, Data: data, Worker: w.cfg.Name}
	if taskErr != nil {
		res.Err = taskErr.Error()
	}
	result := appendResult(nil, w.c.version, res)
	if most := int(w.c.nc.MaxPayload()); len(result) > most {
		w.cfg.Logf("run %s: task %d failed: its result is %d bytes, more than the server takes", t.Run, t.ID, len(result))
		res.Data, res.Err = nil, fmt.Sprintf("cluster: the task's result is %d bytes, more than the %d the cluster's server takes in a message", len(result), most)
		result = appendResult(nil, w.c.version, res)
	}
	w.finishing.Go(func() {
		if _, err := w.c.askRun(kindResult, t.Run, result); err != nil {
			w.cfg.Logf("run %s: task %d handed back: cannot give its result: %v", t.Run, t.ID, err)
			_ = msg.Nak()
			return
		}
		_ = msg.Ack()
	})
}

// onWithdrawn forgets a withdrawn run.
func (w *Worker) onWithdrawn(msg *nats.Msg) {
	w.forget(msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:])
}

// forget cancels the tasks in hand of a run withdrawn or gone and remembers the run, so that
// its tasks taken before their deletion are not run.
func (w *Worker) forget(run string) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	forgetBefore(w.withdrawn, now.Add(-withdrawnKept))
	forgetBefore(w.alive, now.Add(-withdrawnKept))
	delete(w.alive, run)
	w.withdrawn[run] = now
	for h := range w.inHand {
		if h.run == run {
			h.cancel(errWithdrawn)
		}
	}
}

// forgetBefore deletes from m what it noted before then.
func forgetBefore[K comparable](m map[K]time.Time, then time.Time) {
	for k, at := range m {
		if at.Before(then) {
			delete(m, k)
		}
	}
}

// watchVersions logs, until ctx ends, when the tasks stream of another protocol version holds
// tasks: this worker does not take them. It logs once each time such a stream fills.
func (w *Worker) watchVersions(ctx context.Context) {
	ours := tasksStream(w.c.version)
	told := map[string]bool{}
	for {
		streams := w.c.js.ListStreams(ctx) // each with its state, in one request a page
		for info := range streams.Info() {
			name := info.Config.Name
			if !strings.HasPrefix(name, tasksStreamPrefix) || name == ours {
				continue
			}
			n := info.State.Msgs
			if n > 0 && !told[name] {
				w.cfg.Logf("%d tasks of protocol version %s wait on %s; this worker speaks version %d and does not take them",
					n, strings.TrimPrefix(name, tasksStreamPrefix), w.c.where, w.c.version)
			}
			told[name] = n > 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.versionCheck):
		}
	}
}
