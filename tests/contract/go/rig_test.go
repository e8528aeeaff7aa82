package contract

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	flagBackoff   = flag.Duration("cw.backoff-base", DefaultBaseBackoff, "the clients' first backoff (the controller's default: 1s)")
	flagClients   = flag.Int("cw.fanin-clients", 16, "controllers in the fan-in scenario")
	flagInstances = flag.Int("cw.fanin-instances", 300, "instances per controller in the fan-in scenario")
	flagTries     = flag.Int("cw.oversize-tries", 60, "oversize bodies sent")
	flagOutage    = flag.Duration("cw.outage", 8*time.Second, "how long Chroma is cut off (the controller gives up after ~7 s)")
)

const mockDim = 8

// rig is one test's world: the mock embedder, a serve on its own
// collection and journal, and a reader of that collection.
type rig struct {
	t      *testing.T
	env    *Env
	dir    string
	mock   *Mock
	srv    *Server
	chroma *Chroma
	opts   ServerOpts
}

func newRig(t *testing.T, name string, chromaURL string, extra ...string) *rig {
	t.Helper()
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := Scratch(env, name)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, env: env, dir: dir}
	t.Cleanup(r.close)
	r.mock, err = StartMock(env, mockDim, filepath.Join(dir, "mock.log"))
	if err != nil {
		t.Fatal(err)
	}
	if chromaURL == "" {
		chromaURL = env.ChromaURL
	}
	collection := fmt.Sprintf("t_go_%s_%d", strings.ToLower(name), os.Getpid())
	r.chroma = NewChroma(env.ChromaURL, collection)
	r.opts = ServerOpts{ChromaURL: chromaURL, Collection: collection, EmbedURL: r.mock.URL,
		Journal: filepath.Join(dir, "journal"), Extra: extra, Log: filepath.Join(dir, "serve.log")}
	r.start()
	return r
}

func (r *rig) start() {
	r.t.Helper()
	t0 := time.Now()
	srv, err := StartServer(r.env, r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = srv
	r.opts.Port = srv.Opts.Port // a restart keeps the port the clients know
	r.t.Logf("serve up on %s in %.0f ms", srv.Base, ms(time.Since(t0)))
}

func (r *rig) close() {
	if r.srv != nil {
		if code := r.srv.Stop(syscall.SIGTERM, 30*time.Second); code != 0 {
			r.t.Errorf("serve exited %d on SIGTERM; log %s", code, r.opts.Log)
		}
	}
	r.mock.Stop()
	if r.chroma != nil && !r.t.Failed() {
		r.chroma.Drop()
	}
}

func (r *rig) client(seed int64) *RESTClient {
	c := NewRESTClient(r.srv.SyncURL(), seed)
	c.BaseBackoff = *flagBackoff
	return c
}

// settle waits until the journal has applied everything.
func (r *rig) settle(timeout time.Duration) {
	r.t.Helper()
	if err := r.srv.WaitBacklogEmpty(timeout); err != nil {
		r.t.Fatalf("%v; log %s", err, r.opts.Log)
	}
}

// expectState checks Chroma against want: id → the instance last
// acknowledged (nil: must be absent). Extra records fail too.
func (r *rig) expectState(want map[string]*ResourceInstance) {
	r.t.Helper()
	ids := make([]string, 0, len(want))
	present := 0
	for id, inst := range want {
		ids = append(ids, id)
		if inst != nil {
			present++
		}
	}
	got, err := r.chroma.Get(ids)
	if err != nil {
		r.t.Fatal(err)
	}
	bad := 0
	for id, inst := range want {
		rec, ok := got[id]
		switch {
		case inst == nil && ok:
			bad++
			if bad <= 5 {
				r.t.Errorf("%s: stored, want absent (%q)", id, rec.Document)
			}
		case inst != nil && !ok:
			bad++
			if bad <= 5 {
				r.t.Errorf("%s: absent, want stored", id)
			}
		case inst != nil && (rec.Document != Document(*inst) || rec.Metadata["labels"] != LabelsMeta(*inst)):
			bad++
			if bad <= 5 {
				r.t.Errorf("%s: stored %q labels %v, want %q labels %q", id, rec.Document,
					rec.Metadata["labels"], Document(*inst), LabelsMeta(*inst))
			}
		}
	}
	if bad > 0 {
		r.t.Errorf("%d of %d ids differ from the acknowledged state", bad, len(want))
	}
	n, err := r.chroma.Count()
	if err != nil {
		r.t.Fatal(err)
	}
	if n != present {
		r.t.Errorf("collection holds %d records, want %d", n, present)
	}
}

// waitFor polls cond every 10 ms until it holds or timeout passes; how
// long it took, or -1.
func waitFor(timeout time.Duration, cond func() bool) time.Duration {
	t0 := time.Now()
	for time.Since(t0) < timeout {
		if cond() {
			return time.Since(t0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return -1
}

func figures(t *testing.T, format string, args ...interface{}) {
	line := fmt.Sprintf("figures %s: ", t.Name()) + fmt.Sprintf(format, args...)
	fmt.Println(line)
}
