// What a run records about itself at its start, without secrets: the command
// line (extra vars redacted), the playbook's and inventories' content hashes
// (so that a later resume can tell whether they changed), the plan.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PlannedPlay } from "./records.js";

export const REDACTED = "<redacted>";

/** Keys whose values are never written: passwords, secrets, tokens, private keys, passphrases, vault values. */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|credential|private|api[_-]?key|auth|vault|cookie|session/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Extra vars with the values of secret-looking keys (at any depth) replaced. */
export function redactVars(vars: Record<string, unknown>): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecretKey(k) ? REDACTED : walk(x)]));
    return v;
  };
  return walk(vars) as Record<string, unknown>;
}

/**
 * The values of secret-looking extra vars (at any depth), as text: a step may
 * render one into a command or a message, so the journal masks them wherever
 * they appear. Values shorter than 4 characters are left out (masking them
 * would garble every text they occur in, and they protect nothing).
 */
export function secretValues(vars: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const collect = (v: unknown): void => {
    if (typeof v === "string" || typeof v === "number") {
      if (String(v).length >= 4) out.add(String(v));
    } else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (isSecretKey(k) ? collect : walk)(x);
  };
  walk(vars);
  return [...out];
}

/** `v` with every occurrence of a secret inside its strings (values, not keys) replaced by REDACTED. */
export function maskSecrets<T>(v: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return v;
  const mask = (x: unknown): unknown => {
    if (typeof x === "string") return secrets.reduce((s, secret) => s.split(secret).join(REDACTED), x);
    if (Array.isArray(x)) return x.map(mask);
    if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, mask(y)]));
    return x;
  };
  return mask(v) as T;
}

const HIDDEN = "<extra vars: see extraVars>";

/**
 * The command line with every -e/--extra-vars value replaced (they are
 * recorded apart, redacted). After the `postmulti` command word the
 * arguments are postmulti's own (its -e is "edit"), kept as they are.
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "postmulti" || a === "--") return [...out, ...argv.slice(i)];
    if ((a === "--extra-vars" || /^-[A-Za-z]*e$/.test(a)) && i + 1 < argv.length) {
      out.push(a, HIDDEN);
      i++;
    } else if (a.startsWith("--extra-vars=")) out.push(`--extra-vars=${HIDDEN}`);
    else if (/^-[A-Za-z]*e./.test(a) && !a.startsWith("--")) out.push(`${a.slice(0, a.indexOf("e") + 1)}${HIDDEN}`);
    else out.push(a);
  }
  return out;
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A source's content hash: a file's bytes; a directory's names and files, recursively, in sorted order; null for a host list ("a,b,") or a missing path. */
export function sourceHash(source: string, cwd: string): string | null {
  if (source.includes(",") && !source.includes("/")) return null;
  const path = source.startsWith("/") ? source : join(cwd, source);
  if (!existsSync(path)) return null;
  const h = createHash("sha256");
  const add = (p: string, rel: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p).sort()) add(join(p, n), `${rel}/${n}`);
    } else if (st.isFile()) {
      h.update(`${rel}\0${st.size}\0`);
      h.update(readFileSync(p));
    }
  };
  add(path, ".");
  return h.digest("hex");
}

/** The plan of a playbook run as recorded: plays, order (shuffle seed), batches and budgets. */
export function plannedPlays(
  plays: ReadonlyArray<{ name: string; pattern: string; order?: string; orderSeed?: number; batches: string[][]; maxFail?: number | null; maxFailPerBatch?: number[]; pauseBetweenBatchesMs?: number; canary?: { hosts: string[]; promote: "auto" | "pause"; soakMs?: number } }>,
): PlannedPlay[] {
  return plays.map((p) => ({
    name: p.name,
    pattern: p.pattern,
    ...(p.order !== undefined ? { order: p.order } : {}),
    ...(p.orderSeed !== undefined ? { orderSeed: p.orderSeed } : {}),
    batches: p.batches,
    ...(p.maxFail !== undefined && p.maxFail !== null ? { maxFail: p.maxFail } : {}),
    ...(p.maxFailPerBatch ? { maxFailPerBatch: p.maxFailPerBatch } : {}),
    ...(p.pauseBetweenBatchesMs !== undefined ? { pauseBetweenBatchesMs: p.pauseBetweenBatchesMs } : {}),
    ...(p.canary ? { canary: { hosts: p.canary.hosts, promote: p.canary.promote, ...(p.canary.soakMs !== undefined ? { soakMs: p.canary.soakMs } : {}) } } : {}),
  }));
}
