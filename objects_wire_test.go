package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/mphost/mphost/internal/proto"
)

// The shared objects' behaviour is tested by the scripts/obj_*.lua scripts
// (run by TestScripts). The objects_*_test.go files hold what a script
// cannot do: the tests of this file reach the host's gRPC service from
// outside, as a child does, and send it garbage (wire bytes). Every wait is
// bounded, and none waits on a bare sleep for another process.

// garbageScript holds a child running while the test calls the host's gRPC
// services itself, then takes what the test put into its queue and checks
// that the host still serves every process.
const garbageScript = `local mp = require("mp")
local q, go, lock = mp.Queue(), mp.Event(), mp.Lock()
print("ids " .. tostring(q):match("%d+") .. " " .. tostring(lock):match("%d+"))
local p = mp.Process{target = function(q, go)
  q:put("child ready")
  if not go:wait(20) then os.exit(2) end
  q:put("child after")
end, args = {q, go}}
p:start()
print(q:get(true, 10))
print("attack")
io.read("*l") -- the test says when it is done
print("queue empty", q:get(false))
go:set()
print(q:get(true, 10))
print("child", p:join(10), p.exitcode)
local fresh = mp.Process{target = function(q) q:put("fresh") end, args = {q}}
fresh:start()
print(q:get(true, 10), fresh:join(10), fresh.exitcode)
print("lock", lock:acquire(true, 5))
print("end")
`

// rawCodec sends and receives messages as the bytes they are, so that a
// call can carry a message that is not protobuf at all. It calls itself
// "proto", so that the server reads what it sends as protobuf.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// TestObjectHostServiceRejectsGarbage reaches the host's gRPC service the
// way a child does, through the run's unix sockets (any process of the same
// user can), and sends it garbage: bytes that are not HTTP/2, messages that
// are not protobuf, calls on objects that do not exist or with operations
// they do not have, nonsense arguments, items that are not in the codec's
// format. The host must answer each with an error, or store the item, and
// go on serving the script.
func TestObjectHostServiceRejectsGarbage(t *testing.T) {
	t.Parallel()
	tmp := shortTempDir(t)
	dir := writeFiles(t, map[string]string{"garbage.lua": garbageScript})
	s := startSession(t, dir, []string{"TMPDIR=" + tmp}, false, "run", "garbage.lua")
	ids := strings.Fields(s.nextLine(t, 30*time.Second, "ids "))
	queueID, err := strconv.ParseUint(ids[1], 10, 64)
	if err != nil {
		t.Fatalf("bad ids line %q", ids)
	}
	s.nextLine(t, 30*time.Second, "child ready")
	s.nextLine(t, 30*time.Second, "attack")

	var sockets []string
	filepath.WalkDir(tmp, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSocket != 0 {
			sockets = append(sockets, path)
		}
		return nil
	})
	if len(sockets) == 0 {
		t.Skipf("no unix socket under the run's TMPDIR %s: the host's service is not reachable from outside", tmp)
	}

	// Bytes that are not HTTP/2 on every socket.
	for _, path := range sockets {
		c, err := net.Dial("unix", path)
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\xfe garbage"))
		c.Read(make([]byte, 512))
		c.Close()
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	call := func(conn *grpc.ClientConn, method string, in, out any, opts ...grpc.CallOption) error {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		return conn.Invoke(cctx, method, in, out, opts...)
	}
	var hostSockets int
	for _, path := range sockets {
		conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Which service is this? A worker's socket does not serve Host.
		err = call(conn, pb.Host_NewObject_FullMethodName, &pb.NewObjectRequest{Kind: "NoSuchKind"}, new(pb.NewObjectReply))
		if status.Code(err) == codes.Unimplemented || status.Code(err) == codes.Unavailable {
			continue
		}
		hostSockets++
		if err == nil {
			t.Errorf("%s: a NewObject of kind NoSuchKind succeeded", path)
		}

		// Messages that are not protobuf.
		junk := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}
		for _, m := range []string{pb.Host_NewObject_FullMethodName,
			pb.Host_Spawn_FullMethodName, pb.Host_Wait_FullMethodName, pb.Host_FetchChunk_FullMethodName} {
			var out []byte
			err := call(conn, m, &junk, &out, grpc.ForceCodec(rawCodec{}))
			if err == nil {
				t.Errorf("%s %s: a message that is not protobuf was taken", path, m)
			}
			if hostSockets == 1 {
				t.Logf("%s with a message that is not protobuf: %v", m, err)
			}
		}

		// Well-formed calls that make no sense: each must fail, none hang.
		for _, req := range []*pb.NewObjectRequest{{Kind: "NoSuchKind"}, {Kind: "Condition", Lock: queueID}, {Kind: ""}} {
			if err := call(conn, pb.Host_NewObject_FullMethodName, req, new(pb.NewObjectReply)); err == nil {
				t.Errorf("%s: NewObject %v succeeded", path, req)
			}
		}
		// Nonsense arguments: the host may take them or refuse them.
		for _, req := range []*pb.NewObjectRequest{
			{Kind: "Semaphore", Count: -7}, {Kind: "Queue", MaxSize: -1 << 62}, {Kind: "Barrier", Parties: 1 << 62}, {Kind: "Barrier", Parties: -3},
		} {
			call(conn, pb.Host_NewObject_FullMethodName, req, new(pb.NewObjectReply))
		}
	}
	if hostSockets == 0 {
		t.Skipf("none of the sockets %v serves the Host service", sockets)
	}
	t.Logf("%d sockets, %d serving Host", len(sockets), hostSockets)
	if _, err := fmt.Fprintln(s.stdin, "done"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"queue empty\tnil\tempty", "child after", "child\ttrue\t0", "fresh\ttrue\t0", "lock\ttrue", "end"} {
		if line := s.nextLine(t, 20*time.Second, ""); line != want {
			t.Errorf("stdout line %q, want %q", line, want)
		}
	}
	if code := s.wait(t, 20*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}
}
