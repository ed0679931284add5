package pgharness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// PostgreSQL children call setsid(), so they are not in the postmaster's
// process group: the harness finds them through /proc (every server
// process is a direct child of the postmaster).

// childPids returns the pids of the live processes whose parent is ppid.
func childPids(ppid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if pp, state, ok := procStat(pid); ok && pp == ppid && state != 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// procStat returns the parent pid and state of pid.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+4 >= len(b) {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, 0, false
	}
	pp, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, 0, false
	}
	return pp, f[0][0], true
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z'
}

func signalAll(pids []int, sig syscall.Signal) {
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
}
