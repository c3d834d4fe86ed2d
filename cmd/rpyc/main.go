// Command rpyc talks to RPyC servers from the command line: it evaluates and executes Python on
// classic servers (rpyc_classic), calls methods of any service, copies files and directories,
// checks that a server answers, offers an interactive shell, lists a registry's services and
// taps connections to show every message on the wire.
//
//	go install ./cmd/...                    (from a checkout of gorpyc)
//
//	rpyc eval HOST[:PORT] EXPR             evaluate a Python expression, print its repr
//	rpyc exec HOST[:PORT] FILE|-           execute Python statements from a file or stdin
//	rpyc call HOST:PORT METHOD [ARGS...]   call root.METHOD(ARGS) on any service
//	rpyc upload HOST[:PORT] LOCAL REMOTE   copy a file or directory to the server
//	rpyc download HOST[:PORT] REMOTE LOCAL copy a file or directory from the server
//	rpyc ping HOST[:PORT]                  check that a server answers
//	rpyc shell HOST[:PORT]                 interactive Python shell on a classic server
//	rpyc services [NAME...]                list a registry's services and their endpoints
//	rpyc tap LISTEN UPSTREAM               a proxy that prints every RPyC message both ways
//
// The port defaults to 18812, the classic server's (18821 with --tls). With --ssh user@host the
// connection goes through an SSH tunnel, like Python's ssh_connect, and HOST is the server as the
// SSH host sees it (rpyc --ssh me@box eval localhost "1+1"). Flags may come anywhere on
// the line. Exit status: 0 success, 1 the remote code raised an exception (its remote traceback
// is printed) or a local file could not be read or written, 2 usage error, 3 connection error,
// 130 interrupted. Run `rpyc help COMMAND` for each command's flags; the README's CLI reference
// has the details.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, terminal: isTerminal,
		interrupts: sigs, hardExit: os.Exit, lineEditor: newLinerReader}
	code := a.run(context.Background(), os.Args[1:])
	signal.Stop(sigs)
	os.Exit(code)
}

// isTerminal reports whether f is an *os.File open on a terminal (a character device).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
