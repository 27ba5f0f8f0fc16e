// One side of a differential run: a fresh lab container (same image and
// hostname on both sides, so nothing but the tool under test differs), with
// the agent copied to /opt/postfleet/agent.cjs, and helpers that run a
// command under a pseudo-terminal and snapshot the Postfix file tree.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { ensureLabImage, packageRoot } from "../../../src/lab/engine.js";
import { LAB_LABEL } from "../lab.js";
import { setupImage } from "./setup-cache.js";
import { envPrefix } from "./shell.js";
import { shellQuote } from "../../../src/transport/shell.js";

export type Side = "real" | "subject";

/** Where the agent lives in the container (the path the brief and the docs use). */
export const AGENT_PATH = "/opt/postfleet/agent.cjs";

/** Both containers get this hostname: Postfix logs and chroot copies see the same name. */
const HOSTNAME = "mta1";

export interface RawResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What one command did: exit code, stdout, and the text it wrote to the terminal (stderr). */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  /** Everything written to the pseudo-terminal, i.e. stderr of the tool and its children. */
  tty: string;
}

export interface Twin {
  side: Side;
  container: StartedTestContainer;
  /** Run a shell command as root (no terminal), as is. */
  sh(cmd: string): Promise<RawResult>;
  stop(): Promise<void>;
}

/** The built agent; `npm run bundle` makes it. */
export function agentBundlePath(): string {
  return join(packageRoot(), "dist", "agent.cjs");
}

/**
 * The command line that runs "postmulti" on a side. The real side runs
 * /usr/sbin/postmulti; the subject side runs the agent, or the real postmulti
 * when POSTFLEET_COMPAT_SUBJECT=postmulti (the suite's self-check: real vs
 * real must pass every scenario, which proves the comparison has no false
 * differences).
 */
export function toolCommand(side: Side): string {
  if (side === "real" || selfCheck()) return "/usr/sbin/postmulti";
  return `/usr/bin/node ${AGENT_PATH}`;
}

/** POSTFLEET_COMPAT_SUBJECT=postmulti: the subject side runs the real postmulti too. */
export function selfCheck(): boolean {
  return process.env.POSTFLEET_COMPAT_SUBJECT === "postmulti";
}

/**
 * A running lab container as one side: same hostname on both sides, no sshd
 * (nothing here logs in; a plain sleep as PID 1 starts faster and stops at once).
 */
async function startContainer(side: Side, image: string): Promise<Twin> {
  const container = await new GenericContainer(image)
    .withHostname(HOSTNAME)
    .withLabels({ [LAB_LABEL]: "compat" })
    .withEntrypoint(["/bin/sleep", "infinity"])
    .withStartupTimeout(60_000)
    .start();
  const sh = async (cmd: string): Promise<RawResult> => {
    const r = await container.exec(["sh", "-c", cmd]);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
  return { side, container, sh, stop: () => container.stop({ timeout: 0 }).then(() => undefined) };
}

/** The lab image's tag, looked up (and built if docker/ changed) once per test file. */
let labImage: string | undefined;

export function labImageTag(): string {
  labImage ??= ensureLabImage();
  return labImage;
}

/**
 * A fresh side whose set-up begins with `cachedSetup` (file-only postmulti
 * commands, see setup-cache.ts): it starts from an image of that state.
 */
export async function startTwin(side: Side, cachedSetup: readonly string[] = []): Promise<Twin> {
  const bundle = agentBundlePath();
  if (side === "subject" && !existsSync(bundle)) {
    throw new Error(`${bundle} is missing: run \`npm run bundle\` first`);
  }
  const lab = labImageTag();
  const image = await setupImage(lab, cachedSetup, async () => {
    const t = await startContainer(side, lab);
    try {
      for (const cmd of cachedSetup) await mustSh(t, cmd);
    } catch (e) {
      await t.stop();
      throw e;
    }
    return { id: t.container.getId(), stop: t.stop };
  });
  const twin = await startContainer(side, image);
  try {
    if (existsSync(bundle)) {
      await twin.container.copyFilesToContainer([{ source: bundle, target: AGENT_PATH, mode: 0o644 }]);
    }
    await mustSh(twin, "mkdir -p /run/compat");
  } catch (e) {
    await twin.stop();
    throw e;
  }
  return twin;
}

/** Run a set-up command; it must succeed (else the scenario itself is wrong). */
export async function mustSh(t: Twin, cmd: string): Promise<string> {
  const r = await t.sh(cmd);
  if (r.exitCode !== 0) {
    throw new Error(`[${t.side}] set-up command failed (exit ${r.exitCode}): ${cmd}\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

/**
 * Run `cmdline` (already quoted) from / under `script`, so that its stderr is
 * a terminal (real postmulti prints its fatal messages to stderr only then)
 * while its stdout goes to a file. Returns the exit code (script -e passes it
 * through), stdout and the terminal text.
 */
export async function runUnderTty(
  t: Twin,
  cmdline: string,
  env?: Readonly<Record<string, string>>,
): Promise<CommandResult> {
  const inner = `${envPrefix(env)}${cmdline} >/run/compat/out`;
  const r = await t.sh(
    [
      "cd / && rm -f /run/compat/out /run/compat/tty",
      `script -qec ${shellQuote(inner)} /dev/null >/run/compat/tty 2>&1 </dev/null; echo "$?"`,
      "base64 -w0 /run/compat/out; echo",
      "base64 -w0 /run/compat/tty; echo",
    ].join("\n"),
  );
  const [rc, out, tty] = r.stdout.split("\n");
  if (r.exitCode !== 0 || rc === undefined || !/^\d+$/.test(rc)) {
    throw new Error(`[${t.side}] could not run under script: ${cmdline}\n${r.stdout}${r.stderr}`);
  }
  return {
    exitCode: Number(rc),
    stdout: decodeExact(out ?? ""),
    tty: decodeExact(tty ?? ""),
  };
}

/**
 * Base64 output as text, byte-exact: valid UTF-8 as is, otherwise every
 * byte >= 0x80 as \xNN (so that a raw 0xff and a replacement character,
 * which both decode to U+FFFD, stay different).
 */
export function decodeExact(base64: string): string {
  const buf = Buffer.from(base64, "base64");
  const text = buf.toString("utf8");
  if (Buffer.from(text, "utf8").equals(buf)) return text;
  return [...buf].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
}

/** One file-system entry: type, owner, group, mode, and content (hash or text) or link target. */
export type Tree = Record<string, string>;

/** Default roots: every config, queue and data directory of every instance. */
export const TREE_ROOTS = ["/etc/postfix*", "/var/spool/postfix*", "/var/lib/postfix*"];

/**
 * Files whose content legitimately differs between two containers: process
 * ids, random seeds, TLS session caches, and the chroot copies of the
 * container's own /etc/hosts and /etc/resolv.conf (bridge IP). Their type,
 * owner and mode are still compared.
 */
const VOLATILE_CONTENT = [
  /\/pid\/[^/]+\.pid$/,
  /\/master\.lock$/,
  /\/prng_exch$/,
  /_scache\.db$/,
  // Berkeley DB files (postmap hash:) embed random bytes; the README set-up makes them.
  /\.db$/,
  /^\/var\/spool\/postfix[^/]*\/etc\/(hosts|resolv\.conf|hostname)$/,
];

/** Main.cf and master.cf are compared as text, so a difference shows the lines. */
const TEXT_FILES = /\/(main|master)\.cf$/;

/**
 * `postconf -e` appends the parameters a file lacks in hash-table order,
 * which real Postfix randomises per run: two runs of the real postmulti
 * append the same lines in different orders. So within main.cf, each run of
 * consecutive `name = value` lines is compared as a sorted set; comments,
 * blank lines and every line's position relative to them still count.
 */
export function canonicalMainCf(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let run: string[] = [];
  const flush = () => {
    out.push(...run.sort());
    run = [];
  };
  for (const line of lines) {
    if (/^[A-Za-z0-9_]+\s*=/.test(line)) run.push(line);
    else if (/^\s+\S/.test(line) && run.length > 0) run[run.length - 1] += `\n${line}`;
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out.join("\n");
}

export async function snapshotTree(t: Twin, extraRoots: readonly string[] = []): Promise<Tree> {
  const roots = [...TREE_ROOTS, ...extraRoots.map(shellQuote)].join(" ");
  const script = [
    `for r in ${roots}; do`,
    '  [ -e "$r" ] || [ -L "$r" ] || continue',
    `  find "$r" -xdev -printf '%y\\t%u\\t%g\\t%m\\t%l\\t%p\\n'`,
    "done",
  ].join("\n");
  const listing = await mustSh(t, script);
  const tree: Tree = {};
  const regular: string[] = [];
  for (const line of listing.split("\n")) {
    if (!line) continue;
    const [type, user, group, mode, link, ...rest] = line.split("\t");
    const path = rest.join("\t");
    tree[path] = `${type} ${user}:${group} ${mode}${type === "l" ? ` -> ${link}` : ""}`;
    if (type === "f") regular.push(path);
  }
  // Contents, in one exec: text for main.cf/master.cf, sha256 for the rest.
  if (regular.length > 0) {
    const files = regular.filter((p) => !VOLATILE_CONTENT.some((re) => re.test(p)));
    const out = await mustSh(
      t,
      `for f in ${files.map(shellQuote).join(" ")}; do printf '%s\\t' "$f"; ` +
        `case "$f" in */main.cf|*/master.cf) base64 -w0 "$f";; *) sha256sum <"$f" | cut -c1-16;; esac; echo; done`,
    );
    for (const line of out.split("\n")) {
      const tab = line.lastIndexOf("\t");
      if (tab < 0) continue;
      const path = line.slice(0, tab);
      const content = line.slice(tab + 1);
      if (!TEXT_FILES.test(path)) {
        tree[path] += ` sha256:${content}`;
        continue;
      }
      const text = decodeExact(content);
      tree[path] += `\n${path.endsWith("/main.cf") ? canonicalMainCf(text) : text}`;
    }
  }
  return tree;
}
