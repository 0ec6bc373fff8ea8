// Package cluster runs the tasks of a Pool on many machines over NATS JetStream: it holds the
// engine on its own, with no Lua and no processes in it.
//
// Four parts, each a few calls for the command and the pool:
//
//   - Serve starts an embedded nats-server with JetStream (file storage in a directory), closed
//     by a token that its URL carries (nats://TOKEN@HOST:PORT), for users who have no server.
//   - Connect joins a server (token in the URL, a credentials file, TLS for tls:// URLs) and says
//     plainly what is wrong when it cannot: credentials refused, nothing listening.
//   - A Run is one submitter (one run of a script): Submit puts a task (opaque bytes; for a
//     Pool, a PoolTask: one of its tasks, or several short ones of one function, which a worker
//     runs one after the other) on the work-queue stream, Next returns each result
//     once, in the order they come, with at most RunConfig.InFlight tasks out; Withdraw deletes
//     the tasks not yet run and tells the workers to drop those in hand. A run whose tasks no
//     worker takes for a while says so (RunConfig.Idle).
//   - A Worker pulls tasks of every run and hands each to a callback (in the command, a pool
//     worker child runs it); it keeps its claim on a task alive while the callback runs, so
//     the short ack wait is what a lost worker costs, hands a task back at once when the
//     callback says its process died (ErrProcessDied), and fails a task delivered more than
//     MaxDeliveries times instead of running it again.
//
// The protocol. Tasks of protocol version V live on the work-queue stream MPHOST_TASKS_V<V>,
// subject mphost.v<V>.task.<run>, pulled by one durable consumer that all workers of version V
// share, whose ack wait (AckWait) the first to need it sets and no worker changes. The stream
// is in the server's memory: a restarted server has lost it, and runs and workers put back
// what it lost (restart.go). A worker sends a task's result to its run as a request on
// mphost.v<V>.result.<run> (core NATS), and acks the task once the run has answered: a result
// the run does not take (it reconnects for too long, or has gone) hands the task back.
// Execution is at least once (a task whose worker is lost is delivered again); each result is
// counted once (the run drops a second result for a task). Workers announce each task that
// runs longer than a moment on mphost.v<V>.taken.<run> (core NATS, for the idle notice; the
// result of a shorter one says as much) and listen on mphost.v<V>.withdrawn.<run>. A worker of
// another version never sees these subjects; it notices the other version's stream holding
// tasks and logs so. A run keeps a heartbeat entry in the bucket MPHOST_RUNS_V<V> while it
// lives (liveness.go); a worker drops the tasks of a run whose entry is gone, so the tasks of a
// run that died without Close are not run once RunTTL has passed, and none waits longer than a
// day.
package cluster
