// SPDX-License-Identifier: MIT
#pragma once

// plexus-cluster-bench's raw nats.c baselines (docs/BENCHMARKS.md, "Cluster on NATS"):
// the same server as the Plexus rows, one process per connection (as every Plexus machine
// is a process with its own connection), send-asap on every connection (as NatsClient
// sets it), message handling in nats.c's subscription callbacks, no Plexus and no Qt in
// the measuring processes.
//
//   plexus-cluster-bench --nats-raw ROLE --url URL --prefix P [--count N --warmup W
//                        --window K --receivers R --batch B --depth D]
//
// Roles:
//   echo     subscribes to P.echo and publishes every message back to its reply subject
//   sink     subscribes to P.fan and counts; a message with a reply subject (a sync) is
//            answered with the count so far (ordered after every message before it)
//   rr       sequential: publish on P.echo with a reply inbox, the reply publishes the
//            next request (window 1), or K in flight (pipelined echo)
//   fan      publishes 64 B on P.fan in batches of B, a sync after each batch, at most D
//            syncs outstanding, each complete when R sinks answered it; deliveries/s
//   pub      publishes N x 64 B on P.fan as fast as publish() returns, then one sync;
//            one sink counts: messages/s until the sink has them all
// Helpers (echo, sink) print "READY" once their subscription is at the server; the
// measuring roles print one "RESULT key=value ..." line.

namespace Bench {

int natsRawMain(int argc, char **argv);

} // namespace Bench
