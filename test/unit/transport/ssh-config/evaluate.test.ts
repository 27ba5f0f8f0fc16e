// ssh_config Include and Match compared with the real OpenSSH (`ssh -G`) on a
// corpus of configs, plus what postfleet refuses (with file:line) because it
// cannot evaluate it, and the per-process parse cache.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TransportConfigError } from "../../../../src/transport/errors.js";
import { evaluateSshConfig } from "../../../../src/transport/ssh-config/evaluate.js";
import { sshConfigParseCount } from "../../../../src/transport/ssh-config/parse.js";
import { resolveHop } from "../../../../src/transport/ssh-config/resolve.js";
import { connectionTokens, expandSshPath, sshTildeExpand } from "../../../../src/transport/ssh-config/tokens.js";

const root = mkdtempSync(join(tmpdir(), "postfleet-sshinc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const localUser = userInfo().username;
/** Where ssh expands `~` of UserKnownHostsFile: the passwd home, not $HOME. */
const passwdHome = userInfo().homedir;

interface Scenario {
  name: string;
  /** Files relative to the scenario's home; `.ssh/config` is the one read. `@DIR@` is replaced by the scenario's home. */
  files: Record<string, string>;
  hosts: string[];
  /** Remote users given like `ssh -l` (undefined: none given). */
  users?: (string | undefined)[];
  /** Directories to create (e.g. one matched by an Include glob). */
  dirs?: string[];
}

let scenarioCount = 0;
function materialize(s: Scenario): string {
  const home = join(root, `s${scenarioCount++}`);
  mkdirSync(join(home, ".ssh"), { recursive: true });
  for (const d of s.dirs ?? []) mkdirSync(join(home, d), { recursive: true });
  for (const [rel, text] of Object.entries(s.files)) {
    const p = join(home, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text.replaceAll("@DIR@", home), { mode: 0o644 });
  }
  return home;
}

/** `ssh -G` with HOME set to the scenario's home (Include's `~` and relative paths follow it). */
function sshG(home: string, host: string, user: string | undefined) {
  const args = ["-G", "-F", join(home, ".ssh", "config"), ...(user ? ["-l", user] : []), host];
  const r = spawnSync("ssh", args, { env: { ...process.env, HOME: home }, encoding: "utf8" });
  if (r.status !== 0) return { refused: r.stderr };
  const get = (k: string) => r.stdout.split("\n").filter((l) => l.startsWith(`${k} `)).map((l) => l.slice(k.length + 1));
  return {
    user: get("user")[0]!,
    hostname: get("hostname")[0]!,
    port: Number(get("port")[0]),
    proxyjump: get("proxyjump")[0],
    proxycommand: get("proxycommand")[0],
    identityfile: get("identityfile"),
    userknownhostsfile: get("userknownhostsfile")[0]!.split(" "),
    globalknownhostsfile: get("globalknownhostsfile")[0]!.split(" "),
    hostkeyalias: get("hostkeyalias")[0],
    checkhostip: get("checkhostip")[0],
    stricthostkeychecking: get("stricthostkeychecking")[0]!,
    connecttimeout: get("connecttimeout")[0]!,
    hashknownhosts: get("hashknownhosts")[0]!,
  };
}

const STRICT_AS_SSH_PRINTS: Record<string, string> = { yes: "true", true: "true", no: "false", off: "false", false: "false", ask: "ask", "accept-new": "accept-new" };

function compare(home: string, host: string, user: string | undefined): void {
  const theirs = sshG(home, host, user);
  const opts = { files: [join(home, ".ssh", "config")], home, localUser };
  if (theirs.refused !== undefined) {
    // ssh refuses the file: so must we, naming the same file and line.
    const e = errorOf(() => resolveHop({ host, ...(user ? { user } : {}) }, opts));
    // "FILE line N: ..." or, for an unknown keyword, "FILE: line N: ..."; "Unsupported option" lines are notes.
    const at = /^(\S+?):? line (\d+)(?!.*Unsupported option)/m.exec(theirs.refused);
    if (!at) throw new Error(`ssh -G refused without a line: ${theirs.refused}`);
    expect(e.message, theirs.refused).toContain(`${at[1]}:${at[2]}:`);
    return;
  }
  const ours = resolveHop({ host, ...(user ? { user } : {}) }, opts);
  const raw = evaluateSshConfig({ host, localUser, home, files: [{ path: opts.files[0]!, scope: "user" }], preset: user ? { user } : {} });
  const label = `${host}${user ? ` -l ${user}` : ""}`;
  expect(ours.hostname, `hostname of ${label}`).toBe(theirs.hostname);
  expect(ours.port, `port of ${label}`).toBe(theirs.port);
  expect(ours.user, `user of ${label}`).toBe(theirs.user);
  expect(theirs.proxycommand, `ssh -G shows no ProxyCommand for ${label}`).toBeUndefined();
  expect(ours.proxyJump, `proxyjump of ${label}`).toBe(theirs.proxyjump === "none" ? undefined : theirs.proxyjump);
  // ssh's 0 is no timeout at all: postfleet waits its longest, a day (and no longer for larger values).
  const seconds = Number(theirs.connecttimeout);
  expect(ours.connectTimeoutMs, `connecttimeout of ${label}`).toBe(
    theirs.connecttimeout === "none" ? undefined : (seconds === 0 || seconds > 86_400 ? 86_400 : seconds) * 1000,
  );
  if (ours.identityFiles.length === 0) {
    expect(theirs.identityfile.every((f) => f.startsWith("~/.ssh/id_")), `default keys for ${label}`).toBe(true);
  } else {
    // ssh -G prints IdentityFile as written (ssh expands it when it loads the keys): expand it the same way here.
    const tokens = connectionTokens({ hostArg: host, hostname: theirs.hostname, port: theirs.port, remoteUser: theirs.user, localUser, home });
    expect(ours.identityFiles, `identityfile of ${label}`).toEqual(theirs.identityfile.map((f) => expandSshPath(f, tokens, home, localUser)),
    );
  }
  if (ours.knownHostsFiles === undefined) {
    expect(theirs.userknownhostsfile, `default known_hosts for ${label}`).toEqual([
      `${passwdHome}/.ssh/known_hosts`,
      `${passwdHome}/.ssh/known_hosts2`,
    ]);
  } else if (ours.knownHostsFiles.length === 0) {
    expect(theirs.userknownhostsfile, `userknownhostsfile of ${label}`).toEqual(["none"]);
  } else {
    // ssh expands ~ (and %d) there from the passwd entry: compare under our home.
    expect(ours.knownHostsFiles, `userknownhostsfile of ${label}`).toEqual(
      theirs.userknownhostsfile.map((f) => (f.startsWith(`${passwdHome}/`) ? home + f.slice(passwdHome.length) : f)),
    );
  }
  // GlobalKnownHostsFile: ssh -G prints it as written; ssh expands only its ~ when it reads the files.
  expect(ours.globalKnownHostsFiles ?? ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"], `globalknownhostsfile of ${label}`).toEqual(
    theirs.globalknownhostsfile[0] === "none" ? [] : theirs.globalknownhostsfile.map((f) => sshTildeExpand(f, home, localUser)),
  );
  expect(ours.hostKeyAlias, `hostkeyalias of ${label}`).toBe(theirs.hostkeyalias);
  expect(ours.checkHostIp ? "yes" : "no", `checkhostip of ${label}`).toBe(theirs.checkhostip);
  expect(ours.hashKnownHosts ? "yes" : "no", `hashknownhosts of ${label}`).toBe(theirs.hashknownhosts);
  expect(STRICT_AS_SSH_PRINTS[raw.config.strictHostKeyChecking?.value ?? "ask"], `stricthostkeychecking of ${label}`).toBe(
    theirs.stricthostkeychecking,
  );
}

const CORPUS: Scenario[] = [
  {
    name: "Include: sorted globs, relative to ~/.ssh, ~, absolute, hidden files and directories skipped, missing files fine",
    dirs: [".ssh/conf.d/dir.conf"],
    files: {
      ".ssh/config": `# top
Include conf.d/*.conf
Include ~/.ssh/extra/b.conf @DIR@/abs/c.conf missing.conf nomatch/*.conf
Host *.internal
  ProxyJump bastion.example.com
Host *
  User fallback
`,
      ".ssh/conf.d/20-db.conf": `Host db*
  ProxyJump ops@jump1:2200
  UserKnownHostsFile ~/.ssh/kh_db /etc/kh_shared
Host web*
  Port 9999
`,
      ".ssh/conf.d/10-web.conf": `Host web*
  HostName %h.internal
  Port 2222
`,
      ".ssh/conf.d/.hidden.conf": "Host *\n  Port 1\n",
      ".ssh/conf.d/README": "Host *\n  Port 2\n",
      ".ssh/extra/b.conf": "Host cache?\n  User cacheuser\n  ConnectTimeout 1m30s\n",
      "abs/c.conf": "Host cache1\n  Port 6379\n  IdentityFile ~/.ssh/cache_%r\n",
    },
    hosts: ["web1", "db1", "cache1", "cache22", "other", "x.internal"],
  },
  {
    name: "Include globs: byte order (upper case first), [...] classes, wildcards in directories, several patterns on a line",
    files: {
      ".ssh/config": "Include g/[!x]*.conf g/x?.conf\nInclude d*/config\n",
      ".ssh/g/a.conf": "Host *\n  Port 2001\n  User lower\n",
      ".ssh/g/B.conf": "Host *\n  Port 2002\n",
      ".ssh/g/x1.conf": "Host *\n  User xone\n  ConnectTimeout 3\n",
      ".ssh/g/x12.conf": "Host *\n  ConnectTimeout 4\n",
      ".ssh/da/config": "Host *\n  ProxyJump fromda\n",
      ".ssh/Dz/config": "Host *\n  ProxyJump fromDz\n",
      ".ssh/db/config": "Host *\n  IdentityFile ~/.ssh/from_db\n",
    },
    hosts: ["h1"],
  },
  {
    name: "Include inside Host blocks applies only when the block matches; the block goes on after it",
    files: {
      ".ssh/config": `Host bastioned-*
  Include bastion.conf
  StrictHostKeyChecking accept-new
Host *
  Include common.conf
`,
      ".ssh/bastion.conf": `ProxyJump jumper
User viabastion
Host bastioned-db*
  Port 5432
`,
      ".ssh/common.conf": `ConnectTimeout 9
Match user alice
  IdentityFile ~/.ssh/alice_key
Host bastioned-*
  IdentityFile ~/.ssh/never_here
`,
    },
    hosts: ["bastioned-web", "bastioned-db1", "other"],
    users: [undefined, "alice"],
  },
  {
    name: "nested Includes (three deep) and first value wins across them",
    files: {
      ".ssh/config": "Include a.conf\nHost *\n  Port 2000\n  User top\n",
      ".ssh/a.conf": "Host n*\n  Include b/*.conf\n  User from-a\n",
      ".ssh/b/1.conf": "Include @DIR@/c.conf\nHost n2\n  Port 2002\n",
      "c.conf": "Host n1\n  Port 2001\n  HostName deep.example.org\nHost *\n  ProxyJump deepjump\n",
    },
    hosts: ["n1", "n2", "n3", "m1"],
  },
  {
    name: "Match host (after HostName) / originalhost / user / localuser / all, negations and lists",
    files: {
      ".ssh/config": `Match originalhost short1
  HostName Short1.Example.COM
Match host short1.example.com
  User matchedbyhostname
Match host *.example.com,!bad.example.com
  Port 2201
Match user deploy
  IdentityFile ~/.ssh/deploy_%h
Match !user deploy localuser ${localUser}
  ConnectTimeout 11
Match localuser !${localUser},*
  ConnectTimeout 99
Match originalhost ALIAS* host alias*
  StrictHostKeyChecking no
Match !originalhost short1 !host *.example.com
  UserKnownHostsFile ~/.ssh/kh_other
Match all
  User everyone
  StrictHostKeyChecking yes
`,
    },
    hosts: ["short1", "good.example.com", "bad.example.com", "alias1", "Alias2", "plain"],
    users: [undefined, "deploy", "ops"],
  },
  {
    name: "Match final: a second pass where Host matches the resolved name; canonical holds only there",
    files: {
      ".ssh/config": `Host alias1
  HostName real1.example.net
Host alias2
  HostName %h.example.net
Match final host real1.example.net
  User finaluser
Match host real1.example.net
  Port 2022
Match final
  Port 3033
Host *.example.net
  ProxyJump netjump
Match canonical
  ConnectTimeout 44
Match !final
  IdentityFile ~/.ssh/first_pass_only
Match final all
  IdentityFile ~/.ssh/final_pass
  IdentityFile ~/.ssh/first_pass_only
`,
    },
    hosts: ["alias1", "alias2", "direct.example.net", "elsewhere"],
    users: [undefined, "given"],
  },
  {
    name: "syntax: Keyword=value, case, quotes, comments, several Host patterns, ? and negation",
    files: {
      ".ssh/config": `HOST=eq1
  Hostname=eq1.example.org
Host = eq2 "quoted two"
  User "spaced user"
  Port=2200
host eq3 # comment eq1
\tIDENTITYFILE "~/.ssh/with space"
   # indented comment
Host neg* !neg2
  User neguser
Host ne?3
  Port 4444
Host esc
  IdentityFile ~/.ssh/back\\ slash
  IdentityFile ~/.ssh/q"uo"ted'it's'
  User 'single quoted'
  ConnectTimeout 1m30s
  HostName=esc.example.org#not-a-comment
Host "*"
  ConnectTimeout 5 # trailing comment
  StrictHostKeyChecking Accept-New
`,
    },
    hosts: ["eq1", "eq2", "eq3", "neg1", "neg2", "neg3", "ne33", "esc"],
  },
  {
    name: "ProxyJump and ProxyCommand none share one slot; inventory-like -l",
    files: {
      ".ssh/config": `Host pc-first
  ProxyCommand none
Host pj-first
  ProxyJump first@j1:2222,j2 # comment
Host pj-none
  ProxyJump none
Host *
  ProxyJump lastjump
  ProxyCommand none
`,
    },
    hosts: ["pc-first", "pj-first", "pj-none", "other"],
    users: [undefined, "someone"],
  },
];

describe("ssh_config corpus agrees with ssh -G", () => {
  for (const s of CORPUS) {
    it(s.name, () => {
      const home = materialize(s);
      let compared = 0;
      for (const host of s.hosts) {
        for (const user of s.users ?? [undefined]) {
          compare(home, host, user);
          compared++;
        }
      }
      expect(compared).toBe(s.hosts.length * (s.users ?? [undefined]).length);
    });
  }

  it("follows Includes 16 levels deep, as ssh does", () => {
    const files: Record<string, string> = { ".ssh/config": "Include l1.conf\n" };
    for (let i = 1; i < 16; i++) files[`.ssh/l${i}.conf`] = `Include l${i + 1}.conf\n`;
    files[".ssh/l16.conf"] = "Host *\n  Port 1616\n";
    const home = materialize({ name: "deep", files, hosts: [] });
    compare(home, "any", undefined);
    expect(resolveHop({ host: "any" }, { files: [join(home, ".ssh", "config")], home, localUser }).port).toBe(1616);
  });
});

describe("Include (fails before our own evaluator)", () => {
  it("honours a ProxyJump set in an included file (the bastion is not bypassed)", () => {
    const home = materialize({
      name: "bastion",
      files: {
        ".ssh/config": "Include config.d/*\n",
        ".ssh/config.d/prod": "Host *.prod\n  ProxyJump admin@bastion.prod:2222\n  UserKnownHostsFile ~/.ssh/known_hosts.prod\n",
      },
      hosts: [],
    });
    const r = resolveHop({ host: "mx1.prod" }, { files: [join(home, ".ssh", "config")], home, localUser });
    expect(r.proxyJump).toBe("admin@bastion.prod:2222");
    expect(r.knownHostsFiles).toEqual([join(home, ".ssh", "known_hosts.prod")]);
  });
});

/** A config under a fresh home; returns the file and a resolver. */
function setup(files: Record<string, string>) {
  const home = materialize({ name: "x", files, hosts: [] });
  const file = join(home, ".ssh", "config");
  return { home, file, resolve: (host: string, given: { user?: string; proxyJump?: string } = {}) => resolveHop({ host, ...given }, { files: [file], home, localUser }) };
}

function errorOf(f: () => unknown): TransportConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TransportConfigError);
    return e as TransportConfigError;
  }
  throw new Error("expected a TransportConfigError");
}

/** ssh itself refuses the file too (exit 255). */
function sshRefuses(home: string, host: string): boolean {
  const r = spawnSync("ssh", ["-G", "-F", join(home, ".ssh", "config"), host], { env: { ...process.env, HOME: home }, encoding: "utf8" });
  return r.status !== 0;
}

describe("what postfleet cannot evaluate is refused with file:line when it matters", () => {
  it("Match exec that sets ProxyJump", () => {
    const { file, resolve } = setup({ ".ssh/config": 'Host *\n  User u\nMatch exec "test -e /etc/vpn"\n  ForwardAgent yes\n  ProxyJump vpnjump\n' });
    const e = errorOf(() => resolve("web1"));
    expect(e.message).toContain(`${file}:5`);
    expect(e.message).toContain(`${file}:3: Match exec`);
    expect(e.message).toContain("web1");
    expect(e.message).toMatch(/ProxyJump .*postfleet_proxy_jump/);
    expect(e.host).toBe("web1");
  });

  it("Match exec whose block only sets ignored options, or whose other criteria fail, or whose value is already fixed, is fine", () => {
    const { resolve } = setup({
      ".ssh/config": [
        "Host web1\n  HostName web1.example.com\n  User early\n",
        'Match exec "true"\n  ForwardAgent yes\n  ServerAliveInterval 5\n',
        'Match host db* exec "true"\n  ProxyJump never\n',
        'Match exec "true" !originalhost web*\n  Port 1\n',
        'Match localnetwork 10.0.0.0/8\n  HostName other\n  User later\n',
      ].join(""),
    });
    expect(resolve("web1")).toMatchObject({ hostname: "web1.example.com", user: "early", port: 22, proxyJump: undefined });
    // The inventory's own ProxyJump makes the block's irrelevant too.
    const { resolve: r2 } = setup({ ".ssh/config": 'Match exec "true"\n  ProxyJump j\n' });
    expect(r2("h", { proxyJump: "mine" }).proxyJump).toBe("mine");
    expect(() => r2("h")).toThrow(TransportConfigError);
  });

  it("an Include inside an unevaluable Match: the included setting is refused, naming the included file", () => {
    const { home, resolve } = setup({
      ".ssh/config": "Match tagged prod\n  Include prod.conf\n",
      ".ssh/prod.conf": "# prod\nHost *\n  IdentityFile ~/.ssh/prod_key\n",
    });
    const e = errorOf(() => resolve("mx"));
    expect(e.message).toContain(`${join(home, ".ssh", "prod.conf")}:3`);
    expect(e.message).toContain("Match tagged");
    expect(e.message).toContain("mx");
  });

  it("ProxyCommand is refused where it applies (not where ProxyJump or ProxyCommand none came first)", () => {
    const { file, resolve } = setup({ ".ssh/config": "Host j*\n  ProxyJump bastion\nHost none*\n  ProxyCommand none\nHost *\n  ProxyCommand nc -X 5 -x proxy:1080 %h %p\n" });
    const e = errorOf(() => resolve("web1"));
    expect(e.message).toContain(`${file}:6`);
    expect(e.message).toMatch(/cannot run a ProxyCommand.*ProxyJump/);
    expect(resolve("jump1").proxyJump).toBe("bastion");
    expect(resolve("none1").proxyJump).toBeUndefined();
    expect(resolve("web1", { proxyJump: "inv" }).proxyJump).toBe("inv");
  });

  it("CanonicalizeHostname yes/always is refused; no is fine", () => {
    const { file, resolve } = setup({ ".ssh/config": "Host plain*\n  CanonicalizeHostname no\nHost *\n  CanonicalizeHostname always\n" });
    expect(errorOf(() => resolve("web1")).message).toContain(`${file}:4: CanonicalizeHostname always applies to web1`);
    expect(resolve("plain1").hostname).toBe("plain1");
  });

  it("unknown Match criteria, Match without criteria and bad criteria are errors with file:line (ssh refuses them too)", () => {
    for (const [text, line, pattern] of [
      ["Host *\n  User u\nMatch hostt x\n  User v\n", 3, /unsupported Match attribute hostt/],
      ["Match\n", 1, /no argument/],
      ["Match # only a comment\n", 1, /one or more attributes/],
      ["Match host\n", 1, /missing Match criteria for host/],
      ["Match host a user b all\n", 1, /cannot be combined/],
      ["Host x\n  Port eighty\n", 2, /invalid Port "eighty"/],
      ['Host "x\n', 1, /invalid quotes/],
      ["Host a b\n  User two words\n", 2, /extra arguments/],
    ] as const) {
      const { home, file, resolve } = setup({ ".ssh/config": text });
      // Even for a host that no block concerns: ssh refuses the whole file.
      const e = errorOf(() => resolve("zzz"));
      expect(e.message, text).toContain(`${file}:${line}:`);
      expect(e.message, text).toMatch(pattern);
      expect(sshRefuses(home, "zzz"), text).toBe(true);
    }
  });

  it("an Include loop and an Include 17 levels deep are errors naming the Include line (ssh refuses them too)", () => {
    const loop = setup({ ".ssh/config": "Host *\n  Include a.conf\n", ".ssh/a.conf": "Host x\n\nInclude b.conf\n", ".ssh/b.conf": "Include a.conf\n" });
    const e = errorOf(() => loop.resolve("h"));
    expect(e.message).toContain(`${join(loop.home, ".ssh", "b.conf")}:1:`);
    expect(e.message).toMatch(/loops/);
    expect(sshRefuses(loop.home, "h")).toBe(true);

    const files: Record<string, string> = { ".ssh/config": "Include l1.conf\n" };
    for (let i = 1; i <= 17; i++) files[`.ssh/l${i}.conf`] = `Include l${i + 1}.conf\n`;
    files[".ssh/l18.conf"] = "Port 1\n";
    const deep = setup(files);
    const d = errorOf(() => deep.resolve("h"));
    expect(d.message).toContain(`${join(deep.home, ".ssh", "l16.conf")}:1:`);
    expect(d.message).toMatch(/more than 16 levels/);
    expect(sshRefuses(deep.home, "h")).toBe(true);
  });

  it("an included file writable by others is refused (ssh refuses it too); a dangling link matched by a glob is skipped (as by ssh)", () => {
    const { home, resolve } = setup({ ".ssh/config": "Include inc/*\n", ".ssh/inc/a": "Host *\n  Port 2\n" });
    chmodSync(join(home, ".ssh", "inc", "a"), 0o666);
    expect(errorOf(() => resolve("h")).message).toMatch(/bad owner or permissions/);
    expect(sshRefuses(home, "h")).toBe(true);
    // Group-writable with a group whose only member is the owner: Debian's ssh (the oracle here) accepts it.
    chmodSync(join(home, ".ssh", "inc", "a"), 0o664);
    const groupOk = !sshRefuses(home, "h");
    if (groupOk) expect(resolve("h").port).toBe(2);
    else expect(errorOf(() => resolve("h")).message).toMatch(/bad owner or permissions/);
    chmodSync(join(home, ".ssh", "inc", "a"), 0o644);
    expect(resolve("h").port).toBe(2);
    if (process.getuid?.() === 0) {
      // Owned by another user (we are root here, so we can make one): refused by both.
      chownSync(join(home, ".ssh", "inc", "a"), 65534, 65534);
      expect(errorOf(() => resolve("h")).message).toMatch(/bad owner or permissions/);
      expect(sshRefuses(home, "h")).toBe(true);
      chownSync(join(home, ".ssh", "inc", "a"), 0, 0);
    }
    symlinkSync(join(home, "absent"), join(home, ".ssh", "inc", "b"));
    expect(resolve("h").port).toBe(2);
    expect(sshRefuses(home, "h")).toBe(false);
  });

  it("HostName tokens other than %h and %% are refused (ssh refuses them too)", () => {
    const { home, file, resolve } = setup({ ".ssh/config": "Host *\n  HostName %h.%p.example\n" });
    expect(errorOf(() => resolve("h")).message).toContain(`${file}:2: HostName`);
    expect(sshRefuses(home, "h")).toBe(true);
  });
});

describe("ConnectTimeout", () => {
  it("0 is a value (ssh: no timeout) that blocks later ones, read as postfleet's longest wait; none is not; long values are capped", () => {
    const { home, resolve } = setup({
      ".ssh/config": "Host zero\n  ConnectTimeout 0\nHost none\n  ConnectTimeout none\nHost long\n  ConnectTimeout 30d\nHost *\n  ConnectTimeout 5\n",
    });
    for (const host of ["zero", "none", "long"]) compare(home, host, undefined);
    expect(resolve("zero").connectTimeoutMs).toBe(86_400_000);
    expect(resolve("none").connectTimeoutMs).toBe(5000);
    expect(resolve("long").connectTimeoutMs).toBe(86_400_000);
    expect(resolveHop({ host: "zero", connectTimeoutMs: 2000 }, { files: [join(home, ".ssh", "config")], home, localUser }).connectTimeoutMs).toBe(2000);
  });
});

describe("the system file", () => {
  it("resolves its relative Includes under /etc/ssh and refuses ~ there", () => {
    const dir = mkdtempSync(join(root, "sys-"));
    const sys = join(dir, "ssh_config");
    // /etc/ssh/ssh_config on this machine sets HashKnownHosts yes for Host *.
    writeFileSync(sys, "Host sysx\n  Include ssh_config\n");
    const ev = evaluateSshConfig({ host: "sysx", localUser, home: dir, files: [{ path: sys, scope: "system" }] });
    expect(execFileSync("grep", ["-ci", "^ *HashKnownHosts yes", "/etc/ssh/ssh_config"]).toString().trim()).not.toBe("0");
    expect(ev.config.hashKnownHosts?.value).toBe(true);
    expect(ev.config.hashKnownHosts?.at.file).toBe("/etc/ssh/ssh_config");
    writeFileSync(sys, "Include ~/x.conf\n");
    expect(() => evaluateSshConfig({ host: "h", localUser, home: dir, files: [{ path: sys, scope: "system" }] })).toThrow(
      `${sys}:1: bad include path ~/x.conf`,
    );
  });
});

describe("parse cache", () => {
  it("parses each file once for many hosts, and again when it changes", () => {
    const { file, resolve } = setup({ ".ssh/config": "Include inc.conf\nHost *\n  Port 2\n", ".ssh/inc.conf": "Host a*\n  Port 1\n" });
    const before = sshConfigParseCount();
    for (let i = 0; i < 2000; i++) resolve(`a${i}`);
    expect(sshConfigParseCount() - before).toBe(2);
    expect(resolve("b").port).toBe(2);
    writeFileSync(file, "Include inc.conf\nHost *\n  Port 3333\n");
    expect(resolve("b").port).toBe(3333);
    expect(sshConfigParseCount() - before).toBe(3);
  });
});

// ---------------------------------------------------------------- random corpus

/** A small seeded PRNG (mulberry32): the same configs on every run, many shapes. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RANDOM_HOSTS = ["web1", "web2", "db1", "Mail.Example.com", "mx.example.org", "bastion", "alias-a", "10.0.0.5"];
const HOST_PATTERNS = ["*", "web*", "db?", "*.example.com", "!web2", "mx.*", "bastion", "*1", "alias-*", "10.0.0.*", "Mail*", "!*.org"];
const MATCH_LISTS = ["web*", "*.example.com,!mail*", "db1,bastion", "*.internal", "real.example.net", "alias-a", "!web1,*", "10.0.0.*", "mail.example.com"];
const SETTINGS = [
  "HostName %h.internal",
  "HostName real.example.net",
  "HostName Upper.Example.COM",
  "User cfguser",
  "User alice",
  "Port 2201",
  "Port=2202",
  "IdentityFile ~/.ssh/id_%h",
  "IdentityFile /keys/k_%r",
  'IdentityFile "~/.ssh/spaced key"',
  "ProxyJump j1",
  "ProxyJump ops@j2:2222",
  "ProxyJump j3,j4",
  "ProxyJump none",
  "ProxyCommand none",
  "ConnectTimeout 5",
  "ConnectTimeout 1m",
  "ConnectTimeout none",
  "ConnectTimeout 0",
  "UserKnownHostsFile ~/.ssh/kh1",
  "UserKnownHostsFile /etc/kh2 /etc/kh3",
  "UserKnownHostsFile ~/.ssh/known_hosts.d/%k %d/kh_%h_%p_%r_%n_%C",
  "UserKnownHostsFile none",
  "GlobalKnownHostsFile ~/.ssh/global_kh /etc/%h_kh",
  "GlobalKnownHostsFile none",
  "HostKeyAlias Pinned.Alias",
  "CheckHostIP yes",
  "CheckHostIP no",
  "StrictHostKeyChecking accept-new",
  "StrictHostKeyChecking no",
  "StrictHostKeyChecking yes",
  "HashKnownHosts yes",
  "HashKnownHosts no",
  "ForwardAgent yes",
  "IgnoreUnknown sitepolicy,Foo*",
  "FooBar yes",
  "ProxyJump ssh://ops@j5:2222,[10.0.0.9]",
];

function randomConfig(rand: () => number): Record<string, string> {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const criterion = (): string => {
    const r = rand();
    const neg = rand() < 0.25 ? "!" : "";
    if (r < 0.3) return `${neg}host ${pick(MATCH_LISTS)}`;
    if (r < 0.5) return `${neg}originalhost ${pick(MATCH_LISTS)}`;
    if (r < 0.65) return `${neg}user ${pick(["alice", "bob,cfg*", "!alice,*", "cfguser"])}`;
    if (r < 0.75) return `${neg}localuser ${pick([localUser, `!${localUser},*`, "nobody"])}`;
    if (r < 0.9) return `${neg}final`;
    return `${neg}canonical`;
  };
  const header = (): string => {
    const r = rand();
    if (r < 0.45) return `Host ${Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(HOST_PATTERNS)).join(" ")}`;
    if (r < 0.55) return "Match all";
    const n = 1 + Math.floor(rand() * 2);
    const crit = Array.from({ length: n }, criterion).join(" ");
    return rand() < 0.1 ? `Match ${crit} all`.replace(/^Match (\S+ \S+) (\S+ \S+) all$/, "Match $1 $2") : `Match ${crit}`;
  };
  const body = (names: string[], includeDepth: number): string => {
    const lines: string[] = [];
    const blocks = 1 + Math.floor(rand() * 4);
    for (let b = 0; b < blocks; b++) {
      if (b > 0 || rand() < 0.6) lines.push(header());
      const n = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) {
        if (includeDepth < 2 && rand() < 0.15) {
          const name = `inc${names.length}.conf`;
          names.push(name);
          const glob = rand() < 0.5 ? `inc${names.length - 1}*.conf` : `inc[${names.length - 1}].conf`;
          lines.push(`  Include ${rand() < 0.5 ? `inc/${name}` : `~/.ssh/inc/${names.length <= 10 ? glob : name}`}`);
          files[`.ssh/inc/${name}`] = body(names, includeDepth + 1);
        } else lines.push(`  ${pick(SETTINGS)}`);
      }
    }
    return `${lines.join("\n")}\n`;
  };
  const files: Record<string, string> = {};
  files[".ssh/config"] = body([], 0);
  return files;
}

describe("random configs agree with ssh -G", () => {
  const CONFIGS = Number(process.env.A12_CONFIGS ?? 30);
  it(`${CONFIGS} seeded configs × ${RANDOM_HOSTS.length} hosts × 2 users`, () => {
    const rand = prng(Number(process.env.A12_SEED ?? 20261201));
    let compared = 0;
    for (let i = 0; i < CONFIGS; i++) {
      const files = randomConfig(rand);
      const home = materialize({ name: `random ${i}`, files, hosts: [] });
      for (const host of RANDOM_HOSTS) {
        for (const user of [undefined, "bob"]) {
          try {
            compare(home, host, user);
          } catch (e) {
            throw new Error(`random config ${i} (${home}), host ${host}${user ? ` -l ${user}` : ""}:\n${Object.entries(files).map(([k, v]) => `--- ${k}\n${v}`).join("")}\n${(e as Error).message}`);
          }
          compared++;
        }
      }
    }
    expect(compared).toBe(CONFIGS * RANDOM_HOSTS.length * 2);
  }, 180_000);
});
