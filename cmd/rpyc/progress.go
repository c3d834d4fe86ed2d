package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gorpyc/rpyc/classic"
)

// progressBar draws a one-line transfer progress bar on a terminal, redrawn at most ten times a
// second:
//
//	45% [=========>           ]   4.5 MB / 10.0 MB   12.3 MB/s  file.bin
type progressBar struct {
	w     io.Writer
	start time.Time
	last  time.Time
	drawn bool
	p     classic.Progress
}

const barWidth = 24

func (b *progressBar) update(p classic.Progress) {
	b.p = p
	now := time.Now()
	if b.drawn && now.Sub(b.last) < 100*time.Millisecond && p.Bytes < p.TotalBytes {
		return
	}
	b.last = now
	b.draw()
}

func (b *progressBar) draw() {
	p := b.p
	frac := 1.0
	if p.TotalBytes > 0 {
		frac = float64(p.Bytes) / float64(p.TotalBytes)
	}
	filled := int(frac * barWidth)
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	rate := 0.0
	if s := time.Since(b.start).Seconds(); s > 0 {
		rate = float64(p.Bytes) / s / 1e6
	}
	name := filepath.Base(p.Path)
	if len(name) > 24 {
		name = name[:21] + "..."
	}
	fmt.Fprintf(b.w, "\r%3.0f%% [%s] %9s / %-9s %6.1f MB/s  %-24s", frac*100, bar,
		humanBytes(p.Bytes), humanBytes(p.TotalBytes), rate, name)
	b.drawn = true
}

// finish draws the final state and ends the line.
func (b *progressBar) finish() {
	if !b.drawn {
		return
	}
	b.draw()
	fmt.Fprintln(b.w)
}
