// The OpenSSH transport's process plumbing, with a stand-in for ssh
// ($POSTFLEET_SSH): its "master" creates the ControlPath and exits (as ssh -f
// does once logged in), `-O exit` removes it, and a session runs its command
// line here with sh, as sshd would run it with the login shell. What is checked:
// the command line arrives as ssh2's exec sends it (quoting), exit codes, stdin
// and stdout pass, each ssh runs in a session of its own (no terminal: nothing
// prompts, Ctrl-C reaches postfleet only), the master's failure is classified,
// and close() ends the master.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyError, openHost, UnreachableError, type HostSession } from "../../../src/transport/index.js";
import type { ConnectionTarget } from "../../../src/shared/connection-target.js";

const FAKE_SSH = `#!/bin/sh
cp=; prev=; master=; stop=; last=
for a in "$@"; do
  case "$a" in ControlPath=*) cp=\${a#ControlPath=};; ControlMaster=yes) master=1;; esac
  [ "$prev" = "-O" ] && [ "$a" = exit ] && stop=1
  prev=$a; last=$a
done
if [ -n "$master" ]; then
  if [ "$last" = refused.example ]; then
    echo "Certificate invalid: expired" >&2; echo "Host key verification failed." >&2; exit 255
  fi
  : > "$cp"; exit 0
fi
if [ -n "$stop" ]; then rm -f "$cp"; exit 0; fi
exec sh -c "$last"
`;

/** The session id in a /proc/PID/stat line (after the command name, which may hold spaces). */
const sessionOf = (stat: string): string => stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]!;

const target = (host = "mx1.example.net"): ConnectionTarget => ({ name: "mx1", address: host, transport: "openssh" });
const options = { sshConfig: { files: [] }, agentSocket: null };

describe("openssh connection (stand-in ssh)", () => {
  let dir: string;
  let session: HostSession;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pf-fake-ssh-"));
    writeFileSync(join(dir, "ssh"), FAKE_SSH, { mode: 0o755 });
    process.env.POSTFLEET_SSH = join(dir, "ssh");
    session = await openHost(target(), options);
  });
  afterAll(() => {
    delete process.env.POSTFLEET_SSH;
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs argv as the ssh2 transport does: odd words arrive verbatim, exit codes and stdin pass", async () => {
    const words = ["a b", "$(touch /tmp/x)", "it's", "back\\slash", "*", ""];
    const r = await session.exec(["printf", "[%s]", ...words]);
    expect(r).toMatchObject({ exitCode: 0, stdout: words.map((w) => `[${w}]`).join("") });
    expect(await session.exec(["sh", "-c", "echo oops >&2; exit 3"])).toMatchObject({ exitCode: 3, stderr: "oops\n" });
    expect(await session.exec(["cat"], { stdin: "line 1\nline 2\n" })).toMatchObject({ exitCode: 0, stdout: "line 1\nline 2\n" });
  });

  it("each ssh runs in a session of its own, away from postfleet's terminal", async () => {
    const r = await session.exec(["sh", "-c", "cat /proc/$$/stat"]);
    expect(sessionOf(r.stdout)).not.toBe(sessionOf(readFileSync("/proc/self/stat", "utf8")));
  });

  it("a host key the master's ssh refuses is a host key error in ssh's words", async () => {
    const err = await openHost(target("refused.example"), options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toMatch(/^host key of mx1 \(.*@refused\.example:22\) refused by ssh: Certificate invalid: expired Host key verification failed\.$/);
  });

  it("close ends the master; the session is then unreachable", async () => {
    expect(session.connection.isOpen).toBe(true);
    await session.close();
    expect(session.connection.isOpen).toBe(false);
    await expect(session.exec(["true"])).rejects.toBeInstanceOf(UnreachableError);
  });
});
