package classic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// ChunkSize is the default transfer chunk, Python's rpyc STREAM_CHUNK (64 000 bytes in rpyc
// 5.x and 6.x).
const ChunkSize = 64000

// window is how many chunk requests a transfer keeps in flight. A Python server handles one
// connection's requests in order, so writes land in order and reads return consecutive chunks;
// the window only hides the round trips.
const window = 4

// TransferOptions tunes [Client.Upload] and [Client.Download]. A nil *TransferOptions means the
// defaults.
type TransferOptions struct {
	// ChunkSize is the number of bytes per read or write request; 0 means [ChunkSize].
	ChunkSize int
	// Filter selects directory entries by base name (Python's filter argument); it is not applied
	// to the path given to Upload or Download itself. Nil copies everything.
	Filter func(name string) bool
	// IgnorePermissions leaves permission bits to the destination's defaults (umask), as
	// Python's upload/download do. By default the permission bits (mode & 0o7777) of every file
	// and directory are copied, where the destination's OS keeps them.
	IgnorePermissions bool
	// Progress, if set, is called when each file starts, after every chunk and when each file
	// is complete, from the calling goroutine.
	Progress func(Progress)
}

// Progress reports how far a transfer is.
type Progress struct {
	Path       string // the file being copied, as a source path
	FileBytes  int64  // bytes of Path copied so far
	FileSize   int64  // size of Path when the transfer planned it
	Bytes      int64  // bytes copied so far, all files
	TotalBytes int64  // bytes to copy, all files
	Files      int    // files completed (Path included once it is complete)
	TotalFiles int    // files to copy
}

func (o *TransferOptions) chunk() int {
	if o == nil || o.ChunkSize <= 0 {
		return ChunkSize
	}
	return o.ChunkSize
}

// entry is one file or directory of a transfer plan.
type entry struct {
	dir  bool
	rel  []string // path components below the transfer's root; empty for the root itself
	src  string   // source path
	mode fs.FileMode
	size int64
}

type tracker struct {
	opts *TransferOptions
	p    Progress
}

func (t *tracker) start(e entry) {
	t.p.Path, t.p.FileBytes, t.p.FileSize = e.src, 0, e.size
	t.report()
}

func (t *tracker) add(n int) {
	t.p.FileBytes += int64(n)
	t.p.Bytes += int64(n)
	t.report()
}

func (t *tracker) fileDone() {
	t.p.Files++
	t.report()
}

func (t *tracker) report() {
	if t.opts != nil && t.opts.Progress != nil {
		t.opts.Progress(t.p)
	}
}

func newTracker(opts *TransferOptions, plan []entry) *tracker {
	t := &tracker{opts: opts}
	for _, e := range plan {
		if !e.dir {
			t.p.TotalFiles++
			t.p.TotalBytes += e.size
		}
	}
	return t
}

// Upload copies a local file or directory tree to remotePath on the server (Python's
// rpyc.classic.upload). A directory is copied recursively into remotePath, which is created
// (with its parents) if needed; symbolic links are followed (a link that loops back to one of its
// ancestors is skipped), and entries that are neither regular files nor directories are skipped.
// Files are written in chunks of opts.ChunkSize through the server's open(), with permission
// bits copied unless opts.IgnorePermissions. A missing localPath fails with an error matching
// fs.ErrNotExist; a remote failure (permission denied, a file where a directory should be) is
// returned as the remote exception.
func (c *Client) Upload(ctx context.Context, localPath, remotePath string, opts *TransferOptions) error {
	plan, err := localPlan(localPath, opts)
	if err != nil {
		return fmt.Errorf("classic: upload: %w", err)
	}
	if err := c.upload(ctx, plan, remotePath, opts); err != nil {
		return fmt.Errorf("classic: upload %s to %s: %w", localPath, remotePath, err)
	}
	return nil
}

func (c *Client) upload(ctx context.Context, plan []entry, remotePath string, opts *TransferOptions) error {
	osmod, err := c.Module(ctx, "os")
	if err != nil {
		return err
	}
	builtins, err := c.Builtins(ctx)
	if err != nil {
		return err
	}
	sep, err := netref.As[string](osmod.GetAttr(ctx, "sep"))
	if err != nil {
		return err
	}
	remote := func(e entry) string {
		if len(e.rel) == 0 {
			return remotePath
		}
		return strings.TrimRight(remotePath, sep) + sep + strings.Join(e.rel, sep)
	}
	keep := opts == nil || !opts.IgnorePermissions
	t := newTracker(opts, plan)
	var dirs []entry
	for _, e := range plan {
		if e.dir {
			if _, err := osmod.CallMethod(ctx, "makedirs", remote(e), netref.Kwargs{"exist_ok": true}); err != nil {
				return err
			}
			dirs = append(dirs, e)
			continue
		}
		if err := c.uploadFile(ctx, builtins, e, remote(e), opts.chunk(), t); err != nil {
			return err
		}
		if keep {
			if _, err := osmod.CallMethod(ctx, "chmod", remote(e), int64(unixMode(e.mode))); err != nil {
				return err
			}
		}
		t.fileDone()
	}
	if keep {
		// Deepest first, so that a read-only directory is locked only after its contents.
		for i := len(dirs) - 1; i >= 0; i-- {
			if _, err := osmod.CallMethod(ctx, "chmod", remote(dirs[i]), int64(unixMode(dirs[i].mode))); err != nil {
				return err
			}
		}
	}
	return nil
}

// unixMode returns the permission bits of m in POSIX numbering (setuid 0o4000, setgid 0o2000,
// sticky 0o1000 and rwxrwxrwx).
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// goMode converts POSIX permission bits to an fs.FileMode.
func goMode(u int64) fs.FileMode {
	m := fs.FileMode(u) & fs.ModePerm
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func (c *Client) uploadFile(ctx context.Context, builtins *netref.Ref, e entry, dst string, chunk int, t *tracker) (err error) {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	rv, err := builtins.CallMethod(ctx, "open", dst, "wb")
	if err != nil {
		return err
	}
	rf, ok := rv.(*netref.Ref)
	if !ok {
		return fmt.Errorf("open(%q) returned %T", dst, rv)
	}
	defer rf.Release()
	defer func() {
		if _, cerr := rf.CallMethod(context.WithoutCancel(ctx), "close"); cerr != nil && err == nil {
			err = cerr
		}
	}()
	t.start(e)
	var inflight []*netref.AsyncResult
	var sizes []int
	drain := func(keep int) error {
		for len(inflight) > keep {
			_, werr := c.wait(ctx, inflight[0])
			if werr != nil {
				return werr
			}
			t.add(sizes[0])
			inflight, sizes = inflight[1:], sizes[1:]
		}
		return nil
	}
	buf := make([]byte, chunk)
	for {
		n, rerr := io.ReadFull(f, buf)
		if n > 0 {
			inflight = append(inflight, rf.CallMethodAsync("write", slices.Clone(buf[:n])))
			sizes = append(sizes, n)
			if err := drain(window - 1); err != nil {
				_ = drain(0)
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			_ = drain(0)
			return rerr
		}
	}
	return drain(0)
}

// wait waits for an asynchronous request, bounded like a synchronous one.
func (c *Client) wait(ctx context.Context, r *netref.AsyncResult) (any, error) {
	if d := c.conn.Config().SyncRequestTimeout; d > 0 {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, d, fmt.Errorf("%w: result expired after %v", protocol.TimeoutError, d))
			defer cancel()
		}
	}
	return r.Wait(ctx)
}

// localPlan lists what Upload copies: the root, then (for a directory) every entry depth first
// in name order.
func localPlan(root string, opts *TransferOptions) ([]entry, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.Mode().IsRegular():
		return []entry{{src: root, mode: fi.Mode(), size: fi.Size()}}, nil
	case !fi.IsDir():
		return nil, fmt.Errorf("%s is not a regular file or directory", root)
	}
	plan := []entry{{dir: true, src: root, mode: fi.Mode()}}
	var walk func(dir string, rel []string, ancestors []os.FileInfo) error
	walk = func(dir string, rel []string, ancestors []os.FileInfo) error {
		names, err := readDirNames(dir)
		if err != nil {
			return err
		}
		for _, name := range names {
			if opts != nil && opts.Filter != nil && !opts.Filter(name) {
				continue
			}
			p := filepath.Join(dir, name)
			fi, err := os.Stat(p)
			if err != nil {
				continue // a dangling symbolic link, or a file removed meanwhile
			}
			r := append(slices.Clip(rel), name)
			switch {
			case fi.Mode().IsRegular():
				plan = append(plan, entry{rel: r, src: p, mode: fi.Mode(), size: fi.Size()})
			case fi.IsDir():
				if slices.ContainsFunc(ancestors, func(a os.FileInfo) bool { return os.SameFile(a, fi) }) {
					continue // a link back up the tree
				}
				plan = append(plan, entry{dir: true, rel: r, src: p, mode: fi.Mode()})
				if err := walk(p, r, append(slices.Clip(ancestors), fi)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, nil, []os.FileInfo{fi}); err != nil {
		return nil, err
	}
	return plan, nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

// walkSource is the remote half of Download's planning: one call lists the whole tree with
// modes and sizes (following symbolic links, skipping loops and special files), as a tuple that
// travels by value. It runs in a private dict, not in the user's namespace.
const walkSource = `
def walk(top):
    import os, stat
    st = os.stat(top)
    if stat.S_ISREG(st.st_mode):
        return ((False, (), top, stat.S_IMODE(st.st_mode), st.st_size),)
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError("cannot download %r: not a regular file or directory" % (top,))
    out = [(True, (), top, stat.S_IMODE(st.st_mode), 0)]
    def visit(path, rel, seen):
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            try:
                s = os.stat(full)
            except OSError:
                continue
            if stat.S_ISDIR(s.st_mode):
                key = (s.st_dev, s.st_ino)
                if key in seen:
                    continue
                out.append((True, rel + (name,), full, stat.S_IMODE(s.st_mode), 0))
                visit(full, rel + (name,), seen | {key})
            elif stat.S_ISREG(s.st_mode):
                out.append((False, rel + (name,), full, stat.S_IMODE(s.st_mode), s.st_size))
    visit(top, (), frozenset([(st.st_dev, st.st_ino)]))
    return tuple(out)
`

// remoteWalker returns the server-side walk function, defining it on first use.
func (c *Client) remoteWalker(ctx context.Context) (*netref.Ref, error) {
	c.mu.Lock()
	w := c.walker
	c.mu.Unlock()
	if w != nil {
		return w, nil
	}
	builtins, err := c.Builtins(ctx)
	if err != nil {
		return nil, err
	}
	gv, err := builtins.CallMethod(ctx, "dict")
	if err != nil {
		return nil, err
	}
	globals, ok := gv.(*netref.Ref)
	if !ok {
		return nil, fmt.Errorf("dict() returned %T", gv)
	}
	defer globals.Release()
	if _, err := builtins.CallMethod(ctx, "exec", walkSource, globals); err != nil {
		return nil, err
	}
	fv, err := globals.GetItem(ctx, "walk")
	if err != nil {
		return nil, err
	}
	fn, ok := fv.(*netref.Ref)
	if !ok {
		return nil, fmt.Errorf("walk is a %T", fv)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.walker != nil {
		fn.Release()
		return c.walker, nil
	}
	c.walker = fn
	return fn, nil
}

// remotePlan lists what Download copies, by asking the server to walk remotePath.
func (c *Client) remotePlan(ctx context.Context, remotePath string, opts *TransferOptions) ([]entry, error) {
	walk, err := c.remoteWalker(ctx)
	if err != nil {
		return nil, err
	}
	v, err := walk.Call(ctx, remotePath)
	if err != nil {
		if errors.Is(err, protocol.FileNotFoundError) {
			return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, err
	}
	rows, ok := v.(brine.Tuple)
	if !ok {
		return nil, fmt.Errorf("walk returned %T", v)
	}
	var plan []entry
	var skipped [][]string
	for _, row := range rows {
		f, ok := row.(brine.Tuple)
		if !ok || len(f) != 5 {
			return nil, fmt.Errorf("walk returned a row %v", row)
		}
		var e entry
		e.dir, _ = f[0].(bool)
		rel, _ := f[1].(brine.Tuple)
		for _, p := range rel {
			s, _ := p.(string)
			e.rel = append(e.rel, s)
		}
		e.src, _ = f[2].(string)
		m, _ := f[3].(int64)
		e.mode = goMode(m)
		e.size, _ = f[4].(int64)
		if len(e.rel) > 0 && opts != nil && opts.Filter != nil {
			under := slices.ContainsFunc(skipped, func(s []string) bool {
				return len(e.rel) > len(s) && slices.Equal(e.rel[:len(s)], s)
			})
			if under || !opts.Filter(e.rel[len(e.rel)-1]) {
				skipped = append(skipped, e.rel)
				continue
			}
		}
		plan = append(plan, e)
	}
	return plan, nil
}

// Download copies a file or directory tree from remotePath on the server to localPath (Python's
// rpyc.classic.download), the mirror image of [Client.Upload]: the server lists the tree in one
// call, then files are read in chunks of opts.ChunkSize. Local directories are created as
// needed; permission bits are copied unless opts.IgnorePermissions. A missing remotePath fails
// with an error matching both fs.ErrNotExist and protocol.FileNotFoundError.
func (c *Client) Download(ctx context.Context, remotePath, localPath string, opts *TransferOptions) error {
	if err := c.download(ctx, remotePath, localPath, opts); err != nil {
		return fmt.Errorf("classic: download %s to %s: %w", remotePath, localPath, err)
	}
	return nil
}

func (c *Client) download(ctx context.Context, remotePath, localPath string, opts *TransferOptions) error {
	plan, err := c.remotePlan(ctx, remotePath, opts)
	if err != nil {
		return err
	}
	builtins, err := c.Builtins(ctx)
	if err != nil {
		return err
	}
	keep := opts == nil || !opts.IgnorePermissions
	t := newTracker(opts, plan)
	local := func(e entry) string { return filepath.Join(append([]string{localPath}, e.rel...)...) }
	var dirs []entry
	for _, e := range plan {
		if e.dir {
			// Writable while filling it; the final mode is set at the end.
			if err := os.MkdirAll(local(e), 0o777); err != nil {
				return err
			}
			dirs = append(dirs, e)
			continue
		}
		if err := c.downloadFile(ctx, builtins, e, local(e), opts.chunk(), t); err != nil {
			return err
		}
		if keep {
			if err := os.Chmod(local(e), e.mode); err != nil {
				return err
			}
		}
		t.fileDone()
	}
	if keep {
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Chmod(local(dirs[i]), dirs[i].mode); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Client) downloadFile(ctx context.Context, builtins *netref.Ref, e entry, dst string, chunk int, t *tracker) (err error) {
	rv, err := builtins.CallMethod(ctx, "open", e.src, "rb")
	if err != nil {
		return err
	}
	rf, ok := rv.(*netref.Ref)
	if !ok {
		return fmt.Errorf("open(%q) returned %T", e.src, rv)
	}
	defer rf.Release()
	defer func() {
		if _, cerr := rf.CallMethod(context.WithoutCancel(ctx), "close"); cerr != nil && err == nil {
			err = cerr
		}
	}()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	t.start(e)
	var inflight []*netref.AsyncResult
	defer func() {
		for _, r := range inflight { // reads past the end, or after an error: let them finish
			_, _ = c.wait(ctx, r)
		}
	}()
	eof := false
	for {
		for !eof && len(inflight) < window {
			inflight = append(inflight, rf.CallMethodAsync("read", int64(chunk)))
		}
		if len(inflight) == 0 {
			return nil
		}
		v, err := c.wait(ctx, inflight[0])
		inflight = inflight[1:]
		if err != nil {
			return err
		}
		data, ok := v.([]byte)
		if !ok {
			return fmt.Errorf("read() returned %T", v)
		}
		if len(data) == 0 {
			eof = true
			continue
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		t.add(len(data))
	}
}
