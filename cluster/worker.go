package cluster

import (
	"context"
	"errors"

	icluster "github.com/mphost/mphost/internal/cluster"
)

// AckWait is how long a task's claim lasts without a sign of life from its worker: what a
// lost worker costs before its tasks run elsewhere.
const AckWait = icluster.AckWait

// ErrProcessDied is what a worker's Run returns (wrapped) when the process running the task
// died: the task is handed back at once for another delivery.
var ErrProcessDied = icluster.ErrProcessDied

// Task is one task as a worker's Run gets it.
type Task struct {
	Run      string // the run that submitted it
	ID       uint64 // its id in the run, from 1
	Payload  []byte // the encoded task
	Delivery int    // the times it was handed to a worker, this one included
}

// WorkerConfig is what NewWorker joins a cluster with.
type WorkerConfig struct {
	// Creds is a NATS credentials file, for servers that want one; the URL's token or
	// user:password otherwise.
	Creds string
	// Slots is how many tasks the worker runs at once; at least 1.
	Slots int
	// Run runs a task and returns its result; an error is the task's error, and one wrapping
	// ErrProcessDied hands the task back instead. Its ctx ends when the task's run withdraws
	// it or the worker hands it back.
	Run func(ctx context.Context, t Task) ([]byte, error)
	// Logf, when set, gets the worker's log lines (tasks handed back, tasks of another
	// protocol version waiting...).
	Logf func(format string, args ...any)
}

// Worker takes the tasks of every run on a cluster and runs them. Make one with NewWorker,
// call Work once, then Close.
type Worker struct {
	c *icluster.Conn
	w *icluster.Worker
}

// NewWorker connects to the cluster at url (nats:// or tls://, with its token) and joins it
// as a worker. Its errors say what is wrong: the credentials refused, nothing listening.
func NewWorker(ctx context.Context, url string, cfg WorkerConfig) (*Worker, error) {
	if cfg.Run == nil {
		return nil, errors.New("cluster: a worker needs a Run function")
	}
	c, err := icluster.Connect(url, icluster.ConnectOptions{Creds: cfg.Creds, Name: "mphost cluster worker"})
	if err != nil {
		return nil, err
	}
	w, err := icluster.NewWorker(ctx, c, icluster.WorkerConfig{Slots: cfg.Slots, Logf: cfg.Logf,
		Run: func(ctx context.Context, t icluster.Task) ([]byte, error) {
			return cfg.Run(ctx, Task{Run: t.Run, ID: t.ID, Payload: t.Payload, Delivery: t.Delivery})
		}})
	if err != nil {
		c.Close()
		return nil, err
	}
	return &Worker{c: c, w: w}, nil
}

// Where is the cluster's URL without its credentials.
func (w *Worker) Where() string { return w.c.Where() }

// Work takes tasks and runs them until Stop or the end of ctx. After Stop it takes no more
// and returns once the tasks in hand have finished; when ctx ends it hands the tasks in hand
// back at once (another worker gets them) and returns once each Run has returned.
func (w *Worker) Work(ctx context.Context) error { return w.w.Work(ctx) }

// Stop makes Work take no more tasks and return once those in hand have finished.
func (w *Worker) Stop() { w.w.Stop() }

// Close closes the worker's connection, after Work has returned.
func (w *Worker) Close() { w.c.Close() }
