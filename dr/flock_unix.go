//go:build unix

package dr

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock (flock) on a file of dir, so
// that processes sharing a journal directory serialise their check-and-set
// of the environment's slot. The returned function releases it.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(dir+"/.mutex", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
