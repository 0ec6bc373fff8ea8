package vm

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// loneRuntime is the Runtime of a VM that runs without a host: it is the
// main process and cannot start others.
type loneRuntime struct{}

var errNoHost = errors.New("this VM runs without a host, so it cannot start processes")

func (loneRuntime) Self() ProcessInfo           { return ProcessInfo{Name: "MainProcess", Pid: os.Getpid()} }
func (loneRuntime) Parent() (ProcessInfo, bool) { return ProcessInfo{}, false }
func (loneRuntime) Spawn(context.Context, SpawnRequest) (ProcessStatus, error) {
	return ProcessStatus{}, errNoHost
}
func (loneRuntime) Wait(context.Context, uint64, time.Duration, bool) (ProcessStatus, error) {
	return ProcessStatus{}, errNoHost
}
func (loneRuntime) Status(uint64) (ProcessStatus, error)           { return ProcessStatus{}, errNoHost }
func (loneRuntime) Signal(uint64, syscall.Signal) error            { return errNoHost }
func (loneRuntime) Release(uint64) error                           { return errNoHost }
func (loneRuntime) NewObject(string, ObjectArgs) ([]uint64, error) { return nil, errNoHost }
func (loneRuntime) Invoke(context.Context, ObjectCall) (ObjectReply, error) {
	return ObjectReply{}, errNoHost
}
