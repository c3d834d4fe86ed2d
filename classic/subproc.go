package classic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// serverCode starts rpyc's classic server from its module, which rpyc 5.1+ and 6.x ship as
// rpyc.cli.rpyc_classic (Debian also installs it as /usr/bin/rpyc_classic).
const serverCode = "from rpyc.cli.rpyc_classic import main; main()"

// DefaultServerArgs are the interpreter arguments [StartPython] uses: rpyc's classic server in
// stdio mode, unbuffered and quiet, as Python's rpyc.classic.connect_subproc runs it.
var DefaultServerArgs = []string{"-u", "-c", serverCode, "-q", "-m", "stdio"}

// ErrProcessExited means the child of [StartPython] exited before the connection was made; the
// error quotes its standard error.
var ErrProcessExited = errors.New("classic: the Python process exited")

// StartPython starts a classic server as a child process and connects to it over its standard
// input and output, without a network port: Python's rpyc.classic.connect_subproc. python is the
// interpreter ("python3" when empty, looked up in PATH); it must have rpyc installed
// ([WithEnv] can set PYTHONPATH, [WithServerArgs] another entry point).
//
// The server runs rpyc's ClassicService, which calls back into the Go side as soon as it starts
// (it fetches getmodule, eval, execute and namespace); the Client serves [NewSlaveRoot]'s root
// for that. The dialect is learnt from the child's first message.
//
// ctx bounds the start (30 s when it has no deadline); it does not limit the child's lifetime.
// [Client.Close] closes the pipes, which makes the server exit, and kills it if it has not
// exited within the stop timeout ([WithStopTimeout]). If the Go program dies, the child sees
// end-of-file on its standard input and exits too.
func StartPython(ctx context.Context, python string, opts ...Option) (*Client, error) {
	o := buildOptions(opts)
	if python == "" {
		python = "python3"
	}
	args := o.serverArgs
	if args == nil {
		args = DefaultServerArgs
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	p, rwc, err := startProcess(python, args, o)
	if err != nil {
		return nil, err
	}
	cfg := o.config()
	cfg.Dialect = compat.Auto // learnt from the child's first request (its GETROOT)
	conn := protocol.New(channel.New(rwc, cfg.Channel), newSlave(), cfg, protocol.WithObjects(pyobj.Handler{}))
	fail := func(err error) (*Client, error) {
		// A child that dies on start (no rpyc, a bad argument) also breaks the connection;
		// give it a moment to be reaped so that the error can say so.
		early := false
		select {
		case <-p.done:
			early = true
		case <-time.After(200 * time.Millisecond):
		}
		conn.Close()
		p.stop()
		if early {
			return nil, fmt.Errorf("%w (%v): %w; stderr:\n%s", ErrProcessExited, p.waitErr, err, p.stderr.tail())
		}
		return nil, err
	}
	if err := waitDialect(ctx, conn, p); err != nil {
		return fail(err)
	}
	c, err := New(ctx, conn)
	if err != nil {
		return fail(err)
	}
	c.proc = p
	return c, nil
}

// waitDialect waits for the child's first message, which tells the connection its dialect.
func waitDialect(ctx context.Context, conn *protocol.Conn, p *process) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for conn.Dialect() == compat.Auto {
		select {
		case <-tick.C:
		case <-p.done:
			return errors.New("classic: the child exited before speaking")
		case <-conn.Done():
			return fmt.Errorf("classic: connection to the child closed: %w", conn.Err())
		case <-ctx.Done():
			return fmt.Errorf("classic: waiting for the child to speak: %w", context.Cause(ctx))
		}
	}
	return nil
}

// process is a child started by StartPython.
type process struct {
	cmd     *exec.Cmd
	stderr  *tailBuffer
	timeout time.Duration
	done    chan struct{} // closed when the child has exited and been reaped
	waitErr error         // valid after done
	once    sync.Once
}

func startProcess(python string, args []string, o options) (*process, io.ReadWriteCloser, error) {
	// Own both pipes (rather than Cmd.StdinPipe/StdoutPipe), so that reaping the child never
	// closes our ends under the connection's reader.
	childIn, toChild, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("classic: %w", err)
	}
	fromChild, childOut, err := os.Pipe()
	if err != nil {
		childIn.Close()
		toChild.Close()
		return nil, nil, fmt.Errorf("classic: %w", err)
	}
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdin, cmd.Stdout = childIn, childOut
	p := &process{cmd: cmd, stderr: &tailBuffer{max: 16 << 10}, timeout: o.stopTimeout, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if o.stderr != nil {
		cmd.Stderr = io.MultiWriter(p.stderr, o.stderr)
	}
	err = cmd.Start()
	childIn.Close()
	childOut.Close()
	if err != nil {
		toChild.Close()
		fromChild.Close()
		return nil, nil, fmt.Errorf("classic: start %s: %w", python, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, &pipeRWC{r: fromChild, w: toChild}, nil
}

// stop waits for the child to exit (the connection's close ended its input) and kills it after
// the timeout. It reports a kill, not the child's exit status: rpyc's server exits with 0 after a
// clean close but may report errors on the way out.
func (p *process) stop() error {
	var err error
	p.once.Do(func() {
		timer := time.NewTimer(p.timeout)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("classic: the Python process did not exit within %v after close and was killed", p.timeout)
		}
	})
	return err
}

// Pid returns the process id of the server [StartPython] started, or 0 for a network client.
func (c *Client) Pid() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.cmd.Process.Pid
}

// pipeRWC joins the child's stdout (read) and stdin (write).
type pipeRWC struct {
	r, w      *os.File
	closeOnce sync.Once
}

func (p *pipeRWC) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeRWC) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *pipeRWC) Close() error {
	var err error
	p.closeOnce.Do(func() {
		err = errors.Join(p.w.Close(), p.r.Close())
	})
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tailBuffer) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimRight(t.buf.String(), "\n")
}
