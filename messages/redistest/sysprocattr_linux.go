package redistest

import "syscall"

// sysProcAttr asks Linux to kill redis-server if the test process dies
// before its cleanup runs (a crash, a timeout's SIGQUIT), so none is left
// behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
