// Python's str() and repr() of inventory values, for the outputs that print
// them as Python does: `ansible-inventory --graph --vars` ('{%s = %s}' % (k, v)),
// and the TOML and YAML dumpers (repr of floats and strings).

import { UnsafeText, VaultedString } from "./vault.js";

/** Python's repr(float) for a number JavaScript holds (whole values print as ints: JavaScript cannot tell 1.0 from 1). */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  // Shortest round-trip digits (as both languages compute them), Python's layout:
  // scientific when the exponent is below -4 or at least 16.
  const [mant, expText] = n.toExponential().split("e") as [string, string];
  const exp = parseInt(expText, 10);
  const neg = mant.startsWith("-");
  const digits = mant.replace(/^-/, "").replace(".", "");
  let out: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) out = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) out = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return (neg ? "-" : "") + out;
}

/** Python's str.isprintable() for one code point (not Other, not a separator except the space). */
export function pyPrintable(cp: number): boolean {
  if (cp === 0x20) return true;
  return !/[\p{C}\p{Z}]/u.test(String.fromCodePoint(cp));
}

/** Python's repr(str). */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x7f || pyPrintable(cp)) out += ch;
    else if (cp <= 0xff) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp <= 0xffff) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + quote;
}

/** Python's repr() of a value as Ansible holds it (a vault value needs `reveal`: Ansible decrypts it). */
export function pyRepr(v: unknown, reveal: (v: VaultedString) => string): string {
  if (v instanceof VaultedString) return pyStrRepr(reveal(v));
  if (v instanceof UnsafeText) return pyStrRepr(v.text);
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return pyFloatRepr(v);
  if (typeof v === "string") return pyStrRepr(v);
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x, reveal)).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x, reveal)}`)
      .join(", ")}}`;
  }
  return pyStrRepr(String(v));
}

/** Python's str() of a value: strings as they are, everything else as repr(). */
export function pyStr(v: unknown, reveal: (v: VaultedString) => string): string {
  if (typeof v === "string") return v;
  if (v instanceof UnsafeText) return v.text;
  if (v instanceof VaultedString) return reveal(v);
  return pyRepr(v, reveal);
}
