package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mphost/mphost/cluster"
	"github.com/mphost/mphost/internal/testcert"
)

// A cluster whose server speaks TLS only (a tls:// URL) works as a nats:// one: a worker and a
// run that trust the server's self-signed certificate (through SSL_CERT_FILE, as any program
// on the machine would) run a map on it. Not parallel: it sets the environment of the
// processes it starts.
func TestClusterTLS(t *testing.T) {
	cert, caPEM := testcert.SelfSigned(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", ca)
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(),
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if !strings.HasPrefix(srv.URL(), "tls://") {
		t.Fatalf("URL %s, want tls://", srv.URL())
	}
	c := &testCluster{url: srv.URL()}
	tmp := shortTempDir(t)
	w := startSession(t, t.TempDir(), []string{"TMPDIR=" + tmp}, false, "cluster", "worker", c.url, "--processes", "1")
	stderrLine(t, w, "taking tasks from tls://127.0.0.1:")
	c.workers, c.tmp = []*session{w}, []string{tmp}
	c.run(t, `print(table.concat(require("mp").Pool(1):map(function(x) return x * 3 end, {1, 2, 3}), " "))`).expect(t, 0, "3 6 9\n", "")
	c.stop(t)
}
