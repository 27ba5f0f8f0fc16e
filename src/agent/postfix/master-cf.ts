// master.cf as postconf(1) shows it: `-M` (one normalized line per entry),
// `-F` (service/type/field = value) and `-P` (service/type/param = value).
// Parsing only; reading and writing go through the host's postconf.
import { MASTER_FIELDS, type MasterField } from "../../protocol/index.js";
import { commandWords } from "../../protocol/master-cf-words.js";

export type MasterFields = Record<MasterField, string>;

/** One master.cf entry: its fields (-F) and its -o parameters (-P). */
export interface MasterEntry {
  /** "service/type", the key postconf -M/-F/-P take. */
  key: string;
  fields: MasterFields;
  params: Map<string, string>;
  /** The entry as postconf -M prints it, words joined by one space ("" when -M was not read). */
  line: string;
}

export const isMasterField = (name: string): name is MasterField => (MASTER_FIELDS as readonly string[]).includes(name);

/** "a/b/c = value" → ["a/b", "c", "value"]; the last "/" of the left side ends the entry key. */
function splitKeyed(line: string): [string, string, string] | null {
  const eq = line.indexOf(" = ");
  const left = eq >= 0 ? line.slice(0, eq) : line.endsWith(" =") ? line.slice(0, -2) : null;
  if (left === null) return null;
  const value = eq >= 0 ? line.slice(eq + 3) : "";
  const slash = left.lastIndexOf("/");
  if (slash <= 0 || left.lastIndexOf("/", slash - 1) <= 0) return null;
  return [left.slice(0, slash), left.slice(slash + 1), value];
}

/** Entries of `postconf -F` output, in master.cf order. Lines that are not "s/t/f = v" are ignored. */
export function parseMasterFields(text: string): Map<string, MasterFields> {
  const out = new Map<string, MasterFields>();
  for (const line of text.split("\n")) {
    const kv = splitKeyed(line);
    if (!kv || !isMasterField(kv[1])) continue;
    const [key, field, value] = kv;
    let f = out.get(key);
    if (!f) {
      f = { service: "", type: "", private: "", unprivileged: "", chroot: "", wakeup: "", process_limit: "", command: "" };
      out.set(key, f);
    }
    f[field] = value;
  }
  return out;
}

/** -o parameters per entry from `postconf -P` output (the last of duplicates wins, as in Postfix). */
export function parseMasterParams(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of text.split("\n")) {
    const kv = splitKeyed(line);
    if (!kv) continue;
    const [key, name, value] = kv;
    let m = out.get(key);
    if (!m) out.set(key, (m = new Map()));
    m.set(name, value);
  }
  return out;
}

/** -F, -P and -M outputs joined into entries (master.cf order of -F). */
export function masterEntries(fieldsText: string, paramsText: string, linesText = ""): Map<string, MasterEntry> {
  const params = parseMasterParams(paramsText);
  const lines = new Map<string, string>();
  for (const l of parseMasterLines(linesText)) {
    const words = l.trim().split(/\s+/);
    lines.set(`${words[0]}/${words[1]}`, words.join(" "));
  }
  const out = new Map<string, MasterEntry>();
  for (const [key, fields] of parseMasterFields(fieldsText))
    out.set(key, { key, fields, params: params.get(key) ?? new Map(), line: lines.get(key) ?? "" });
  return out;
}

/** `postconf -M` output: one line per entry (postconf folds nothing without -f). */
export function parseMasterLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

/**
 * The command field split into the program with its own arguments, and its
 * `-o` options (kept verbatim). As in Postfix, options are the words after the
 * program name up to the first word that is not an option.
 */
export function splitCommand(command: string): { program: string[]; options: string[] } {
  const words = commandWords(command);
  const program: string[] = words.slice(0, 1);
  const options: string[] = [];
  let i = 1;
  for (; i < words.length && words[i]!.startsWith("-"); i++) {
    if (words[i] === "-o" && i + 1 < words.length) options.push("-o", words[++i]!);
    else program.push(words[i]!);
  }
  program.push(...words.slice(i));
  return { program, options };
}

/** The program part of a command field ("smtp -v" of "smtp -v -o a=b"), words joined by one space. */
export const commandProgram = (command: string) => splitCommand(command).program.join(" ");

/** The program name (first word) of a command field: "smtpd", "postscreen", ... */
export const commandName = (command: string) => commandWords(command)[0] ?? "";

/** Default fields of a new entry: "-" means Postfix's default for that column. */
export function newEntryLine(key: string, fields: Partial<Record<MasterField, string>>, command: string): string {
  const slash = key.lastIndexOf("/");
  const col = (f: MasterField) => {
    const v = fields[f];
    return v === undefined || v === "" ? "-" : v;
  };
  return [key.slice(0, slash), key.slice(slash + 1), col("private"), col("unprivileged"), col("chroot"), col("wakeup"), col("process_limit"), command].join(" ");
}

export { commandWords };
