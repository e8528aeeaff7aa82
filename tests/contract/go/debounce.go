package contract

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The controller's debounce defaults (internal/debounce.go, cmd/main.go).
const (
	DefaultDebounceWindow = 10 * time.Second
	DefaultFlushInterval  = 5 * time.Second
	DefaultBatchMax       = 50
)

// DebounceBuffer is the controller's: an upsert waits until its resource
// has been quiet for Window (a newer state of the same id replaces it:
// last state wins), ready upserts are flushed every FlushInterval in
// batches of at most BatchMax with "deletes":null; a delete is sent at
// once, alone, with "upserts":null, and cancels a pending upsert of its
// id. When the context ends, everything pending is flushed and Out is
// closed (the drain on shutdown).
type DebounceBuffer struct {
	Window        time.Duration
	FlushInterval time.Duration
	BatchMax      int

	mu      sync.Mutex // guards pending, order and deletes
	pending map[string]pendingUpsert
	order   []string // ids in the order they were first seen since the last flush
	deletes []string
	notify  chan struct{}
	out     chan *SyncPayload
}

type pendingUpsert struct {
	inst ResourceInstance
	seen time.Time
}

// NewDebounceBuffer makes a buffer; Run it.
func NewDebounceBuffer(window, flush time.Duration, batchMax int) *DebounceBuffer {
	return &DebounceBuffer{
		Window:        window,
		FlushInterval: flush,
		BatchMax:      batchMax,
		pending:       map[string]pendingUpsert{},
		notify:        make(chan struct{}, 1),
		out:           make(chan *SyncPayload),
	}
}

// Out is where the payloads come out, in the order they are to be sent.
func (b *DebounceBuffer) Out() <-chan *SyncPayload { return b.out }

// Upsert records an add or update event.
func (b *DebounceBuffer) Upsert(inst ResourceInstance) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.pending[inst.ID]; !ok {
		b.order = append(b.order, inst.ID)
	}
	b.pending[inst.ID] = pendingUpsert{inst: inst, seen: time.Now()}
}

// Delete records a delete event: sent at once, bypassing the window.
func (b *DebounceBuffer) Delete(id string) {
	b.mu.Lock()
	delete(b.pending, id)
	b.deletes = append(b.deletes, id)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// take removes what is due: every queued delete, and the upserts quiet
// for Window (all of them when all is set), in batches.
func (b *DebounceBuffer) take(all bool) []*SyncPayload {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*SyncPayload
	for _, id := range b.deletes {
		out = append(out, &SyncPayload{Deletes: []string{id}})
	}
	b.deletes = nil
	now := time.Now()
	var batch []ResourceInstance
	var keep []string
	for _, id := range b.order {
		p, ok := b.pending[id]
		if !ok {
			continue // deleted since
		}
		if !all && now.Sub(p.seen) < b.Window {
			keep = append(keep, id)
			continue
		}
		delete(b.pending, id)
		batch = append(batch, p.inst)
		if len(batch) == b.BatchMax {
			out = append(out, &SyncPayload{Upserts: batch})
			batch = nil
		}
	}
	if len(batch) > 0 {
		out = append(out, &SyncPayload{Upserts: batch})
	}
	b.order = keep
	return out
}

// Pending is the number of upserts waiting in the window.
func (b *DebounceBuffer) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Run flushes until ctx ends, then drains and closes Out.
func (b *DebounceBuffer) Run(ctx context.Context) {
	tick := time.NewTicker(b.FlushInterval)
	defer tick.Stop()
	defer close(b.out)
	emit := func(ps []*SyncPayload) {
		for _, p := range ps {
			b.out <- p
		}
	}
	for {
		select {
		case <-ctx.Done():
			emit(b.take(true))
			return
		case <-b.notify:
			b.mu.Lock()
			ds := b.deletes
			b.deletes = nil
			b.mu.Unlock()
			for _, id := range ds {
				b.out <- &SyncPayload{Deletes: []string{id}}
			}
		case <-tick.C:
			emit(b.take(false))
		}
	}
}

// Controller is the controller's pipeline below the watcher: events →
// DebounceBuffer → one sender goroutine → RESTClient. A batch that fails
// after the retries is dropped (counted in the client's stats), never
// re-queued.
type Controller struct {
	Buf    *DebounceBuffer
	Client *RESTClient

	stopWatch  context.CancelFunc
	stopSend   context.CancelFunc
	senderDone chan struct{}
	mu         sync.Mutex // guards errs
	errs       []error
}

// StartController runs a buffer and its sender.
func StartController(client *RESTClient, window, flush time.Duration, batchMax int) *Controller {
	c := &Controller{Buf: NewDebounceBuffer(window, flush, batchMax), Client: client,
		senderDone: make(chan struct{})}
	watch, stopWatch := context.WithCancel(context.Background())
	send, stopSend := context.WithCancel(context.Background())
	c.stopWatch, c.stopSend = stopWatch, stopSend
	go c.Buf.Run(watch)
	go func() {
		defer close(c.senderDone)
		for p := range c.Buf.Out() {
			if err := client.Send(send, p); err != nil {
				c.mu.Lock()
				c.errs = append(c.errs, err) // the controller logs it and drops the batch
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Shutdown stops the watcher, lets the buffer flush what is pending and the
// sender deliver it within drain (the controller's 10 s drain context).
func (c *Controller) Shutdown(drain time.Duration) error {
	c.stopWatch()
	select {
	case <-c.senderDone:
		return nil
	case <-time.After(drain):
		c.stopSend()
		<-c.senderDone
		return fmt.Errorf("sender not drained within %v", drain)
	}
}

// Errors are the send errors so far (dropped or refused batches).
func (c *Controller) Errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}
