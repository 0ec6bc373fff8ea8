package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// credsServer starts a NATS server with JetStream that trusts an operator of its own (JWT
// authentication, no token) and returns its URL and a credentials file of a user of its
// account.
func credsServer(t *testing.T) (url, creds string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	operator, err := nkeys.CreateOperator()
	must(err)
	account, err := nkeys.CreateAccount()
	must(err)
	user, err := nkeys.CreateUser()
	must(err)
	operatorPub, _ := operator.PublicKey()
	accountPub, _ := account.PublicKey()
	userPub, _ := user.PublicKey()

	system, err := nkeys.CreateAccount() // JetStream needs a system account
	must(err)
	systemPub, _ := system.PublicKey()
	oc := jwt.NewOperatorClaims(operatorPub)
	oc.SystemAccount = systemPub
	_, err = oc.Encode(operator)
	must(err)
	systemJWT, err := jwt.NewAccountClaims(systemPub).Encode(operator)
	must(err)
	ac := jwt.NewAccountClaims(accountPub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	accountJWT, err := ac.Encode(operator)
	must(err)
	userJWT, err := jwt.NewUserClaims(userPub).Encode(account)
	must(err)
	seed, _ := user.Seed()
	file, err := jwt.FormatUserConfig(userJWT, seed)
	must(err)
	creds = filepath.Join(t.TempDir(), "user.creds")
	must(os.WriteFile(creds, file, 0o600))

	resolver := &server.MemAccResolver{}
	must(resolver.Store(accountPub, accountJWT))
	must(resolver.Store(systemPub, systemJWT))
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver, SystemAccount: systemPub, NoLog: true, NoSigs: true})
	must(err)
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(clusterBound) {
		t.Fatalf("the server takes no connections within %v", clusterBound)
	}
	return srv.ClientURL(), creds
}

// With a server of one's own that authenticates with JWTs, a worker given --creds and a run
// given --cluster-creds run a map; without the file both are refused at once.
func TestClusterCreds(t *testing.T) {
	t.Parallel()
	url, creds := credsServer(t)
	tmp := shortTempDir(t)
	w := startSession(t, t.TempDir(), []string{"TMPDIR=" + tmp}, false, "cluster", "worker", url, "--processes", "1", "--creds", creds)
	stderrLine(t, w, "taking tasks from nats://127.0.0.1:")
	c := &testCluster{url: url, workers: []*session{w}, tmp: []string{tmp}}
	dir := writeFiles(t, map[string]string{"job.lua": `print(table.concat(require("mp").Pool(1):map(function(x) return -x end, {1, 2}), " "))`})
	invocation{args: []string{"run", "--cluster", url, "--cluster-creds", creds, "job.lua"}, dir: dir, timeout: 2 * clusterBound}.run(t).expect(t, 0, "-1 -2\n", "")
	start := time.Now()
	for _, args := range [][]string{{"run", "--cluster", url, "job.lua"}, {"cluster", "worker", url}} {
		r := invocation{args: args, dir: dir, timeout: clusterBound}.run(t)
		if r.code != 1 || !strings.Contains(r.stderr, "refused the credentials") {
			t.Errorf("%v without the credentials: exit %d, stderr %q; want 1 and a refusal", args, r.code, r.stderr)
		}
	}
	if took := time.Since(start); took > clusterBound/2 {
		t.Errorf("the refusals took %v", took)
	}
	c.stop(t)
}

// With a server of one's own that wants a user and password, the URL's user:password serve a
// worker and a run; a wrong password is refused at once, and no message shows it.
func TestClusterUserPassword(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "ann", Password: "s3cret", NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(clusterBound) {
		t.Fatalf("the server takes no connections within %v", clusterBound)
	}
	hostPort := strings.TrimPrefix(srv.ClientURL(), "nats://")
	url := "nats://ann:s3cret@" + hostPort
	tmp := shortTempDir(t)
	w := startSession(t, t.TempDir(), []string{"TMPDIR=" + tmp}, false, "cluster", "worker", url, "--processes", "1")
	stderrLine(t, w, "taking tasks from nats://"+hostPort)
	c := &testCluster{url: url, workers: []*session{w}, tmp: []string{tmp}}
	r := c.run(t, `print(table.concat(require("mp").Pool(1):map(function(x) return -x end, {1, 2}), " "))`)
	r.expect(t, 0, "-1 -2\n", "")
	dir := writeFiles(t, map[string]string{"job.lua": `print("ran")`})
	wrong := "nats://ann:wrong@" + hostPort
	for _, args := range [][]string{{"run", "--cluster", wrong, "job.lua"}, {"cluster", "worker", wrong}} {
		r := invocation{args: args, dir: dir, timeout: clusterBound}.run(t)
		if r.code != 1 || !strings.Contains(r.stderr, "refused the credentials") || strings.Contains(r.stderr, "wrong") {
			t.Errorf("%v with a wrong password: exit %d, stderr %q; want 1 and a refusal that does not show it", args, r.code, r.stderr)
		}
	}
	if strings.Contains(w.stderr(), "s3cret") {
		t.Errorf("the worker's log shows the password:\n%s", w.stderr())
	}
	c.stop(t)
}
