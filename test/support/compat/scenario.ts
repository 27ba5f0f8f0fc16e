// The differential scenario model and its runner: the same set-up and steps
// on two fresh twin containers, one with the real postmulti, one with the
// agent; every step's exit code, stdout and stderr (terminal) text, and the
// final file tree, side by side.
import {
  decodeExact,
  mustSh,
  runUnderTty,
  selfCheck,
  snapshotTree,
  startTwin,
  toolCommand,
  type CommandResult,
  type Side,
  type Tree,
  type Twin,
} from "./twin.js";
import { splitSetup } from "./setup-cache.js";
import { envPrefix, shJoin } from "./shell.js";
import { shellQuote } from "../../../src/transport/shell.js";

/** Run `postmulti ARGS` (the real one, or the agent) on both sides. */
export interface ToolStep {
  pm: string[];
  env?: Record<string, string>;
  /**
   * Where real Postfix 3.7 cannot be the reference (the ≥ 3.8 `-j` option),
   * what the real side runs instead (`pm`, then `map` turns its result into
   * the expected one), or the expected result itself (`result`).
   */
  reference?: { pm: string[]; map(r: CommandResult): CommandResult } | { result: CommandResult };
  /**
   * Also the intended difference: run the agent WITHOUT a terminal and
   * expect on its plain stderr the fatal text the real one shows on a
   * terminal (the agent prints it always; the real one only on a tty).
   */
  noTty?: boolean;
  /**
   * Run on BOTH sides without a terminal (stdout and stderr to files), and
   * compare those: what postmulti-script, postlog(1) and postfix(1) print
   * then (they write to stderr only when it is a terminal) must be the same.
   * The agent's own `postmulti: …` lines, which it prints without a terminal
   * too (the intended difference), are left out on its side: their text is
   * compared by the same step under a terminal, and in the mail log.
   */
  plain?: boolean;
}

/** The same shell command on both sides, under a terminal; compared like a tool step. */
export interface ShellStep {
  sh: string;
}

export type Step = ToolStep | ShellStep;

export interface Scenario {
  name: string;
  /** Shell commands run as root on both sides before the steps; each must succeed. */
  setup?: string[];
  steps: Step[];
  /** Extra roots (besides /etc/postfix*, /var/spool/postfix*, /var/lib/postfix*) to snapshot. */
  paths?: string[];
  /**
   * The scenario writes the side's tool command into a file (the wrapper
   * test's multi_instance_wrapper): in the tree it reads as @POSTMULTI@.
   */
  toolInTree?: boolean;
}

/** A step as compared: its label and what it did. */
export interface StepOutcome {
  step: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SideOutcome {
  steps: StepOutcome[];
  tree: Tree;
  /** What postmulti, postmulti-script, postfix and postfix-script wrote to the mail log, in order. */
  log: string[];
}

/** In shell steps, @POSTMULTI@ is the tool of the side (real postmulti or the agent). */
export const TOOL_PLACEHOLDER = "@POSTMULTI@";

/**
 * All the normalization of command output and log text: the
 * pseudo-terminal's \r\n, process ids that `postfix status` prints
 * ("PID: 1234"), postfix-script's load-dependent stop polling line, and the
 * -vvv stream debugging lines (see below).
 */
export function normalizeText(s: string): string {
  return s.replace(/\r\n/g, "\n").replace(/\bPID: \d+/g, "PID: <pid>").replace(WAITING, "").replace(VSTREAM_DEBUG, "");
}

/**
 * The one intended difference besides stderr without a terminal
 * (docs/postmulti-compat.md): with -vvv the real postmulti also prints and
 * logs the debugging lines of Postfix's stream library (file descriptor
 * numbers and byte counts of its own I/O), which the agent does not imitate.
 */
const VSTREAM_DEBUG = /^postmulti: vstream_[a-z_]+: [^\n]*\n/gm;

/**
 * postfix-script's stop polls the master once a second and says so when it
 * is still there: a matter of load, not of the tool that ran it.
 */
const WAITING = /^[^\n]*postfix-script: waiting for the Postfix mail system to terminate\n/gm;

/** Mail log programs whose lines are compared (the daemons' own lines depend on timing). */
const LOGGED_PROGRAMS = /^(?:[^/\s]+\/)?(postmulti|postmulti-script|postfix-script|postfix)$/;

/**
 * The mail log (maillog_file = /var/log/postfix.log) reduced to "program:
 * text" for the programs above: the time stamp, host name and pid are left
 * out (they differ between two runs).
 */
/**
 * postfix-script logs "stopping the Postfix mail system" just before the
 * master (and with it postlogd, the mail log's writer) goes away; under load
 * postlogd may die before it writes that datagram, on either side. The line is
 * still compared on the terminal (stdout/stderr of the step).
 */
const STOPPING = /^postfix(?:\/postfix)?-script: stopping the Postfix mail system$/;

export function mailLogLines(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split("\n")) {
    const m = /^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ ([^\s[:]+)(?:\[\d+\])?: (.*)$/.exec(line);
    if (!m || !LOGGED_PROGRAMS.test(m[1]!)) continue;
    const text = normalizeText(`${m[1]}: ${m[2]}\n`);
    if (text && !STOPPING.test(text.slice(0, -1))) out.push(text.slice(0, -1));
  }
  return out;
}

function stepLabel(step: Step): string {
  if (!("pm" in step)) return step.sh;
  return `${envPrefix(step.env)}postmulti ${shJoin(step.pm)}${step.plain ? "  (no terminal)" : ""}`;
}

async function runToolStep(t: Twin, step: ToolStep): Promise<CommandResult> {
  const tool = toolCommand(t.side);
  // Self-check: the subject is real 3.7 too, so it answers with the reference.
  if (step.reference && (t.side === "real" || selfCheck())) {
    if ("result" in step.reference) {
      // What 3.8 would also do with its fatal error: log it (postlog without a terminal only logs).
      const fatal = /^postmulti: fatal: (.*)\n$/.exec(step.reference.result.tty);
      if (fatal) await mustSh(t, `postlog -t postmulti -p fatal ${shellQuote(fatal[1]!)} || true`);
      return step.reference.result;
    }
    const r = await runUnderTty(t, `${tool} ${shJoin(step.reference.pm)}`, step.env);
    return step.reference.map({ ...r, tty: normalizeText(r.tty) });
  }
  if (step.plain || (t.side === "subject" && step.noTty && !selfCheck())) {
    // stdout and stderr to files, no terminal anywhere.
    const r = await t.sh(
      `cd / && ${envPrefix(step.env)}${tool} ${shJoin(step.pm)} >/run/compat/out 2>/run/compat/err </dev/null; echo "$?"; ` +
        "base64 -w0 /run/compat/out; echo; base64 -w0 /run/compat/err; echo",
    );
    const [rc, out, err] = r.stdout.split("\n");
    return {
      exitCode: Number(rc),
      stdout: decodeExact(out ?? ""),
      tty: decodeExact(err ?? ""),
    };
  }
  return runUnderTty(t, `${tool} ${shJoin(step.pm)}`, step.env);
}

/** The agent's own messages (always on stderr, unlike postmulti's: the intended difference). */
const OWN_MESSAGE = /^postmulti: [^\n]*\n/gm;

async function runStep(t: Twin, step: Step): Promise<StepOutcome> {
  const r =
    "pm" in step
      ? await runToolStep(t, step)
      : await runUnderTty(t, `( ${step.sh.split(TOOL_PLACEHOLDER).join(toolCommand(t.side))} )`);
  let stderr = normalizeText(r.tty);
  if ("pm" in step && step.plain && t.side === "subject" && !selfCheck()) stderr = stderr.replace(OWN_MESSAGE, "");
  return { step: stepLabel(step), exitCode: r.exitCode, stdout: normalizeText(r.stdout), stderr };
}

export async function runSide(side: Side, s: Scenario): Promise<SideOutcome> {
  const { cached, rest } = splitSetup(s.setup ?? []);
  const t = await startTwin(side, cached);
  try {
    for (const cmd of rest) await mustSh(t, cmd);
    const steps: StepOutcome[] = [];
    for (const step of s.steps) steps.push(await runStep(t, step));
    const tree = await snapshotTree(t, s.paths);
    const log = mailLogLines((await t.sh("cat /var/log/postfix.log 2>/dev/null")).stdout);
    if (s.toolInTree) {
      for (const [p, v] of Object.entries(tree)) tree[p] = v.split(toolCommand(side)).join(TOOL_PLACEHOLDER);
    }
    return { steps, tree, log };
  } finally {
    await t.stop();
  }
}

/**
 * Both sides of one scenario, in parallel; or only the subject, when the real
 * side's outcome is given (recorded: reference-record.ts).
 */
export async function runScenario(s: Scenario, recordedReal?: SideOutcome): Promise<{ real: SideOutcome; subject: SideOutcome }> {
  const [real, subject] = await Promise.all([recordedReal ?? runSide("real", s), runSide("subject", s)]);
  return { real, subject };
}

/** The tree entries that differ: path → [real, subject] (undefined = absent). */
export function treeDiff(real: Tree, subject: Tree): Record<string, [string | undefined, string | undefined]> {
  const out: Record<string, [string | undefined, string | undefined]> = {};
  for (const p of new Set([...Object.keys(real), ...Object.keys(subject)])) {
    if (real[p] !== subject[p]) out[p] = [real[p], subject[p]];
  }
  return out;
}
