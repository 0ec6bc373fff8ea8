package main

import (
	"net/url"
	"strings"
	"testing"
)

// A run or a worker whose URL lacks the cluster's token, or carries a wrong one, is refused at
// once with an error that says so and shows no token; MPHOST_CLUSTER is the URL of a run
// without --cluster, and --cluster wins over it.
func TestClusterConnect(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 0, 1)
	u, err := url.Parse(c.url)
	if err != nil {
		t.Fatal(err)
	}
	token := u.User.Username()
	bare, wrong := "nats://"+u.Host, "nats://wrong@"+u.Host
	dir := writeFiles(t, map[string]string{"job.lua": `print("ran")`})
	refused := "cluster: " + bare + " refused the credentials (authorization violation)"
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		want string // on stdout when code is 0, else on stderr
	}{
		{nil, []string{"run", "--cluster", bare, "job.lua"}, 1, refused},
		{nil, []string{"run", "--cluster", wrong, "job.lua"}, 1, refused},
		{[]string{"MPHOST_CLUSTER=" + bare}, []string{"run", "job.lua"}, 1, refused},
		{[]string{"MPHOST_CLUSTER=" + bare}, []string{"run", "--cluster", c.url, "job.lua"}, 0, "ran\n"},
		{[]string{"MPHOST_CLUSTER=" + c.url}, []string{"run", "job.lua"}, 0, "ran\n"},
		{nil, []string{"cluster", "worker", bare}, 1, "mphost cluster worker: " + refused},
	} {
		s := startSession(t, dir, tc.env, false, tc.args...)
		code := s.wait(t, clusterBound) // a refusal that hangs fails here
		got := s.stderr()
		if tc.code == 0 {
			got = s.stdout()
		}
		if code != tc.code || !strings.Contains(got, tc.want) || strings.Contains(s.stderr(), token) {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q; want exit %d and %q, no token",
				tc.env, tc.args, code, s.stdout(), s.stderr(), tc.code, tc.want)
		}
	}
}
