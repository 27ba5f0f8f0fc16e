// postfleet agent: postmulti(1) of Postfix 3.7 when called with postmulti's
// arguments, plus long options before them: --json, --dry-run, --serve,
// --lock-timeout=SECONDS. See docs/postmulti-compat.md.
import type { Effect, PostmultiResponse } from "../protocol/index.js";
import type { InvocationContext } from "./postmulti/invocation-context.js";
import { releaseAllLocks, withLock } from "./system/host-lock.js";
import { logToMailLog } from "./postfix/maillog.js";
import { agentError, PostmultiFatal, PROGNAME } from "./postmulti/messages.js";
import { DEFAULT_LOCK_TIMEOUT_MS, parseAgentOptions } from "./postmulti/options.js";
import { runPostmulti } from "./postmulti/postmulti.js";
import { postmultiResponse } from "./serve/respond.js";
import { runResident, takeResidentHeader } from "./serve/resident-server.js";
import { serve } from "./serve/serve.js";
import { processEnv } from "./system/process.js";
import { printable, rawArgs } from "./system/bytes.js";
import { writeAll } from "./system/write-all.js";

const write = (fd: number, text: string): void => void writeAll(fd, text);

function describeEffect(e: Effect): string {
  switch (e.kind) {
    case "run":
      return `run: ${e.argv.join(" ")}`;
    case "set-parameter":
      return `set ${e.file}: ${e.name} = ${e.to ?? ""} (was: ${e.from ?? "unset"})`;
    case "create-directory":
      return `create directory ${e.path} (${e.owner} ${e.mode})`;
    case "write-file":
      return `write ${e.path}`;
    case "remove":
      return `remove ${e.path}`;
  }
}

function printDryRun(r: PostmultiResponse): void {
  if (r.error) write(2, `${PROGNAME}: fatal: ${r.error.message}\n`);
  if (r.stdout) write(1, r.stdout);
  for (const res of r.results) {
    if (res.skipped) write(1, `${res.configDirectory}: nothing to do (${res.skipped})\n`);
    for (const e of res.effects ?? []) write(1, `${res.configDirectory}: would ${describeEffect(e)}\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  // As postmulti: "be consistent with file permissions" for everything it runs.
  process.umask(0o022);
  // Started by an agent's hand-over (resident-handover.ts), not by a command line.
  const resident = takeResidentHeader();
  if (resident) return runResident(resident);
  const env = processEnv();
  let agent;
  try {
    agent = parseAgentOptions(argv);
  } catch (e) {
    write(2, `${PROGNAME}: fatal: ${agentError(e).message}\n`);
    return 1;
  }
  if (agent.serve) return serve(agent.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  process.on("exit", releaseAllLocks);
  const ctx: InvocationContext = {
    env,
    structured: agent.json || agent.dryRun,
    dryRun: agent.dryRun,
    lockTimeoutMs: agent.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    withHostLock: (what, body) => withLock(what, ctx.lockTimeoutMs, body),
    stderr: (line) => write(2, line + "\n"),
    stdout: (text) => write(1, text),
  };
  if (ctx.structured) {
    const r = await postmultiResponse(0, agent.rest, ctx);
    if (agent.json) write(1, JSON.stringify(r) + "\n");
    else printDryRun(r);
    return r.exitCode;
  }
  try {
    return (await runPostmulti(agent.rest, ctx)).exitCode;
  } catch (e) {
    const err = agentError(e);
    if (e instanceof PostmultiFatal) for (const line of e.preface) write(2, `${PROGNAME}: ${printable(line)}\n`);
    write(2, `${PROGNAME}: fatal: ${printable(err.message)}\n`);
    if (err.code !== "internal") await logToMailLog(env, "fatal", printable(err.message));
    return 1;
  }
}

main(rawArgs()).then(
  (code) => process.exit(code),
  (e: unknown) => {
    write(2, `${PROGNAME}: fatal: ${agentError(e).message}\n`);
    process.exit(1);
  },
);
