package contract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Env is what ctest hands the tests: the binaries and the test Chroma.
type Env struct {
	Bin       string // cluster-whisperer (CW_BIN)
	MockBin   string // cw-mock-embedder (CW_MOCK_EMBEDDER)
	ChromaURL string // from CW_TEST_CHROMA_URL_FILE
	StateDir  string // CW_TEST_STATE: logs, journals
}

// LoadEnv reads the environment ctest sets, or says what is missing.
func LoadEnv() (*Env, error) {
	e := &Env{Bin: os.Getenv("CW_BIN"), MockBin: os.Getenv("CW_MOCK_EMBEDDER"),
		StateDir: os.Getenv("CW_TEST_STATE")}
	if e.Bin == "" || e.MockBin == "" {
		return nil, fmt.Errorf("CW_BIN and CW_MOCK_EMBEDDER must name the binaries (ctest sets them)")
	}
	if e.StateDir == "" {
		e.StateDir = os.TempDir()
	}
	if u := os.Getenv("CW_TEST_CHROMA_URL"); u != "" {
		e.ChromaURL = u
	} else if f := os.Getenv("CW_TEST_CHROMA_URL_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("the test Chroma's URL: %v (is the chroma fixture running?)", err)
		}
		e.ChromaURL = strings.TrimSpace(string(b))
	} else {
		return nil, fmt.Errorf("no CW_TEST_CHROMA_URL_FILE (ctest's chroma fixture sets it)")
	}
	return e, nil
}

// FreePort is a free TCP port on 127.0.0.1 (bound and released).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ---- the mock embedder ------------------------------------------------------

// Mock is cw-mock-embedder as a child process.
type Mock struct {
	cmd *exec.Cmd
	URL string
}

// StartMock starts the mock embedding server with vectors of dim.
func StartMock(e *Env, dim int, logPath string) (*Mock, error) {
	cmd := exec.Command(e.MockBin, "--dim", strconv.Itoa(dim))
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rd := bufio.NewReader(out)
	var lines []string
	for len(lines) < 2 {
		l, err := rd.ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("cw-mock-embedder did not print its URL: %v", err)
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	go io.Copy(io.Discard, rd)
	return &Mock{cmd: cmd, URL: lines[1]}, nil
}

// Stop ends the mock.
func (m *Mock) Stop() {
	if m == nil || m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
	m.cmd = nil
}

// ---- the server -------------------------------------------------------------

// ServerOpts is one `cluster-whisperer serve`.
type ServerOpts struct {
	ChromaURL  string
	Collection string
	EmbedURL   string
	Journal    string // a directory, or "off"
	Port       int    // 0: a free one
	Extra      []string
	Log        string
}

// Server is the real binary as a child process.
type Server struct {
	Opts ServerOpts
	cmd  *exec.Cmd
	Base string // http://127.0.0.1:PORT
	done chan error
}

// StartServer starts serve and waits until /healthz answers (20 s).
func StartServer(e *Env, o ServerOpts) (*Server, error) {
	if o.Port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		o.Port = p
	}
	args := []string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(o.Port),
		"--chroma-url", o.ChromaURL, "--collection", o.Collection,
		"--embedder", "openai", "--embed-url", o.EmbedURL, "--embed-model", "mock",
		"--journal", o.Journal}
	args = append(args, o.Extra...)
	cmd := exec.Command(e.Bin, args...)
	log, err := os.OpenFile(o.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	s := &Server{Opts: o, cmd: cmd, Base: fmt.Sprintf("http://127.0.0.1:%d", o.Port), done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); log.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.cmd = nil
			return nil, fmt.Errorf("serve exited during start (%v); log %s:\n%s", err, o.Log, tail(o.Log))
		default:
		}
		if st, _, _ := Get(s.Base + "/healthz"); st == 200 {
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop(syscall.SIGKILL, time.Second)
	return nil, fmt.Errorf("serve did not answer /healthz in 20 s; log %s:\n%s", o.Log, tail(o.Log))
}

// Stop sends sig and waits up to timeout (then SIGKILL). The exit code, or
// -1 when it was killed or died by a signal.
func (s *Server) Stop(sig syscall.Signal, timeout time.Duration) int {
	if s == nil || s.cmd == nil {
		return -1
	}
	s.cmd.Process.Signal(sig)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
		return -1
	}
	s.cmd = nil
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() >= 0 {
		return ee.ExitCode()
	}
	return -1
}

// SyncURL is the endpoint the controller's INSTANCES_ENDPOINT names.
func (s *Server) SyncURL() string { return s.Base + "/api/v1/instances/sync" }

// Metric is the value of an unlabelled metric in /metrics (-1: absent).
func (s *Server) Metric(name string) float64 {
	st, body, err := Get(s.Base + "/metrics")
	if err != nil || st != 200 {
		return -1
	}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(l[len(name)+1:]), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// WaitBacklogEmpty waits until the journal holds nothing unapplied.
func (s *Server) WaitBacklogEmpty(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.Metric("cw_journal_backlog_operations") == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("journal backlog still %v after %v", s.Metric("cw_journal_backlog_operations"), timeout)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// Get is a plain GET: status and body.
func Get(u string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// ---- Chroma, read back straight (v2 API) --------------------------------------

// Chroma reads one collection of the test Chroma.
type Chroma struct {
	DB         string // {url}/api/v2/tenants/default_tenant/databases/default_database
	Collection string
	http       *http.Client
	id         string
}

// Record is what Chroma holds for one id.
type Record struct {
	Document string
	Metadata map[string]interface{}
}

// NewChroma reads `collection` at `url`.
func NewChroma(url, collection string) *Chroma {
	return &Chroma{DB: url + "/api/v2/tenants/default_tenant/databases/default_database",
		Collection: collection, http: &http.Client{Timeout: 20 * time.Second}}
}

func (c *Chroma) call(method, u string, in interface{}, out interface{}) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("chroma %s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

func (c *Chroma) collectionID() (string, error) {
	if c.id != "" {
		return c.id, nil
	}
	var col struct {
		ID string `json:"id"`
	}
	if _, err := c.call("GET", c.DB+"/collections/"+url.PathEscape(c.Collection), nil, &col); err != nil {
		return "", err
	}
	c.id = col.ID
	return c.id, nil
}

// Count is the number of records.
func (c *Chroma) Count() (int, error) {
	id, err := c.collectionID()
	if err != nil {
		return -1, err
	}
	var n int
	_, err = c.call("GET", c.DB+"/collections/"+id+"/count", nil, &n)
	return n, err
}

// Get returns the records of ids that are stored (pages of 200).
func (c *Chroma) Get(ids []string) (map[string]Record, error) {
	id, err := c.collectionID()
	if err != nil {
		return nil, err
	}
	out := map[string]Record{}
	for start := 0; start < len(ids); start += 200 {
		end := start + 200
		if end > len(ids) {
			end = len(ids)
		}
		var r struct {
			IDs       []string                 `json:"ids"`
			Documents []*string                `json:"documents"`
			Metadatas []map[string]interface{} `json:"metadatas"`
		}
		req := map[string]interface{}{"ids": ids[start:end], "include": []string{"documents", "metadatas"}}
		if _, err := c.call("POST", c.DB+"/collections/"+id+"/get", req, &r); err != nil {
			return nil, err
		}
		for i, k := range r.IDs {
			rec := Record{}
			if i < len(r.Documents) && r.Documents[i] != nil {
				rec.Document = *r.Documents[i]
			}
			if i < len(r.Metadatas) {
				rec.Metadata = r.Metadatas[i]
			}
			out[k] = rec
		}
	}
	return out, nil
}

// Drop deletes the collection (the test's own).
func (c *Chroma) Drop() {
	c.call("DELETE", c.DB+"/collections/"+url.PathEscape(c.Collection), nil, nil)
}

// Document is the text the server stores for inst (DESIGN §4): labels in
// payload order, which for a Go map marshalled by encoding/json is sorted.
func Document(inst ResourceInstance) string {
	parts := []string{inst.Kind + " " + inst.Name, "namespace: " + inst.Namespace,
		"apiVersion: " + inst.APIVersion}
	if len(inst.Labels) > 0 {
		parts = append(parts, "labels: "+joinMap(inst.Labels, ", "))
	}
	if len(inst.Annotations) > 0 {
		keys := sortedKeys(inst.Annotations)
		var vals []string
		for _, k := range keys {
			vals = append(vals, inst.Annotations[k])
		}
		parts = append(parts, strings.Join(vals, ". "))
	}
	return strings.Join(parts, " | ")
}

// LabelsMeta is the stored `labels` metadata ("k1=v1,k2=v2").
func LabelsMeta(inst ResourceInstance) string { return joinMap(inst.Labels, ",") }

func joinMap(m map[string]string, sep string) string {
	var kv []string
	for _, k := range sortedKeys(m) {
		kv = append(kv, k+"="+m[k])
	}
	return strings.Join(kv, sep)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- a proxy in front of Chroma that can be cut --------------------------------

// Proxy forwards HTTP to Chroma. While cut, every new request is refused
// by closing its connection (the server sees a network error, as with
// Chroma down); requests already forwarded finish normally, so no Chroma
// write is ever abandoned half-way (Chroma 1.0 wedges when one is).
type Proxy struct {
	URL    string
	srv    *http.Server
	ln     net.Listener
	cut    atomic.Bool
	refuse atomic.Int64
	wg     sync.WaitGroup
}

// StartProxy starts a proxy to upstream on a free loopback port.
func StartProxy(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), ln: ln}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.cut.Load() {
			p.refuse.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.srv.Serve(ln) }()
	return p, nil
}

// Cut starts (true) or ends (false) the outage.
func (p *Proxy) Cut(on bool) { p.cut.Store(on) }

// Refused is how many requests the outage refused.
func (p *Proxy) Refused() int64 { return p.refuse.Load() }

// Stop closes the proxy.
func (p *Proxy) Stop() {
	p.srv.Close()
	p.wg.Wait()
}

// ---- a test's working directory --------------------------------------------------

// Scratch is a fresh directory under the state dir for one test.
func Scratch(e *Env, name string) (string, error) {
	d := filepath.Join(e.StateDir, fmt.Sprintf("contract-go-%s-%d", name, os.Getpid()))
	os.RemoveAll(d)
	return d, os.MkdirAll(d, 0o755)
}
