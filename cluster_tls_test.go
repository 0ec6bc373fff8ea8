package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mphost/mphost/cluster"
)

// A cluster whose server speaks TLS only (a tls:// URL) works as a nats:// one: a worker and a
// run that trust the server's self-signed certificate (through SSL_CERT_FILE, as any program
// on the machine would) run a map on it. Not parallel: it sets the environment of the
// processes it starts.
func TestClusterTLS(t *testing.T) {
	cert, caPEM := selfSigned(t)
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

// selfSigned makes a certificate for 127.0.0.1 and the PEM of itself as its CA.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mphost test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
