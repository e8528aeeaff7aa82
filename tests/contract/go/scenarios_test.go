package contract

// Beyond the controller's own suite: what many real controllers do to one
// server — fan-in, oversize bodies, a server restart, a Chroma outage —
// with the controller's client and its drop-after-retries rule.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Many controllers at once, each through its own debounce buffer and
// client: every instance ends in Chroma, nothing dropped, no retry.
func TestFanIn_ManyControllers(t *testing.T) {
	r := newRig(t, "fanin", "")
	n, per := *flagClients, *flagInstances
	ctls := make([]*Controller, n)
	want := map[string]*ResourceInstance{}
	var mu sync.Mutex
	t0 := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		ctls[c] = StartController(r.client(int64(100+c)), 50*time.Millisecond, 50*time.Millisecond, DefaultBatchMax)
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			ns := fmt.Sprintf("cluster-%02d", c)
			for i := 0; i < per; i++ {
				inst := Deployment(ns, fmt.Sprintf("app-%04d", i), map[string]string{"app": fmt.Sprintf("app-%04d", i), "team": ns})
				ctls[c].Buf.Upsert(inst)
				mu.Lock()
				want[inst.ID] = &inst
				mu.Unlock()
			}
			// Some resources go away later: deletes, one per request.
			time.Sleep(300 * time.Millisecond)
			for i := 0; i < per; i += 30 {
				id := fmt.Sprintf("%s/apps/v1/Deployment/app-%04d", ns, i)
				ctls[c].Buf.Delete(id)
				mu.Lock()
				want[id] = nil
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	var all []ClientStats
	for _, ctl := range ctls {
		if err := ctl.Shutdown(60 * time.Second); err != nil {
			t.Error(err)
		}
		all = append(all, ctl.Client.Stats())
	}
	sent := time.Since(t0)
	r.settle(60 * time.Second)
	applied := time.Since(t0)
	s := Merge(all...)
	if s.Dropped != 0 || s.Refused != 0 || s.Retries != 0 {
		t.Errorf("want every batch delivered at its first attempt: %s", s.Figures())
	}
	r.expectState(want)
	if dl := r.srv.Metric("cw_journal_dead_letters"); dl != 0 {
		t.Errorf("%v dead letters", dl)
	}
	figures(t, "%d controllers x %d instances (%d deletes): answered in %.2f s, in Chroma after %.2f s (%.0f inst/s); %s",
		n, per, (per+29)/30*n, sent.Seconds(), applied.Seconds(), float64(n*per)/applied.Seconds(), s.Figures())
}

// bigPayload is a controller-shaped payload of about `size` bytes (an
// annotation carries the bulk).
func bigPayload(size int) []byte {
	inst := Deployment("big", "blob", map[string]string{"app": "blob"})
	inst.Annotations = map[string]string{"description": strings.Repeat("x", size)}
	body, err := jsonMarshal(&SyncPayload{Upserts: []ResourceInstance{inst}})
	if err != nil {
		panic(err)
	}
	return body
}

// A body over --max-body: Go's net/http writes the whole body before it
// reads the answer, so the server must answer 413 and read the rest (not
// close on it): the client sees 413 every time — never `broken pipe` or a
// reset — and does not retry (a 4xx is final).
func TestOversizeBody_Is413NotBrokenPipe(t *testing.T) {
	const maxBody = 256 << 10
	r := newRig(t, "oversize", "", "--max-body", strconv.Itoa(maxBody))
	sizes := []int{maxBody + 1024, 1 << 20, 6 << 20}
	var all []ClientStats
	for i := 0; i < *flagTries; i++ {
		size := sizes[i%len(sizes)]
		c := r.client(int64(200 + i))
		c.Chunked = i%4 == 3 // now and then without a Content-Length
		err := c.SendRaw(context.Background(), bigPayload(size))
		s := c.Stats()
		all = append(all, s)
		pe, ok := err.(*PermanentError)
		if !ok || pe.Status != 413 || s.Attempts != 1 || len(s.NetErrors) != 0 {
			t.Errorf("try %d (%d bytes, chunked %v): err %v; want 413 at the one attempt: %s",
				i, size, c.Chunked, err, s.Figures())
		}
	}
	// The server is fine afterwards: a body at the limit's side goes through.
	ok := r.client(299)
	small := Deployment("big", "small", map[string]string{"app": "small"})
	if err := ok.Send(context.Background(), &SyncPayload{Upserts: []ResourceInstance{small}}); err != nil {
		t.Errorf("a normal payload after the oversize ones: %v", err)
	}
	r.settle(10 * time.Second)
	r.expectState(map[string]*ResourceInstance{small.ID: &small, "big/apps/v1/Deployment/blob": nil})
	s := Merge(all...)
	figures(t, "%d oversize bodies (%v bytes, max-body %d, every 4th chunked): %s", *flagTries, sizes, maxBody, s.Figures())
}

// stream is one controller-like sender that keeps sending new versions of
// its own ids (batches of upserts, and now and then a delete, alone) and
// remembers the last state each id was acknowledged in.
type stream struct {
	client *RESTClient
	ns     string
	acked  map[string]*ResourceInstance
	unsure map[string]bool // ids of a dropped batch: the server may or may not have it
	sent   int
}

func (s *stream) run(stop <-chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		var p SyncPayload
		var insts []ResourceInstance
		if k%5 == 4 {
			p.Deletes = []string{fmt.Sprintf("%s/apps/v1/Deployment/r%d", s.ns, k%10)}
		} else {
			for j := 0; j < 10; j++ {
				name := fmt.Sprintf("r%d", (k+j)%10)
				insts = append(insts, Deployment(s.ns, name, map[string]string{"app": name, "v": strconv.Itoa(k)}))
			}
			p.Upserts = insts
		}
		err := s.client.Send(context.Background(), &p)
		s.sent++
		for _, id := range p.Deletes {
			if err == nil {
				s.acked[id] = nil
				delete(s.unsure, id)
			} else {
				s.unsure[id] = true
			}
		}
		for i := range insts {
			if err == nil {
				s.acked[insts[i].ID] = &insts[i]
				delete(s.unsure, insts[i].ID)
			} else {
				s.unsure[insts[i].ID] = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startStreams(r *rig, n int, tag string) ([]*stream, chan struct{}, *sync.WaitGroup) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ss []*stream
	for i := 0; i < n; i++ {
		s := &stream{client: r.client(int64(300 + i)), ns: fmt.Sprintf("%s-%d", tag, i),
			acked: map[string]*ResourceInstance{}, unsure: map[string]bool{}}
		ss = append(ss, s)
		wg.Add(1)
		go func() { defer wg.Done(); s.run(stop) }()
	}
	return ss, stop, &wg
}

func ackedState(ss []*stream) (map[string]*ResourceInstance, ClientStats, int) {
	want := map[string]*ResourceInstance{}
	var all []ClientStats
	unsure := 0
	for _, s := range ss {
		for id, inst := range s.acked {
			if !s.unsure[id] {
				want[id] = inst
			}
		}
		unsure += len(s.unsure)
		all = append(all, s.client.Stats())
	}
	return want, Merge(all...), unsure
}

// SIGTERM mid-stream, 2 s down, then a new serve on the same journal and
// port: the controllers' retries (1 s → 30 s backoff, the real default)
// carry them over the gap, nothing is dropped, and every acknowledged
// operation is in Chroma at the end. (SIGKILL is tests/reliability's: a
// write cut mid-way would wedge the Chroma these tests share.)
func TestServerRestart_MidStream_NothingAcknowledgedLost(t *testing.T) {
	r := newRig(t, "restart", "", "--drain-ms", "3000", "--ack-wait-ms", "500")
	ss, stop, wg := startStreams(r, 4, "restart")
	time.Sleep(1500 * time.Millisecond)
	t0 := time.Now()
	code := r.srv.Stop(syscall.SIGTERM, 30*time.Second)
	down := time.Since(t0)
	if code != 0 {
		t.Errorf("serve exited %d on SIGTERM", code)
	}
	r.srv = nil
	// Stay down long enough that every controller meets connection
	// refused and retries, well inside its ~5-7 s of retries.
	time.Sleep(2 * time.Second)
	r.start()
	gap := time.Since(t0)
	time.Sleep(2500 * time.Millisecond)
	close(stop)
	wg.Wait()
	r.settle(30 * time.Second)
	want, s, unsure := ackedState(ss)
	if s.Dropped != 0 || unsure != 0 {
		t.Errorf("%d batches dropped across the restart (%d ids unsure): %s", s.Dropped, unsure, s.Figures())
	}
	if s.Delivered < 20 {
		t.Errorf("only %d batches delivered", s.Delivered)
	}
	if s.Retries == 0 {
		t.Errorf("no client retried: the restart gap was not exercised: %s", s.Figures())
	}
	r.expectState(want)
	figures(t, "SIGTERM to exit %.0f ms, to listening again %.0f ms; %s", ms(down), ms(gap), s.Figures())
}

// Chroma cut off for longer than the controller's retries last (~7 s):
// every request is still answered 200/202 (journaled), none retried or
// dropped, and once Chroma is back all of it is applied.
func TestChromaOutage_AnsweredThenApplied(t *testing.T) {
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := StartProxy(env.ChromaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()
	r := newRig(t, "outage", proxy.URL, "--ack-wait-ms", "500")
	ss, stop, wg := startStreams(r, 4, "outage")
	time.Sleep(time.Second)
	proxy.Cut(true)
	t0 := time.Now()
	time.Sleep(*flagOutage)
	backlog := r.srv.Metric("cw_journal_backlog_operations")
	proxy.Cut(false)
	outage := time.Since(t0)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t1 := time.Now()
	r.settle(60 * time.Second)
	caughtUp := time.Since(t1)
	want, s, unsure := ackedState(ss)
	if s.Dropped != 0 || s.Retries != 0 || unsure != 0 {
		t.Errorf("want every batch answered < 400 at its first attempt: %s", s.Figures())
	}
	if s.Statuses[202] == 0 {
		t.Errorf("no 202 during a %v outage (did the cut work? %d refused)", outage, proxy.Refused())
	}
	r.expectState(want)
	figures(t, "Chroma cut %.1f s (%d Chroma calls refused, backlog %v ops at its end), applied %.1f s after the streams stopped; %s",
		outage.Seconds(), proxy.Refused(), backlog, caughtUp.Seconds(), s.Figures())
}
