// `{{ variable }}` templates of a step rendered for one host, with the
// inventory's template engine (the same Jinja subset inventories use), and
// `when` read as a boolean. Variables, lowest to highest as in Ansible: the
// host's inventory variables, the play's vars, extra vars; then the magic
// inventory_hostname, inventory_hostname_short, group_names, playbook_dir.

import { hasTemplate, render, TemplateError, type TemplateScope } from "../inventory/index.js";
import type { WhenResult } from "./types.js";
import type { Path } from "./yaml-source.js";

export { TemplateError } from "../inventory/index.js";

export function hostScope(vars: Record<string, unknown>): TemplateScope {
  return {
    lookup: (n) => (Object.prototype.hasOwnProperty.call(vars, n) ? { value: vars[n] } : undefined),
    reveal: () => {
      throw new TemplateError("is vault-encrypted, which playbook templates do not decrypt: set it in the inventory, where postfleet decrypts it");
    },
  };
}

/** A template problem found while rendering, at `path` of the rendered value. */
export interface RenderProblem {
  path: Path;
  message: string;
}

function explain(e: TemplateError): string {
  return e.message.replace(/: define it for the host or a group it belongs to$/, ": define it in the inventory, in the play's vars or with -e");
}

/** Render every string of `value`; problems are returned with their path (relative to `value`). */
export function renderValue(value: unknown, scope: TemplateScope, problems: RenderProblem[], path: Path = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, scope, problems, [...path, i]));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = renderValue(v, scope, problems, [...path, k]);
    return out;
  }
  if (typeof value !== "string" || !hasTemplate(value)) return value;
  try {
    return render(value, scope, true);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    problems.push({ path, message: explain(e) });
    return value;
  }
}

const TRUE = new Set(["true", "yes", "on", "1", "y", "t"]);
const FALSE = new Set(["false", "no", "off", "0", "n", "f", "", "none", "null"]);

/** Ansible's `| bool`, strict: anything that is not clearly true or false is an error. */
export function toBool(v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (v === null || v === undefined) return false;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
    throw new TemplateError(`is '${v}', which is neither true nor false (true/false, yes/no, on/off, 1/0)`);
  }
  throw new TemplateError(`is ${Array.isArray(v) ? "a list" : "a mapping"}, which is neither true nor false`);
}

const REF = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])*$/;

/**
 * A step's `when` for one host: true/false, a variable name (optionally
 * "not NAME", "NAME | bool", also inside {{ }}), or a template whose text
 * reads as a boolean. Unlike Ansible, the string "false" is false.
 */
export function evaluateWhen(expression: string | boolean, scope: TemplateScope): WhenResult {
  if (typeof expression === "boolean") return { expression: String(expression), rendered: String(expression), result: expression };
  let inner = expression.trim();
  const whole = /^\{\{([\s\S]*?)\}\}$/.exec(inner);
  if (whole && !whole[1]!.includes("{{")) inner = whole[1]!.trim();
  else if (hasTemplate(inner)) {
    const rendered = render(inner, scope, true);
    const text = typeof rendered === "string" ? rendered : String(rendered);
    return { expression, rendered: text, result: toBool(rendered) };
  }
  const m = /^(not\s+)?\(?\s*([^()|]+?)\s*(\|\s*bool\s*)?\)?$/.exec(inner);
  const ref = m?.[2]?.trim() ?? "";
  const literal = /^(?:true|false|yes|no)$/i.test(ref);
  if (!m || !(literal || REF.test(ref))) {
    throw new TemplateError(`'${expression}' is not a condition postfleet evaluates: use true/false, a variable (drain), not drain, drain | bool, or a {{ template }}`);
  }
  const value = literal ? ref : render(`{{ ${ref} }}`, scope, true);
  const result = toBool(value) !== !!m[1];
  return { expression, rendered: typeof value === "string" ? value : JSON.stringify(value), result };
}

export { explain as explainTemplateError };
