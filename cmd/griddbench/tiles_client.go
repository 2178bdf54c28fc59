package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The warm-tile load client runs in a process of its own (griddbench
// re-executed with GRIDDBENCH_TILE_CLIENT holding its job as JSON), so that
// the server's figures are not its client's. It is a lean HTTP/1.1 client,
// as load generators are: keep-alive connections, one request in flight on
// each, the response's headers read and its body skipped by Content-Length,
// so that the two shared cores go mostly to the server.

// tileClientJob is what the client is asked to do.
type tileClientJob struct {
	Base     string        `json:"base"` // http://host:port
	Paths    []string      `json:"paths"`
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
	Accept   string        `json:"accept"` // Accept-Encoding sent
}

// tileClientResult is what it measured.
type tileClientResult struct {
	Requests  int            `json:"requests"`
	Seconds   float64        `json:"seconds"`
	Bytes     int64          `json:"bytes"`
	P50us     float64        `json:"p50_us"`
	P99us     float64        `json:"p99_us"`
	Encodings map[string]int `json:"encodings"` // Content-Encoding → responses
	// CPU seconds (user + system) of the client process, set by tileLoad.
	ClientCPU float64 `json:"-"`
}

func init() {
	spec := os.Getenv("GRIDDBENCH_TILE_CLIENT")
	if spec == "" {
		return
	}
	var job tileClientJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		fmt.Fprintf(os.Stderr, "griddbench tile client: %v\n", err)
		os.Exit(2)
	}
	res, err := runTileClient(job)
	if err != nil {
		fmt.Fprintf(os.Stderr, "griddbench tile client: %v\n", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res) //nolint:errcheck
	os.Exit(0)
}

// cpuSeconds is the user + system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// tileLoad runs the client process and returns what it measured.
func tileLoad(job tileClientJob) (tileClientResult, error) {
	var res tileClientResult
	spec, err := json.Marshal(job)
	if err != nil {
		return res, err
	}
	exe, err := os.Executable()
	if err != nil {
		return res, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "GRIDDBENCH_TILE_CLIENT="+string(spec))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("tile client: %w", err)
	}
	err = json.Unmarshal(out.Bytes(), &res)
	res.ClientCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return res, err
}

func runTileClient(job tileClientJob) (tileClientResult, error) {
	u, err := url.Parse(job.Base)
	if err != nil {
		return tileClientResult{}, err
	}
	reqs := make([][]byte, len(job.Paths))
	for i, p := range job.Paths {
		h := "GET " + p + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: griddbench\r\nAccept: */*\r\n"
		if job.Accept != "" {
			h += "Accept-Encoding: " + job.Accept + "\r\n"
		}
		reqs[i] = []byte(h + "\r\n")
	}
	var (
		n, nbytes atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		encs      = map[string]int{}
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(job.Duration)
	for g := range job.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myEncs := map[string]int{}
			err := func() error {
				conn, err := net.Dial("tcp", u.Host)
				if err != nil {
					return err
				}
				defer conn.Close()
				br := bufio.NewReaderSize(conn, 64<<10)
				for i := g; time.Now().Before(stop); i++ {
					t0 := time.Now()
					if _, err := conn.Write(reqs[i%len(reqs)]); err != nil {
						return err
					}
					size, enc, err := readResponse(br)
					if err != nil {
						return fmt.Errorf("%s: %w", job.Paths[i%len(reqs)], err)
					}
					if i%8 == 0 {
						mine = append(mine, time.Since(t0))
						myEncs[enc]++
					}
					n.Add(1)
					nbytes.Add(int64(size))
				}
				return nil
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			lat = append(lat, mine...)
			for k, v := range myEncs {
				encs[k] += v
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return tileClientResult{}, firstErr
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / 1e3
	}
	return tileClientResult{Requests: int(n.Load()), Seconds: elapsed.Seconds(), Bytes: nbytes.Load(),
		P50us: p(0.5), P99us: p(0.99), Encodings: encs}, nil
}

// readResponse reads one response: a 200 with a Content-Length, whose body
// it skips. It returns the body's size and its Content-Encoding.
func readResponse(br *bufio.Reader) (int, string, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, "", err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return 0, "", fmt.Errorf("status %q", strings.TrimSpace(string(line)))
	}
	size, enc := -1, ""
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			size, err = strconv.Atoi(string(v))
			if err != nil {
				return 0, "", fmt.Errorf("Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Content-Encoding")):
			enc = string(v)
		}
	}
	if size < 0 {
		return 0, "", fmt.Errorf("response without Content-Length")
	}
	if _, err := br.Discard(size); err != nil {
		return 0, "", err
	}
	return size, enc, nil
}

// rawClient is one keep-alive connection of the lean client, for requests
// timed one at a time.
type rawClient struct {
	host string
	conn net.Conn
	br   *bufio.Reader
}

func newRawClient(base string) (*rawClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	return &rawClient{host: u.Host, conn: conn, br: bufio.NewReaderSize(conn, 64<<10)}, nil
}

// get requests path and reads a 200 response; it returns the body's size
// and coding.
func (c *rawClient) get(path, accept string) (int, string, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + c.host + "\r\nUser-Agent: griddbench\r\nAccept: */*\r\n"
	if accept != "" {
		req += "Accept-Encoding: " + accept + "\r\n"
	}
	if _, err := c.conn.Write([]byte(req + "\r\n")); err != nil {
		return 0, "", err
	}
	size, enc, err := readResponse(c.br)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", path, err)
	}
	return size, enc, nil
}

func (c *rawClient) Close() error { return c.conn.Close() }

// A remote client is a rawClient in a process of its own, driven over
// pipes, for requests timed one at a time: the cold-tile figures, whose
// client must not share the server's scheduler (in one process, a
// goroutine the server starts after answering, such as a tile's
// compression, can delay the client reading that answer). The bench writes
// "path<TAB>accept-encoding" lines; the child sends each request on its
// keep-alive connection and answers with the nanoseconds from writing the
// request to reading the body's last byte, or "error: ...".
type remoteClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func init() {
	base := os.Getenv("GRIDDBENCH_REMOTE_CLIENT")
	if base == "" {
		return
	}
	rc, err := newRawClient(base)
	if err != nil {
		fmt.Fprintf(os.Stderr, "griddbench remote client: %v\n", err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		path, accept, _ := strings.Cut(in.Text(), "\t")
		start := time.Now()
		_, _, err := rc.get(path, accept)
		d := time.Since(start)
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
		} else {
			fmt.Fprintf(out, "%d\n", d.Nanoseconds())
		}
		out.Flush() //nolint:errcheck
	}
	os.Exit(0)
}

func newRemoteClient(base string) (*remoteClient, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "GRIDDBENCH_REMOTE_CLIENT="+base)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &remoteClient{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// get has the child request path and returns how long the request took.
func (c *remoteClient) get(path, accept string) (time.Duration, error) {
	if _, err := fmt.Fprintf(c.in, "%s\t%s\n", path, accept); err != nil {
		return 0, err
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("remote client: %w", err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return 0, fmt.Errorf("remote client: %s", msg)
	}
	ns, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("remote client: %q", line)
	}
	return time.Duration(ns), nil
}

func (c *remoteClient) Close() error {
	c.in.Close()
	return c.cmd.Wait()
}
