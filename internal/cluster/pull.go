package cluster

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// A worker takes tasks through one subscription that lives as long as its Work: it sends the
// workers' consumer one pull request of one task for each slot waiting for a task, no more, so
// that no task waits in the worker while its claim runs out. A request ends with its task or
// with a status (expired, or ended by the server) on a reply subject of its own under the
// subscription's inbox; a task comes on its own subject and does not say which request it
// answers, so the worker counts the requests open rather than naming them.

// pullExpiresSlack is how long after its expiry the worker forgets a pull request whose end
// the server never said (the connection was lost meanwhile).
const pullExpiresSlack = 2 * time.Second

// noConsumerWait is how long the worker waits to ask again when the server had no consumer
// to answer a request.
const noConsumerWait = 250 * time.Millisecond

// requestOne is the body of a pull request: one task, within pullWait.
var requestOne = fmt.Appendf(nil, `{"batch":1,"expires":%d}`, pullWait.Nanoseconds())

// puller hands the tasks of the workers' consumer to the slots of a worker that wait for one.
type puller struct {
	w       *Worker
	subject string // the consumer's pull request subject
	inbox   string // requests reply to inbox.N
	sub     *nats.Subscription
	tasks   chan *nats.Msg // to the slots; never holds more than the slots waiting
	kick    chan struct{}  // signalled (cap 1) when a slot waits or a request ends

	mu         sync.Mutex
	noConsumer bool                 // a request found no consumer: wait before the next
	waiting    int                  // slots waiting for a task
	open       map[string]time.Time // pull requests not ended, by reply subject, to when to forget them
	seq        uint64
}

// newPuller subscribes to the worker's inbox of pull replies.
func newPuller(w *Worker) (*puller, error) {
	p := &puller{
		w:       w,
		subject: fmt.Sprintf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", tasksStream(w.c.version), workersConsumer),
		inbox:   w.c.nc.NewInbox(),
		tasks:   make(chan *nats.Msg, w.cfg.Slots),
		kick:    make(chan struct{}, 1),
		open:    make(map[string]time.Time),
	}
	sub, err := w.c.nc.Subscribe(p.inbox+".*", p.onReply)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", w.c.where, err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil { // the requests bound what comes
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: %s: %w", w.c.where, err)
	}
	p.sub = sub
	return p, nil
}

// next waits for a task for a slot; it returns nil once done is closed.
func (p *puller) next(done <-chan struct{}) *nats.Msg {
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
	p.signal()
	select {
	case msg := <-p.tasks:
		return msg
	case <-done:
		p.mu.Lock()
		mine := p.waiting > 0 // else a task is on its way to the slots, counted for this one
		if mine {
			p.waiting--
		}
		p.mu.Unlock()
		if !mine {
			_ = (<-p.tasks).Nak()
		}
		return nil
	}
}

// run asks for tasks as slots wait for them, until done is closed; then it unsubscribes and
// hands back the tasks that came too late for a slot.
func (p *puller) run(done <-chan struct{}) {
	defer p.close()
	sweep := time.NewTicker(pullWait)
	defer sweep.Stop()
	failing := false // the last request failed: log the next failure only once one worked
	for {
		select {
		case <-done:
			return
		case <-p.kick:
		case <-sweep.C:
			p.forgetExpired()
		}
		p.mu.Lock()
		wait := p.noConsumer
		p.noConsumer = false
		p.mu.Unlock()
		if wait { // until the worker makes it again (restart.go), or someone does
			select {
			case <-done:
				return
			case <-time.After(noConsumerWait):
			}
		}
		var replies []string
		p.mu.Lock()
		deadline := time.Now().Add(pullWait + pullExpiresSlack)
		for len(p.open) < p.waiting {
			p.seq++
			reply := p.inbox + "." + strconv.FormatUint(p.seq, 10)
			p.open[reply] = deadline
			replies = append(replies, reply)
		}
		p.mu.Unlock()
		var err error
		for _, reply := range replies {
			if err == nil {
				err = p.w.c.nc.PublishRequest(p.subject, reply, requestOne)
			}
			if err != nil {
				p.end(reply)
			}
		}
		switch {
		case err == nil:
			failing = false
		case !failing:
			p.w.cfg.Logf("cannot take tasks from %s: %v", p.w.c.where, err)
			failing = true
		}
		if err != nil {
			select { // the connection is being restored: do not spin
			case <-done:
				return
			case <-time.After(time.Second):
			}
			p.signal()
		}
	}
}

// onReply takes a task, or the end of a pull request, from the server.
func (p *puller) onReply(msg *nats.Msg) {
	if status := msg.Header.Get("Status"); len(msg.Data) == 0 && status != "" {
		// 408: the request expired; 409: the server ended it; 503: no consumer answered (a
		// server that lost it); either way it brings no more.
		if status == "503" {
			p.mu.Lock()
			p.noConsumer = true
			p.mu.Unlock()
		}
		p.end(msg.Subject)
		return
	}
	p.mu.Lock()
	p.endOne()
	slot := p.waiting > 0
	if slot {
		p.waiting--
	}
	p.mu.Unlock()
	if !slot { // a request forgotten answered late: no slot waits for it
		_ = msg.Nak()
		return
	}
	p.tasks <- msg
}

// end forgets the pull request that replies to reply and asks again for the slot it served.
// When that request is not open, a task answered it and the worker forgot another instead.
func (p *puller) end(reply string) {
	p.mu.Lock()
	if _, ok := p.open[reply]; ok {
		delete(p.open, reply)
	} else {
		p.endOne()
	}
	p.mu.Unlock()
	p.signal()
}

// endOne forgets the open request to be forgotten first; p.mu is held. A task comes on its
// own subject, so which request it ended is unknown; only the count matters.
func (p *puller) endOne() {
	first := ""
	for reply, at := range p.open {
		if first == "" || at.Before(p.open[first]) {
			first = reply
		}
	}
	if first != "" {
		delete(p.open, first)
	}
}

// forgetAll forgets every request open and asks again for the slots waiting: the server that
// had the requests is gone.
func (p *puller) forgetAll() {
	p.mu.Lock()
	clear(p.open)
	p.mu.Unlock()
	p.signal()
}

// forgetExpired forgets the requests whose end never came (the connection was lost).
func (p *puller) forgetExpired() {
	now := time.Now()
	p.mu.Lock()
	for reply, at := range p.open {
		if now.After(at) {
			delete(p.open, reply)
		}
	}
	p.mu.Unlock()
	p.signal()
}

func (p *puller) signal() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// close unsubscribes, so the server sends no more, and hands back the tasks no slot took.
func (p *puller) close() {
	_ = p.sub.Unsubscribe()
	for {
		select {
		case msg := <-p.tasks:
			_ = msg.Nak()
		default:
			return
		}
	}
}
