package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/peterh/liner"
)

// linerReader is the shell's line editor on a terminal: github.com/peterh/liner (history,
// Emacs-style editing, Ctrl-R search, Tab completion), with the history kept in historyFile.
type linerReader struct {
	s    *liner.State
	path string
}

func newLinerReader() lineReader {
	s := liner.NewLiner()
	s.SetCtrlCAborts(true)
	s.SetMultiLineMode(true)
	s.SetTabCompletionStyle(liner.TabPrints)
	s.SetBeep(false)
	r := &linerReader{s: s, path: historyFile()}
	if r.path != "" {
		if f, err := os.Open(r.path); err == nil {
			_, _ = s.ReadHistory(f)
			f.Close()
		}
	}
	return r
}

func (r *linerReader) Prompt(p string) (string, error) {
	line, err := r.s.Prompt(p)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errPromptAborted
	}
	return line, err
}

func (r *linerReader) AppendHistory(line string) { r.s.AppendHistory(line) }

func (r *linerReader) SetCompleter(f func(line string, pos int) (string, []string, string)) {
	r.s.SetWordCompleter(f)
}

// Close saves the history (the last 1000 lines, owner-only) and restores the terminal.
func (r *linerReader) Close() error {
	if r.path != "" {
		if f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
			_, _ = r.s.WriteHistory(f)
			f.Close()
		}
	}
	return r.s.Close()
}

// historyFile is where the shell keeps its history: $RPYC_HISTORY if set (empty: no history),
// else ~/.rpyc_history.
func historyFile() string {
	if p, ok := os.LookupEnv("RPYC_HISTORY"); ok {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".rpyc_history")
}
