package contract

// The controller's internal/integration_test.go, end to end: its debounce
// buffer and REST client (this package) → the real `cluster-whisperer
// serve` → the real Chroma, read back straight from Chroma.

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Two add events pass the debounce buffer and arrive as 2 upserts in one
// batch ("deletes":null), stored with the exact document and metadata.
func TestIntegration_FullPipeline_EventsFlowThroughDebounceToHTTPServer(t *testing.T) {
	r := newRig(t, "fullpipe", "")
	client := r.client(1)
	ctl := StartController(client, 200*time.Millisecond, 100*time.Millisecond, DefaultBatchMax)
	a := Deployment("default", "nginx", map[string]string{"app": "nginx", "tier": "frontend"})
	a.Annotations = map[string]string{"description": "Main web server"}
	b := Deployment("default", "redis", map[string]string{"app": "redis"})
	ctl.Buf.Upsert(a)
	ctl.Buf.Upsert(b)
	took := waitFor(10*time.Second, func() bool { return client.Stats().Sends == 1 })
	if took < 0 {
		t.Fatalf("no batch sent in 10 s: %s", client.Stats().Figures())
	}
	r.settle(10 * time.Second) // a 202 (journaled, not yet applied) is success too
	r.expectState(map[string]*ResourceInstance{a.ID: &a, b.ID: &b})
	recs, err := r.chroma.Get([]string{a.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := "Deployment nginx | namespace: default | apiVersion: apps/v1 | labels: app=nginx, tier=frontend | Main web server"
	if got := recs[a.ID].Document; got != want {
		t.Errorf("document %q, want %q", got, want)
	}
	for k, v := range map[string]string{"namespace": "default", "name": "nginx", "kind": "Deployment",
		"apiVersion": "apps/v1", "apiGroup": "apps", "labels": "app=nginx,tier=frontend", "source": "resource-sync"} {
		if recs[a.ID].Metadata[k] != v {
			t.Errorf("metadata %s = %v, want %q", k, recs[a.ID].Metadata[k], v)
		}
	}
	if err := ctl.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	s := client.Stats()
	if s.Sends != 1 || s.Delivered != 1 || s.Retries != 0 || s.Statuses[200] != 1 {
		t.Errorf("want 1 batch answered 200 at the first attempt: %s", s.Figures())
	}
	if got := r.srv.Metric("cw_sync_upserts_received_total"); got != 2 {
		t.Errorf("server received %v upserts, want 2", got)
	}
	figures(t, "%s; debounce to stored %.0f ms", s.Figures(), ms(took))
}

// A delete bypasses the 10 s debounce window (the controller's default)
// and is gone from Chroma in < 1 s, while an update made before it is
// still waiting in the window.
func TestIntegration_DeleteEventsArriveImmediately(t *testing.T) {
	r := newRig(t, "deletes", "")
	old := Deployment("default", "old-app", map[string]string{"app": "old-app"})
	seed := r.client(2)
	if err := seed.Send(context.Background(), &SyncPayload{Upserts: []ResourceInstance{old}}); err != nil {
		t.Fatal(err)
	}
	r.settle(10 * time.Second)
	r.expectState(map[string]*ResourceInstance{old.ID: &old})

	client := r.client(3)
	ctl := StartController(client, DefaultDebounceWindow, DefaultFlushInterval, DefaultBatchMax)
	pending := Deployment("default", "pending-app", map[string]string{"app": "pending-app"})
	ctl.Buf.Upsert(pending)
	t0 := time.Now()
	ctl.Buf.Delete(old.ID)
	gone := waitFor(5*time.Second, func() bool {
		recs, err := r.chroma.Get([]string{old.ID})
		return err == nil && len(recs) == 0
	})
	if gone < 0 || gone >= time.Second {
		t.Errorf("the delete took %v to reach Chroma, want < 1 s", gone)
	}
	waitFor(5*time.Second, func() bool { return client.Stats().Sends >= 1 }) // its answer may trail Chroma
	s := client.Stats()
	if s.Sends != 1 || s.Delivered != 1 {
		t.Errorf("want exactly the delete sent so far: %s", s.Figures())
	}
	if ctl.Buf.Pending() != 1 {
		t.Errorf("the update should still wait in the 10 s window (pending %d)", ctl.Buf.Pending())
	}
	if recs, _ := r.chroma.Get([]string{pending.ID}); len(recs) != 0 {
		t.Errorf("%s stored before its debounce window ended", pending.ID)
	}
	if got := r.srv.Metric("cw_sync_deletes_received_total"); got != 1 {
		t.Errorf("server received %v deletes, want 1", got)
	}
	if err := ctl.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	r.settle(10 * time.Second)
	r.expectState(map[string]*ResourceInstance{old.ID: nil, pending.ID: &pending})
	figures(t, "delete event to gone from Chroma %.0f ms; to drained shutdown %.0f ms; %s", ms(gone),
		ms(time.Since(t0)), client.Stats().Figures())
}

// 5 rapid updates of one resource (label version v1..v5) → exactly 1
// upsert arrives, and Chroma holds version=v5.
func TestIntegration_RapidUpdates_LastStateWinsEndToEnd(t *testing.T) {
	r := newRig(t, "rapid", "")
	client := r.client(4)
	ctl := StartController(client, 300*time.Millisecond, 100*time.Millisecond, DefaultBatchMax)
	var last ResourceInstance
	for v := 1; v <= 5; v++ {
		last = Deployment("default", "web", map[string]string{"app": "web", "version": fmt.Sprintf("v%d", v)})
		ctl.Buf.Upsert(last)
		time.Sleep(10 * time.Millisecond)
	}
	if waitFor(10*time.Second, func() bool { return client.Stats().Sends == 1 }) < 0 {
		t.Fatalf("no batch in 10 s")
	}
	time.Sleep(400 * time.Millisecond) // a second batch would have come by now
	if err := ctl.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	s := client.Stats()
	if s.Sends != 1 || s.Delivered != 1 {
		t.Errorf("want exactly 1 batch: %s", s.Figures())
	}
	if got := r.srv.Metric("cw_sync_upserts_received_total"); got != 1 {
		t.Errorf("server received %v upserts, want exactly 1", got)
	}
	r.settle(10 * time.Second)
	r.expectState(map[string]*ResourceInstance{last.ID: &last})
	recs, _ := r.chroma.Get([]string{last.ID})
	if recs[last.ID].Metadata["labels"] != "app=web,version=v5" {
		t.Errorf("labels %v, want app=web,version=v5", recs[last.ID].Metadata["labels"])
	}
	figures(t, "%s", s.Figures())
}

// On shutdown, events still inside the (10 s) debounce window are flushed
// and delivered within the sender's 10 s drain.
func TestIntegration_GracefulShutdownDrainsPendingPayloads(t *testing.T) {
	r := newRig(t, "drain", "")
	client := r.client(5)
	ctl := StartController(client, DefaultDebounceWindow, DefaultFlushInterval, DefaultBatchMax)
	want := map[string]*ResourceInstance{}
	for i := 0; i < 120; i++ { // 3 batches of at most 50
		inst := Deployment("shop", fmt.Sprintf("svc-%03d", i), map[string]string{"app": fmt.Sprintf("svc-%03d", i)})
		ctl.Buf.Upsert(inst)
		want[inst.ID] = &inst
	}
	time.Sleep(100 * time.Millisecond)
	if s := client.Stats(); s.Sends != 0 {
		t.Fatalf("sent before the window ended: %s", s.Figures())
	}
	t0 := time.Now()
	if err := ctl.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	drained := time.Since(t0)
	s := client.Stats()
	if s.Sends != 3 || s.Delivered != 3 || s.Dropped != 0 {
		t.Errorf("want 3 batches (50+50+20) delivered: %s", s.Figures())
	}
	r.settle(10 * time.Second)
	r.expectState(want)
	figures(t, "drained 120 pending upserts in %.0f ms; %s", ms(drained), s.Figures())
}
