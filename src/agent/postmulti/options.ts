// Command-line parsing, exactly as postmulti's GETOPT loop and the checks
// after it (glibc getopt with a leading "+": stop at the first non-option).
// Pure logic: the caller supplies nothing but argv.
import { PostmultiFatal, USAGE_TEXT } from "./messages.js";

export const EDIT_ACTIONS = ["create", "import", "destroy", "deport", "enable", "disable", "assign", "init"] as const;
export type EditAction = (typeof EDIT_ACTIONS)[number];
export type IterMode = "list" | "postfix" | "generic";
export type Mode = { kind: "iterate"; iter: IterMode } | { kind: "edit"; action: EditAction };

export type Selection =
  | { type: "none" }
  | { type: "all" }
  | { type: "name"; name: string }
  | { type: "group"; name: string };

export interface PostmultiOptions {
  mode: Mode;
  selection: Selection;
  /** -I: null when absent, "" for "-I -" (clear the name). */
  assignName: string | null;
  /** -G: null when absent, "" for "-G -" (clear the group). */
  assignGroup: string | null;
  reverse: boolean;
  verbose: number;
  json: boolean;
  /** Arguments after the options: the command (-p/-x) or name=value settings (-e). */
  args: string[];
}

/** Options of the agent itself: long options placed before postmulti's own. */
export interface AgentOptions {
  json: boolean;
  dryRun: boolean;
  serve: boolean;
  lockTimeoutMs: number | null;
  /** Remaining arguments: postmulti's. */
  rest: string[];
}

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/** Take --json, --dry-run, --serve, --lock-timeout=SECONDS off the front of argv. */
export function parseAgentOptions(argv: string[]): AgentOptions {
  const o: AgentOptions = { json: false, dryRun: false, serve: false, lockTimeoutMs: null, rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") o.json = true;
    else if (a === "--dry-run") o.dryRun = true;
    else if (a === "--serve") o.serve = true;
    else if (a.startsWith("--lock-timeout=")) {
      const s = Number(a.slice("--lock-timeout=".length));
      if (!Number.isFinite(s) || s < 0) throw new PostmultiFatal(`invalid --lock-timeout value: '${a}'`, "usage");
      o.lockTimeoutMs = Math.round(s * 1000);
    } else break;
  }
  o.rest = argv.slice(i);
  return o;
}

const WITH_ARG = new Set(["e", "g", "i", "G", "I"]);
const NO_ARG = new Set(["a", "j", "l", "p", "R", "v", "x"]);

function usage(preface: string[] = []): never {
  throw new PostmultiFatal(USAGE_TEXT, "usage", preface);
}

/**
 * Parse postmulti's arguments (without argv[0]). Throws PostmultiFatal with
 * postmulti's exact message for every error it reports before reading any
 * instance. `withJson` enables -j (Postfix >= 3.11; our extension on 3.7).
 */
export function parsePostmultiArgs(argv: string[], withJson = true): PostmultiOptions {
  let selection: Selection = { type: "none" };
  let selectCount = 0;
  let modeCount = 0;
  let mode: Mode | null = null;
  let assignName: string | null = null;
  let assignGroup: string | null = null;
  let reverse = false;
  let verbose = 0;
  let json = false;

  const sameMode = (a: Mode | null, b: Mode) =>
    a !== null && a.kind === b.kind && (a.kind === "edit" ? a.action === (b as typeof a).action : a.iter === (b as typeof a).iter);
  const setMode = (m: Mode) => {
    if (!sameMode(mode, m)) modeCount++;
    mode = m;
  };

  let optind = 0;
  while (optind < argv.length) {
    const arg = argv[optind]!;
    if (arg === "--") {
      optind++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    optind++;
    for (let k = 1; k < arg.length; k++) {
      const ch = arg[k]!;
      let optarg = "";
      if (WITH_ARG.has(ch)) {
        if (k + 1 < arg.length) optarg = arg.slice(k + 1);
        else if (optind < argv.length) optarg = argv[optind++]!;
        else usage([`option requires an argument -- '${ch}'`]);
        k = arg.length;
      } else if (!NO_ARG.has(ch) || (ch === "j" && !withJson)) {
        usage([`invalid option -- '${ch}'`]);
      }
      switch (ch) {
        case "a":
          if (selection.type !== "all") selectCount++;
          selection = { type: "all" };
          break;
        case "e": {
          if (!(EDIT_ACTIONS as readonly string[]).includes(optarg))
            throw new PostmultiFatal(
              `Invalid '-e' edit action '${optarg}'. Specify 'create', 'destroy', 'import', 'deport', ` +
                "'enable', 'disable', 'assign' or 'init'",
              "usage",
            );
          setMode({ kind: "edit", action: optarg as EditAction });
          break;
        }
        case "g":
          selectCount++;
          selection = { type: "group", name: optarg };
          break;
        case "i":
          selectCount++;
          selection = { type: "name", name: optarg };
          break;
        case "j":
          json = true;
          break;
        case "G":
          if (assignGroup !== null) throw new PostmultiFatal("Specify at most one '-G' option", "usage");
          assignGroup = optarg === "-" ? "" : optarg;
          break;
        case "I":
          if (assignName !== null) throw new PostmultiFatal("Specify at most one '-I' option", "usage");
          assignName = optarg === "-" ? "" : optarg;
          break;
        case "l":
          setMode({ kind: "iterate", iter: "list" });
          break;
        case "p":
          setMode({ kind: "iterate", iter: "postfix" });
          break;
        case "R":
          reverse = !reverse;
          break;
        case "v":
          verbose++;
          break;
        case "x":
          setMode({ kind: "iterate", iter: "generic" });
          break;
      }
    }
  }
  const args = argv.slice(optind);
  const m = mode as Mode | null;

  if (selectCount > 1) throw new PostmultiFatal("Specity no more than one of '-a', '-g', '-i'", "usage");
  if (modeCount !== 1 || m === null) throw new PostmultiFatal("Specify exactly one of '-e', '-l', '-p', '-x'", "usage");
  if (m.kind === "iterate" && m.iter === "list" && args.length > 0)
    throw new PostmultiFatal("Command not allowed with '-l'", "usage");
  if (m.kind === "iterate" && m.iter !== "list" && args.length === 0)
    throw new PostmultiFatal("Command required with '-p' or '-x' option", "usage");
  if (((m.kind === "iterate" && m.iter === "postfix") || m.kind === "edit") && reverse)
    throw new PostmultiFatal("The '-p' and '-e' options preclude the use of '-R'", "usage");
  const assigns = m.kind === "edit" && ["create", "import", "assign"].includes(m.action);
  if (!assigns && (assignName !== null || assignGroup !== null)) {
    if (m.kind !== "edit") throw new PostmultiFatal("Cannot assign instance name or group without '-e assign'", "usage");
    throw new PostmultiFatal(`Cannot assign instance name or group with '-e ${m.action}'`, "usage");
  }
  if (m.kind === "edit") {
    if (m.action === "assign" && assignName === null && assignGroup === null)
      throw new PostmultiFatal("Specify new instance name or group with '-e assign'", "usage");
    if (m.action !== "create" && m.action !== "import" && args.length > 0)
      throw new PostmultiFatal(`Parameter overrides not valid with '-e ${m.action}'`, "usage");
  }
  if (json && !(m.kind === "iterate" && m.iter === "list"))
    throw new PostmultiFatal("JSON output available only with '-l'", "usage");

  return { mode: m, selection, assignName, assignGroup, reverse, verbose, json, args };
}
