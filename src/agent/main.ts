// postfleet agent entry point (see issue: the postmulti-compatible agent).
process.stderr.write("postmulti: fatal: the postfleet agent is not built yet\n");
process.exit(1);
