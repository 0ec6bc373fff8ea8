package child

import (
	"time"

	"github.com/mphost/mphost/internal/ops"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/vm"
)

// Conversions between the script package's types and their wire form, in
// one place for host and child.

// WaitToProto converts a Wait for the wire.
func WaitToProto(w vm.Wait) *pb.Wait {
	return &pb.Wait{Block: w.Block, Forever: w.Forever, TimeoutNs: int64(w.Timeout)}
}

// WaitFromProto converts a Wait off the wire.
func WaitFromProto(w *pb.Wait) vm.Wait {
	if w == nil {
		return vm.Wait{}
	}
	return vm.Wait{Block: w.Block, Forever: w.Forever, Timeout: time.Duration(w.TimeoutNs)}
}

// ValueToProto converts a Value for the wire.
func ValueToProto(v vm.Value) *pb.Value {
	return &pb.Value{Data: v.Data, Number: v.Number, IsNumber: v.IsNumber}
}

// ValueFromProto converts a Value off the wire.
func ValueFromProto(v *pb.Value) vm.Value {
	if v == nil {
		return vm.Value{}
	}
	return vm.Value{Data: v.Data, Number: v.Number, IsNumber: v.IsNumber}
}

// ObjectArgsToProto converts a constructor's arguments for the wire.
func ObjectArgsToProto(kind string, a vm.ObjectArgs) *pb.NewObjectRequest {
	return &pb.NewObjectRequest{
		Kind: kind, Count: a.Count, Bounded: a.Bounded, MaxSize: a.MaxSize, Parties: a.Parties,
		Timeout: WaitToProto(a.Timeout), Duplex: a.Duplex, Capacity: a.Capacity, Lock: a.Lock,
		Initial: ValueToProto(a.Initial),
		Pool: &pb.PoolArgs{Processes: a.Pool.Processes, MaxTasksPerChild: a.Pool.MaxTasksPerChild,
			TaskTimeout: WaitToProto(a.Pool.TaskTimeout), Progress: a.Pool.Progress},
	}
}

// ObjectArgsFromProto converts a constructor's arguments off the wire.
func ObjectArgsFromProto(r *pb.NewObjectRequest) vm.ObjectArgs {
	a := vm.ObjectArgs{
		Count: r.Count, Bounded: r.Bounded, MaxSize: r.MaxSize, Parties: r.Parties,
		Timeout: WaitFromProto(r.Timeout), Duplex: r.Duplex, Capacity: r.Capacity, Lock: r.Lock,
		Initial: ValueFromProto(r.Initial),
	}
	if p := r.Pool; p != nil {
		a.Pool = vm.PoolArgs{Processes: p.Processes, MaxTasksPerChild: p.MaxTasksPerChild,
			TaskTimeout: WaitFromProto(p.TaskTimeout), Progress: p.Progress}
	}
	return a
}

// CallToProto converts an ObjectCall for the wire.
func CallToProto(c vm.ObjectCall) *pb.ObjectCall {
	return &pb.ObjectCall{Id: c.ID, Op: uint32(c.Op), Wait: WaitToProto(c.Wait), Value: ValueToProto(c.Value),
		Count: c.Count, Method: c.Method, Batch: c.Batch, Task: c.Task, Func: c.Func, ErrText: c.ErrText, Message: c.Message}
}

// CallFromProto converts an ObjectCall off the wire.
func CallFromProto(c *pb.ObjectCall) vm.ObjectCall {
	return vm.ObjectCall{ID: c.Id, Op: ops.Op(c.Op), Wait: WaitFromProto(c.Wait), Value: ValueFromProto(c.Value),
		Count: c.Count, Method: c.Method, Batch: c.Batch, Task: c.Task, Func: c.Func, ErrText: c.ErrText, Message: c.Message}
}

// ReplyToProto converts an ObjectReply for the wire.
func ReplyToProto(r vm.ObjectReply) *pb.ObjectReply {
	return &pb.ObjectReply{Ok: r.OK, Status: r.Status, Value: ValueToProto(r.Value), Result: r.Result, Lock: r.Lock, Maxsize: r.Maxsize,
		Batch: r.Batch, Task: r.Task, Func: r.Func, FuncCode: r.FuncCode, ErrText: r.ErrText, Ways: r.Ways, Tally: r.Tally}
}

// ReplyFromProto converts an ObjectReply off the wire.
func ReplyFromProto(r *pb.ObjectReply) vm.ObjectReply {
	return vm.ObjectReply{OK: r.Ok, Status: r.Status, Value: ValueFromProto(r.Value), Result: r.Result, Lock: r.Lock, Maxsize: r.Maxsize,
		Batch: r.Batch, Task: r.Task, Func: r.Func, FuncCode: r.FuncCode, ErrText: r.ErrText, Ways: r.Ways, Tally: r.Tally}
}

// statusFromProto converts a status off the wire.
func statusFromProto(s *pb.ProcessStatus) vm.ProcessStatus {
	if s == nil {
		return vm.ProcessStatus{}
	}
	return vm.ProcessStatus{ID: s.Id, Pid: int(s.Pid), Alive: s.Alive, ExitCode: int(s.ExitCode)}
}

// StatusToProto converts a status for the wire.
func StatusToProto(s vm.ProcessStatus) *pb.ProcessStatus {
	return &pb.ProcessStatus{Id: s.ID, Pid: int64(s.Pid), Alive: s.Alive, ExitCode: int32(s.ExitCode)}
}
