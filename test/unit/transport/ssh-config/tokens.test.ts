// File names in ssh_config expanded as OpenSSH 9.2 expands them, compared with
// the real ssh: `ssh -G` prints UserKnownHostsFile expanded (ssh.c expands it
// before the dump), HostKeyAlias lowercased and GlobalKnownHostsFile as written
// (ssh only expands its `~`); IdentityFile is expanded when ssh loads the keys,
// which `ssh -v` shows ("identity file X") when a ProxyCommand stands in for
// the connection. Errors (unknown token, undefined variable) are refused by
// both, postfleet naming the file and line.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TransportConfigError } from "../../../../src/transport/errors.js";
import { resolveHop } from "../../../../src/transport/ssh-config/resolve.js";
import { sshTildeExpand } from "../../../../src/transport/ssh-config/tokens.js";

const dir = mkdtempSync(join(tmpdir(), "postfleet-tokens-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// ssh's `~` and %d are the passwd entry's home, %u its user: compare with those.
const { username: localUser, homedir: home } = userInfo();
const env = { ...process.env, POSTFLEET_T_DIR: "/srv/kh dir", POSTFLEET_T_EMPTY: "" };
const opts = (file: string) => ({ files: [file], home, localUser, env });

function config(text: string): string {
  const f = join(dir, `config${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, text);
  return f;
}

function ssh(args: string[]) {
  return spawnSync("ssh", args, { env, encoding: "utf8", timeout: 20_000 });
}

/** `ssh -G`'s values (null when ssh refuses the file, with its stderr). */
function sshG(file: string, host: string): { get: (k: string) => string[] } | { refused: string } {
  const r = ssh(["-G", "-F", file, host]);
  if (r.status !== 0) return { refused: r.stderr };
  const lines = r.stdout.split("\n");
  return { get: (k: string) => lines.filter((l) => l.startsWith(`${k} `)).map((l) => l.slice(k.length + 1)) };
}

const FORMS = `Host per-host
  UserKnownHostsFile ~/.ssh/known_hosts.d/%k
Host aliased
  HostName Target.Example
  HostKeyAlias Pinned-Alias
  UserKnownHostsFile ~/.ssh/known_hosts.d/%k /kh/%h_%n
Host all-tokens
  HostName %h.Example.COM
  Port 2222
  User deploy
  UserKnownHostsFile /kh/%h/%p/%r/%u/%d/%i/%l/%L/%C/%n/%k/%%/x "/kh/with space/%h" %d/rel
Host tilde
  UserKnownHostsFile ~ ~/ ~//a//b ~root/kh relative/%h
Host env
  UserKnownHostsFile \${POSTFLEET_T_DIR}/%h \${POSTFLEET_T_EMPTY}/x /a\${POSTFLEET_T_DIR}b $HOME/lit
Host global
  GlobalKnownHostsFile ~/g1 /etc/%h/g2
Host global-none
  GlobalKnownHostsFile none
  UserKnownHostsFile none
`;

describe("known_hosts file names agree with ssh -G", () => {
  const file = config(FORMS);
  it.each(["per-host", "aliased", "all-tokens", "tilde", "env", "unmatched"])("%s", (host) => {
    const theirs = sshG(file, host);
    if ("refused" in theirs) throw new Error(theirs.refused);
    const ours = resolveHop({ host }, opts(file));
    const userFiles = theirs.get("userknownhostsfile")[0]!;
    if (ours.knownHostsFiles === undefined) {
      expect(userFiles).toBe(`${home}/.ssh/known_hosts ${home}/.ssh/known_hosts2`);
    } else {
      // ssh -G joins them with spaces (a name with a space cannot be told apart there): compare joined.
      expect(ours.knownHostsFiles.join(" ")).toBe(userFiles);
    }
    expect(ours.hostKeyAlias).toBe(theirs.get("hostkeyalias")[0]);
  });

  it("%k is the HostKeyAlias lowercased, else the name as given; HostName lowercased for %h", () => {
    expect(resolveHop({ host: "per-host" }, opts(file)).knownHostsFiles).toEqual([`${home}/.ssh/known_hosts.d/per-host`]);
    expect(resolveHop({ host: "aliased" }, opts(file))).toMatchObject({
      hostKeyAlias: "pinned-alias",
      knownHostsFiles: [`${home}/.ssh/known_hosts.d/pinned-alias`, "/kh/target.example_aliased"],
    });
  });

  it("GlobalKnownHostsFile: only ~ is expanded (ssh -G shows it as written, ssh expands ~ when it reads it); none is no file", () => {
    const theirs = sshG(file, "global");
    if ("refused" in theirs) throw new Error(theirs.refused);
    const raw = theirs.get("globalknownhostsfile")[0]!.split(" ");
    expect(raw).toEqual(["~/g1", "/etc/%h/g2"]);
    expect(resolveHop({ host: "global" }, opts(file)).globalKnownHostsFiles).toEqual(raw.map((f) => sshTildeExpand(f, home, localUser)));
    expect(resolveHop({ host: "global" }, opts(file)).globalKnownHostsFiles).toEqual([`${home}/g1`, "/etc/%h/g2"]);
    expect(resolveHop({ host: "global-none" }, opts(file))).toMatchObject({ globalKnownHostsFiles: [], knownHostsFiles: [] });
    expect(resolveHop({ host: "unmatched" }, opts(file)).globalKnownHostsFiles).toBeUndefined();
  });
});

describe("IdentityFile names agree with the files ssh loads", () => {
  it("~, every token and ${VAR}, with and without HostKeyAlias", () => {
    const file = config(`Host id-*
  HostName %h.Example
  HostKeyAlias KeyAlias
  Port 2200
  User ops
  IdentityFile ~/id_%k_%C_%L_%l_%i_%u_%r_%p_%h_%n_%d_%%
  IdentityFile \${POSTFLEET_T_DIR}/key
  IdentityFile relative/%h
Host plain
  IdentityFile ~/.ssh/k_%k
`);
    for (const host of ["id-one", "plain"]) {
      // A ProxyCommand that ends at once: ssh loads the identity files, logs them, then fails to read a banner.
      const r = ssh(["-v", "-F", file, "-o", "ProxyCommand=true", "-o", "BatchMode=yes", host, "true"]);
      const loaded = [...r.stderr.matchAll(/^debug1: identity file (.*) type -?\d+$/gm)].map((m) => m[1]!).filter((f) => !f.endsWith("-cert"));
      expect(loaded.length, r.stderr).toBeGreaterThan(0);
      expect(resolveHop({ host }, opts(file)).identityFiles).toEqual(loaded);
    }
  });
});

describe("what ssh refuses to expand is refused with file:line", () => {
  it.each([
    ["an undefined variable", "UserKnownHostsFile /kh/${POSTFLEET_T_UNDEFINED}", /environment variable \$\{POSTFLEET_T_UNDEFINED\} has no value/],
    ["an unknown token", "UserKnownHostsFile /kh/%z", /unknown token %z/],
    ["a lone % at the end", "UserKnownHostsFile /kh/x%", /lone %/],
    ["an unterminated ${", "UserKnownHostsFile /kh/${HOME", /missing its closing/],
    ["an empty ${}", "UserKnownHostsFile /kh/${}", /zero-length/],
    ["an unknown ~user", "UserKnownHostsFile ~no-such-user-postfleet/kh", /no such user/],
  ])("%s", (_label, line, message) => {
    const file = config(`Host bad\n  ${line}\n`);
    const theirs = sshG(file, "bad");
    expect("refused" in theirs, "ssh -G refuses it too").toBe(true);
    let e: unknown;
    try {
      resolveHop({ host: "bad" }, opts(file));
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TransportConfigError);
    expect((e as Error).message).toContain(`${file}:2: UserKnownHostsFile`);
    expect((e as Error).message).toMatch(message);
  });

  it("an IdentityFile ssh cannot expand", () => {
    const file = config("Host bad\n  IdentityFile ~/.ssh/%j\n");
    expect(() => resolveHop({ host: "bad" }, opts(file))).toThrow(new RegExp(`${file}:2: IdentityFile .*unknown token %j`));
    const r = ssh(["-F", file, "-o", "ProxyCommand=true", "-o", "BatchMode=yes", "bad", "true"]);
    expect(r.stderr).toMatch(/unknown key %j/);
  });
});
