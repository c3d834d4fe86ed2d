package rpyc

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/protocol"
)

// ConnectPipes runs an RPyC connection over a pair of pipes, Python's connect_pipes(input,
// output): r carries what the peer writes, w what it reads. The connection owns both and closes
// them on Close (w first, so that the peer sees the end of its input). Use
// ConnectPipes(ctx, os.Stdin, os.Stdout) for Python's connect_stdpipes, the calling side of a
// connection over this process's own standard input and output (to serve over them, see
// server.ServeStdio).
//
// Without WithDialect the dialect is probed once, bounded like Connect's. A peer of the other
// dialect cannot be asked again over the same pipes: the error wraps
// protocol.ErrDialectMismatch and, as a *protocol.ProbeError, names the peer's dialect when it
// could be told; connect again over new pipes with WithDialect.
func ConnectPipes(ctx context.Context, r io.ReadCloser, w io.WriteCloser, opts ...Option) (*Conn, error) {
	return ConnectStream(ctx, &pipes{r: r, w: w}, opts...)
}

// SubprocWait is how long the Close of a connection made by ConnectSubproc waits for the child
// to exit once its standard input is closed, before it kills it.
const SubprocWait = 3 * time.Second

// ConnectSubproc starts cmd and runs an RPyC connection over its standard input and output,
// Python's connect_subproc: the child serves one connection over them (a Python program with
// connect_stdpipes and serve_all, or a Go one with server.ServeStdio). cmd must not be started
// and must leave Stdin and Stdout nil; its Stderr is left as it is (nil discards it).
//
// Close (or the end of the connection) closes the child's standard input, waits up to
// [SubprocWait] for it to exit, then kills it and reaps it: no child outlives the connection.
// If cmd.WaitDelay is zero it is set to SubprocWait, so that a grandchild holding the child's
// stderr cannot make Close wait forever.
//
// Without WithDialect the dialect is probed (in the one this command answered in before, in this
// process, else v5). A Python child of the other dialect refuses the probe, logs a ValueError
// traceback to its stderr and exits; ConnectSubproc then starts a copy of cmd (same Path, Args,
// Env, Dir, Stderr, ExtraFiles, SysProcAttr, WaitDelay; a copy of a command made with
// exec.CommandContext is not tied to that context, but Close ends it all the same) in the
// dialect the child named. WithDialect avoids the second start.
func ConnectSubproc(ctx context.Context, cmd *exec.Cmd, opts ...Option) (*Conn, error) {
	if cmd.Process != nil {
		return nil, errors.New("rpyc: ConnectSubproc: the command is already started")
	}
	if cmd.Stdin != nil || cmd.Stdout != nil {
		return nil, errors.New("rpyc: ConnectSubproc: the command's Stdin and Stdout must be nil (they carry the connection)")
	}
	o := buildOptions(opts)
	ctx, cancel := o.bound(ctx)
	defer cancel()
	next := cmd
	conn, err := o.probing(ctx, commandKey(cmd), func(popts ...protocol.Option) (*Conn, error) {
		// A child that refused the dialect has exited: the next attempt starts a copy of it.
		c := next
		next = cloneCmd(cmd)
		return startSubproc(ctx, c, &o, popts...)
	})
	if err != nil {
		return nil, fmt.Errorf("rpyc: connect to subprocess %s: %w", cmd.Path, err)
	}
	return conn, nil
}

// startSubproc starts cmd with pipes for its standard input and output and connects over them.
func startSubproc(ctx context.Context, cmd *exec.Cmd, o *options, opts ...protocol.Option) (*Conn, error) {
	childIn, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	r, childOut, err := os.Pipe()
	if err != nil {
		childIn.Close()
		w.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout = childIn, childOut
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = SubprocWait
	}
	err = cmd.Start()
	// The child has its own copies of its ends (or failed to start): close ours, so that our
	// reads see the end of the stream when the child exits.
	childIn.Close()
	childOut.Close()
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	p := &pipes{r: r, w: w, wait: func() error { return reap(cmd) }}
	return o.start(ctx, p, opts...)
}

// reap waits up to SubprocWait for cmd to exit (its input is closed), then kills it, and
// returns once it is reaped. A child that exits on its own or is killed here is no error.
func reap(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(SubprocWait)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
		return nil
	}
}

// cloneCmd returns an unstarted copy of cmd (see ConnectSubproc for what is copied).
func cloneCmd(cmd *exec.Cmd) *exec.Cmd {
	c := &exec.Cmd{
		Path:        cmd.Path,
		Args:        slices.Clone(cmd.Args),
		Env:         slices.Clone(cmd.Env),
		Dir:         cmd.Dir,
		Stderr:      cmd.Stderr,
		ExtraFiles:  cmd.ExtraFiles,
		SysProcAttr: cmd.SysProcAttr,
		WaitDelay:   cmd.WaitDelay,
	}
	return c
}

// commandKey names a command in the dialect memory: its path, arguments and (hashed)
// environment, since the environment can choose the child's rpyc (PYTHONPATH).
func commandKey(cmd *exec.Cmd) string {
	key := "exec:" + cmd.Path
	if len(cmd.Args) > 1 {
		key += " " + strings.Join(cmd.Args[1:], " ")
	}
	if cmd.Env != nil {
		h := fnv.New64a()
		for _, e := range cmd.Env {
			h.Write([]byte(e))
			h.Write([]byte{0})
		}
		key += fmt.Sprintf(" env:%016x", h.Sum64())
	}
	return key
}

// pipes is a pair of pipes as one stream. Close closes the writing end first (the peer sees
// the end of its input), then the reading end, then waits for the peer process if there is one.
type pipes struct {
	r    io.ReadCloser
	w    io.WriteCloser
	wait func() error // reaps the child process; nil for plain pipes

	once sync.Once
	err  error
}

func (p *pipes) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipes) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *pipes) Close() error {
	p.once.Do(func() {
		p.err = p.w.Close()
		if err := p.r.Close(); p.err == nil {
			p.err = err
		}
		if p.wait != nil {
			if err := p.wait(); p.err == nil {
				p.err = err
			}
		}
	})
	return p.err
}

// SetReadDeadline and SetWriteDeadline pass deadlines on to pipes that support them (os.File
// pipes do), so that the channel's FrameTimeout and WriteTimeout apply.
func (p *pipes) SetReadDeadline(t time.Time) error {
	if d, ok := p.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		return d.SetReadDeadline(t)
	}
	return os.ErrNoDeadline
}

// SetWriteDeadline: see SetReadDeadline.
func (p *pipes) SetWriteDeadline(t time.Time) error {
	if d, ok := p.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		return d.SetWriteDeadline(t)
	}
	return os.ErrNoDeadline
}
