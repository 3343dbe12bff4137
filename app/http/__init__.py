"""HTTP plumbing: the server, middleware, body limits, request readers and error answers."""
