package host

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mphost/mphost/internal/child"
	"github.com/mphost/mphost/internal/objects"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/vm"
)

// service is the Host gRPC service as one child sees it: each child has its
// own, so every call knows its caller.
type service struct {
	pb.UnimplementedHostServer
	h         *Host
	childProc *childProc // the caller is the process it runs
}

// Lifeline holds the child's stream open until the child or the host goes.
func (s *service) Lifeline(_ *pb.Empty, stream pb.Host_LifelineServer) error {
	select {
	case <-stream.Context().Done():
	case <-s.h.children.lifelines:
	}
	return nil
}

func (s *service) Spawn(ctx context.Context, req *pb.SpawnRequest) (*pb.ProcessStatus, error) {
	caller := s.childProc.running()
	if caller == nil {
		return nil, errors.New("spawn from a child that runs no process")
	}
	st, err := s.h.spawn(ctx, caller, vm.SpawnRequest{
		Name: req.Name, Daemon: req.Daemon, Identity: req.Identity, Payload: req.Payload,
	})
	if err != nil {
		return nil, err
	}
	return child.StatusToProto(st), nil
}

func (s *service) Wait(ctx context.Context, req *pb.WaitRequest) (*pb.ProcessStatus, error) {
	st, err := s.h.procs.wait(ctx, req.Id, time.Duration(req.TimeoutNs), req.Forever)
	if err != nil {
		return nil, err
	}
	return child.StatusToProto(st), nil
}

func (s *service) Status(_ context.Context, req *pb.ProcessRef) (*pb.ProcessStatus, error) {
	p, err := s.h.procs.get(req.Id)
	if err != nil {
		return nil, err
	}
	return child.StatusToProto(p.status()), nil
}

func (s *service) Signal(_ context.Context, req *pb.SignalRequest) (*pb.Empty, error) {
	return &pb.Empty{}, s.h.procs.signal(req.Id, syscall.Signal(req.Signal))
}

func (s *service) Release(_ context.Context, req *pb.ProcessRef) (*pb.Empty, error) {
	return &pb.Empty{}, s.h.procs.release(req.Id)
}

// FetchChunk answers from the host's chunks, or, for a process of a
// cluster worker's pool, from the run that submitted its tasks.
func (s *service) FetchChunk(_ context.Context, req *pb.ChunkRef) (*pb.Chunk, error) {
	var id vm.ChunkID
	copy(id[:], req.Id)
	c, err := s.h.chunks.Fetch(id)
	if p := s.childProc.running(); err != nil && p != nil && p.link != nil {
		if c, err = p.link.chunks.Fetch(id); err == nil {
			s.h.chunks.Add(c)
		}
	}
	if err != nil {
		return nil, err
	}
	return &pb.Chunk{Name: c.Name, Source: c.Source}, nil
}

// PublishChunk keeps a chunk a child loaded, and gives it to the cluster run
// of a process of a cluster worker's pool, whose results may refer to it.
func (s *service) PublishChunk(_ context.Context, req *pb.Chunk) (*pb.Empty, error) {
	c := vm.Chunk{Name: req.Name, Source: req.Source}
	if p := s.childProc.running(); p != nil && p.link != nil {
		if err := p.link.chunks.Publish(c); err != nil {
			return nil, err
		}
	}
	return &pb.Empty{}, s.h.chunks.Publish(c)
}

func (s *service) NewObject(_ context.Context, req *pb.NewObjectRequest) (*pb.NewObjectReply, error) {
	owner, err := s.owner()
	if err != nil {
		return nil, err
	}
	ids, err := s.h.newObject(owner, req.Kind, child.ObjectArgsFromProto(req))
	if err != nil {
		return nil, err
	}
	return &pb.NewObjectReply{Ids: ids}, nil
}

func (s *service) Invoke(ctx context.Context, req *pb.ObjectCall) (*pb.ObjectReply, error) {
	owner, err := s.owner()
	if err != nil {
		return nil, err
	}
	reply, err := s.h.invoke(ctx, owner, child.CallFromProto(req), s)
	if err != nil {
		return nil, err
	}
	return child.ReplyToProto(reply), nil
}

// openPipe hands a child the socket of pipe end e (which it holds), so
// that it sends and receives on it itself; the reply says which ways the
// end goes (Ways: child.PipeReadable, child.PipeWritable) and the id of
// the child's tally (Tally).
func openPipe(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
	if c.svc == nil {
		return vm.ObjectReply{}, errors.New("only a child process opens a pipe's socket")
	}
	h, id := c.h, c.call.ID
	// The child's tally of what it counts on the end's gate is a word of
	// its own in the shared memory, so an id of its own.
	newTally := func() (uint64, *atomic.Uint64) {
		tallyID := h.objects.Add(pipeTally{})
		return tallyID, h.values.Word(tallyID)
	}
	tallyID, err := e.Socket(c.owner, newTally, func(fd int) error { return c.svc.childProc.sendSocket(id, fd) })
	if err != nil {
		return vm.ObjectReply{}, err
	}
	var ways int64
	if e.Readable() {
		ways |= child.PipeReadable
	}
	if e.Writable() {
		ways |= child.PipeWritable
	}
	return vm.ObjectReply{OK: true, Ways: ways, Tally: tallyID}, nil
}

// pipeTally holds, in the registry, the id whose slot is a child's tally
// of a pipe end (see objects.PipeEnd.Socket).
type pipeTally struct{}

// owner is the process on whose behalf the caller acts.
func (s *service) owner() (objects.Owner, error) {
	p := s.childProc.running()
	if p == nil {
		return 0, errors.New("a call from a child that runs no process")
	}
	return objects.Owner(p.id), nil
}

func (s *service) PutBatch(ctx context.Context, req *pb.PutBatchRequest) (*pb.PutBatchReply, error) {
	owner, err := s.owner()
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(req.Items))
	items := make([][]byte, len(req.Items))
	for i, item := range req.Items {
		ids[i], items[i] = item.QueueId, item.Data
	}
	dropped, err := s.h.putBatch(ctx, owner, ids, items)
	if err != nil {
		return nil, err
	}
	return &pb.PutBatchReply{Dropped: dropped}, nil
}
