package cluster

import (
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/testcert"
)

// A client without the token, or with a wrong one, is refused at once with an error that says
// so and does not show the token; nothing listening is said as plainly.
func TestConnectRefusedWithoutToken(t *testing.T) {
	s := startServer(t)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	token := u.User.Username()
	if len(token) < 32 {
		t.Fatalf("URL %s: want a token of 32 hex digits", s.URL())
	}
	for _, bad := range []string{"nats://" + u.Host, "nats://wrong@" + u.Host} {
		start := time.Now()
		c, err := Connect(bad, ConnectOptions{})
		if err == nil {
			c.Close()
			t.Fatalf("Connect(%s) worked", bad)
		}
		if took := time.Since(start); took > bound/2 {
			t.Errorf("Connect(%s) took %v to fail", bad, took)
		}
		if msg := err.Error(); !strings.Contains(msg, "refused the credentials") || strings.Contains(msg, "wrong") {
			t.Errorf("Connect(%s): %q: want a refusal that does not show the credentials", bad, msg)
		}
	}
	c := connect(t, s.URL())
	if c.Where() != "nats://"+u.Host || strings.Contains(c.Where(), token) {
		t.Errorf("Where() = %q, want the URL without its token", c.Where())
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	l.Close()
	_, err = Connect("nats://"+token+"@"+free, ConnectOptions{})
	if err == nil || !strings.Contains(err.Error(), "no NATS server answers at nats://"+free) || strings.Contains(err.Error(), token) {
		t.Errorf("Connect to nothing: %v", err)
	}
}

// A server given a TLS configuration speaks only TLS; Connect trusts it through a CA file.
func TestServeTLS(t *testing.T) {
	cert, caPEM := testcert.SelfSigned(t)
	s, err := Serve(ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Token: "sesame",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	if !strings.HasPrefix(s.URL(), "tls://sesame@127.0.0.1:") {
		t.Fatalf("URL = %s", s.URL())
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Connect(s.URL(), ConnectOptions{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := newRun(t, c, RunConfig{InFlight: 1})
	startWorker(t, c, WorkerConfig{Slots: 1, Run: echo("w")})
	submit(t, r, "over tls")
	if res := next(t, r); string(res.Data) != "w:over tls" {
		t.Errorf("result %q", res.Data)
	}
	if _, err := Connect(s.URL(), ConnectOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Connect without the CA: %v, want a certificate error", err)
	}
}

// The server stops with Shutdown: it takes no connection after.
func TestServeShutdown(t *testing.T) {
	s, err := Serve(ServerConfig{Listen: "127.0.0.1:-1", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Connect(s.URL(), ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Shutdown()
	s.Shutdown()
	if c, err := Connect(s.URL(), ConnectOptions{}); err == nil || !strings.Contains(err.Error(), "no NATS server answers") {
		if c != nil {
			c.Close()
		}
		t.Errorf("Connect after Shutdown: %v", err)
	}
}
