package plugins

import (
	"context"
	"syscall"
	"time"

	pb "github.com/mphost/mphost/plugins/proto"
	"github.com/mphost/mphost/script"
)

// Remote is a child's side of the script.Runtime seam, and its chunk store:
// every call goes to the host over the child's own connection.
type Remote struct {
	host   pb.HostClient
	self   script.ProcessInfo
	parent script.ProcessInfo
}

var _ script.Runtime = (*Remote)(nil)
var _ script.ChunkStore = (*Remote)(nil)

// Self implements script.Runtime.
func (r *Remote) Self() script.ProcessInfo { return r.self }

// Parent implements script.Runtime.
func (r *Remote) Parent() (script.ProcessInfo, bool) { return r.parent, true }

// Spawn implements script.Runtime.
func (r *Remote) Spawn(ctx context.Context, req script.SpawnRequest) (script.ProcessStatus, error) {
	s, err := r.host.Spawn(ctx, &pb.SpawnRequest{Name: req.Name, Daemon: req.Daemon, Identity: req.Identity, Payload: req.Payload})
	return statusFromProto(s), err
}

// Wait implements script.Runtime.
func (r *Remote) Wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (script.ProcessStatus, error) {
	s, err := r.host.Wait(ctx, &pb.WaitRequest{Id: id, Forever: forever, TimeoutNs: int64(timeout)})
	return statusFromProto(s), err
}

// Status implements script.Runtime.
func (r *Remote) Status(id uint64) (script.ProcessStatus, error) {
	s, err := r.host.Status(context.Background(), &pb.ProcessRef{Id: id})
	return statusFromProto(s), err
}

// Signal implements script.Runtime.
func (r *Remote) Signal(id uint64, sig syscall.Signal) error {
	_, err := r.host.Signal(context.Background(), &pb.SignalRequest{Id: id, Signal: int32(sig)})
	return err
}

// Release implements script.Runtime.
func (r *Remote) Release(id uint64) error {
	_, err := r.host.Release(context.Background(), &pb.ProcessRef{Id: id})
	return err
}

// Fetch implements script.ChunkStore.
func (r *Remote) Fetch(id script.ChunkID) (script.Chunk, error) {
	c, err := r.host.FetchChunk(context.Background(), &pb.ChunkRef{Id: id[:]})
	if err != nil {
		return script.Chunk{}, err
	}
	return script.Chunk{Name: c.Name, Source: c.Source}, nil
}

// Publish implements script.ChunkStore.
func (r *Remote) Publish(c script.Chunk) error {
	_, err := r.host.PublishChunk(context.Background(), &pb.Chunk{Name: c.Name, Source: c.Source})
	return err
}

// StatusFromProto converts a status off the wire.
func statusFromProto(s *pb.ProcessStatus) script.ProcessStatus {
	if s == nil {
		return script.ProcessStatus{}
	}
	return script.ProcessStatus{ID: s.Id, Pid: int(s.Pid), Alive: s.Alive, ExitCode: int(s.ExitCode)}
}

// StatusToProto converts a status for the wire.
func StatusToProto(s script.ProcessStatus) *pb.ProcessStatus {
	return &pb.ProcessStatus{Id: s.ID, Pid: int64(s.Pid), Alive: s.Alive, ExitCode: int32(s.ExitCode)}
}

// NewObject implements script.Runtime.
func (r *Remote) NewObject(kind string, args script.ObjectArgs) ([]uint64, error) {
	reply, err := r.host.NewObject(context.Background(), &pb.NewObjectRequest{
		Kind: kind, N: args.N, Flag: args.Flag, Wait: WaitToProto(args.Wait), Id: args.ID, Value: ValueToProto(args.Data),
	})
	if err != nil {
		return nil, err
	}
	return reply.Ids, nil
}

// Invoke implements script.Runtime.
func (r *Remote) Invoke(ctx context.Context, call script.ObjectCall) (script.ObjectReply, error) {
	reply, err := r.host.Invoke(ctx, CallToProto(call))
	if err != nil {
		return script.ObjectReply{}, err
	}
	return ReplyFromProto(reply), nil
}
