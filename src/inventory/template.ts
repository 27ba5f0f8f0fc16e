// `{{ name }}` references in inventory variables, resolved as Ansible does
// for simple references: a variable of the host (any precedence level), the
// magic inventory_hostname, inventory_hostname_short, group_names, groups,
// inventory_dir, inventory_file; attribute/index access (a.b, a['b'], a[0]).
// Filters, tests, operators and {% %} blocks are not evaluated: in strict
// mode they are an error, otherwise the text is left as it is.

import { isSecretVar } from "./secrets.js";
import { UnsafeText, VaultedString } from "./vault.js";

export class TemplateError extends Error {}

/**
 * The error for a problem found while rendering a value: when a secret
 * variable (a password) is being rendered, `redacted` (which quotes nothing
 * from the value) replaces the detailed message.
 */
function templateError(stack: readonly string[], message: string, redacted: string): TemplateError {
  return new TemplateError(stack.some(isSecretVar) ? `${redacted} (details not shown: the value is a secret)` : message);
}

const REF = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\s*(?:'[^']*'|"[^"]*"|-?\d+)\s*\])*$/;

export interface TemplateScope {
  /** A variable's value, or undefined when the host has no such variable. */
  lookup(name: string): { value: unknown } | undefined;
  /** Text of a `!vault` value (decrypts). */
  reveal(v: VaultedString): string;
}

export function hasTemplate(s: string): boolean {
  return s.includes("{{") || s.includes("{%") || s.includes("{#");
}

/** Python's str() of a value, as Jinja2 in Ansible prints it inside a string. */
export function pyStr(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof UnsafeText) return v.text;
  return pyRepr(v);
}

function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    return q + v.replace(/\\/g, "\\\\").replace(new RegExp(q, "g"), `\\${q}`).replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r") + q;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (v instanceof VaultedString) return pyRepr(v.ciphertext);
  if (v instanceof UnsafeText) return pyRepr(v.text);
  if (typeof v === "object") return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  return String(v);
}

function access(base: unknown, path: string, full: string): unknown {
  const parts = path.match(/\.[A-Za-z_][A-Za-z0-9_]*|\[\s*(?:'[^']*'|"[^"]*"|-?\d+)\s*\]/g) ?? [];
  let cur = base;
  for (const p of parts) {
    let key: string | number;
    if (p.startsWith(".")) key = p.slice(1);
    else {
      const inner = p.slice(1, -1).trim();
      key = /^-?\d+$/.test(inner) ? parseInt(inner, 10) : inner.slice(1, -1);
    }
    if (Array.isArray(cur) && typeof key === "number") cur = cur[key < 0 ? cur.length + key : key];
    else if (cur && typeof cur === "object" && !Array.isArray(cur) && String(key) in (cur as object)) cur = (cur as Record<string, unknown>)[String(key)];
    else throw new TemplateError(`'${full}' is undefined (no ${String(key)} in it)`);
    if (cur === undefined) throw new TemplateError(`'${full}' is undefined`);
  }
  return cur;
}

/**
 * Render a value. A string that is exactly one `{{ ref }}` becomes the
 * referenced value itself; references inside longer strings are printed as
 * Python would. Lists and mappings are rendered item by item.
 */
export function render(value: unknown, scope: TemplateScope, strict: boolean, stack: string[] = [], memo: Map<object, unknown> = new Map()): unknown {
  if (value instanceof UnsafeText) return value.text; // !unsafe: never templated
  // A list or mapping shared through YAML aliases is rendered once per scope (an alias bomb stays cheap).
  if (Array.isArray(value)) {
    if (memo.has(value)) return memo.get(value);
    const out = value.map((v) => render(v, scope, strict, stack, memo));
    memo.set(value, out);
    return out;
  }
  if (value && typeof value === "object" && !(value instanceof VaultedString) && !(value instanceof UnsafeText)) {
    if (memo.has(value)) return memo.get(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = render(v, scope, strict, stack, memo);
    memo.set(value, out);
    return out;
  }
  if (typeof value !== "string" || !hasTemplate(value)) return value;
  if (value.includes("{%") || value.includes("{#")) {
    if (strict) throw templateError(stack, "uses a Jinja2 statement or comment ({% %} / {# #}), which postfleet does not evaluate: use a plain value or a simple {{ variable }}", "uses a Jinja2 statement or comment, which postfleet does not evaluate");
    return value;
  }
  const parts: (string | { ref: string })[] = [];
  let i = 0;
  while (i < value.length) {
    const open = value.indexOf("{{", i);
    if (open < 0) {
      parts.push(value.slice(i));
      break;
    }
    const close = value.indexOf("}}", open + 2);
    if (close < 0) {
      if (strict) throw templateError(stack, "has '{{' without a closing '}}'", "has '{{' without a closing '}}'");
      return value;
    }
    if (open > i) parts.push(value.slice(i, open));
    let expr = value.slice(open + 2, close);
    expr = expr.replace(/^-/, "").replace(/-$/, "").trim();
    if (!REF.test(expr)) {
      if (strict) {
        throw templateError(
          stack,
          `uses '{{ ${expr} }}', which is not a simple variable reference (filters, tests, operators and lookups are not evaluated by postfleet): use a plain value or {{ variable }}`,
          "uses a '{{ }}' expression that is not a simple variable reference (postfleet does not evaluate filters, tests, operators or lookups)",
        );
      }
      return value;
    }
    parts.push({ ref: expr });
    i = close + 2;
  }
  const resolve = (ref: string): unknown => {
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(ref)![0];
    if (stack.includes(name)) throw templateError(stack, `recursive loop detected: ${[...stack, name].join(" -> ")}`, "refers to itself through other variables");
    const found = scope.lookup(name);
    if (!found) throw templateError(stack, `'${name}' is undefined: define it for the host or a group it belongs to`, "refers to a variable that is not defined for the host");
    let v = found.value;
    if (v instanceof VaultedString) v = scope.reveal(v);
    v = render(v, scope, strict, [...stack, name], memo);
    try {
      return access(v, ref.slice(name.length), ref);
    } catch (e) {
      if (e instanceof TemplateError) throw templateError(stack, e.message, "refers to an attribute or item that is not defined");
      throw e;
    }
  };
  if (parts.length === 1 && typeof parts[0] !== "string") {
    const v = resolve(parts[0]!.ref);
    return v instanceof VaultedString ? scope.reveal(v) : v;
  }
  return parts.map((p) => (typeof p === "string" ? p : pyStr(resolve(p.ref)))).join("");
}
