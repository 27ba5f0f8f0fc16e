// The controller/agent contract, in one place. The agent (src/agent, bundled
// into dist/agent.cjs) and the controller (src/transport, src/orchestrator)
// both import these types; nothing else crosses the SSH channel.
//
// Framing in the long-running mode (`node agent.cjs --serve`): newline-
// delimited JSON. The controller writes one AgentRequest per line on stdin;
// the agent answers each with exactly one AgentResponse line on stdout, in
// order, carrying the request's id. The first line the agent prints, before
// any request, is a HelloResponse with id 0. EOF on stdin ends the agent.
//
// Protocol 2: the agent reads requests while others run. Requests other than
// `cancel` run one at a time in arrival order; `cancel` is answered at once.
// Responses carry their request's id and may therefore come out of order
// (a `cancel` answer overtakes the request it cancels). A cancelled or timed-
// out request still answers with its own response shape, with `error.code`
// "cancelled" or "timeout" and the per-instance results completed so far, so
// the controller can say exactly which instances were done. A child process
// that outlives its timeout or a cancel gets SIGTERM on its whole process
// group, then SIGKILL after KILL_GRACE_MS.
//
// One-shot structured mode: `node agent.cjs --json [--dry-run] POSTMULTI-ARGS`
// prints one PostmultiResponse (id 0) and exits with postmulti's exit code.

export const PROTOCOL_VERSION = 2;

/** After SIGTERM to a timed-out or cancelled command's process group, SIGKILL follows after this. */
export const KILL_GRACE_MS = 5000;

export * from "./common.js";
export * from "./requests.js";
export * from "./responses.js";
