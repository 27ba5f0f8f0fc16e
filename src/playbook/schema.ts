// The playbook format, defined once: the loader validates with these schemas,
// the TypeScript types of the raw document come from them, and
// playbooks/schema.json (editors' completion and validation) is generated
// from them (scripts/playbook-schema.ts). Every field carries its
// documentation in `.describe()`.
//
// Values are as written in the file: `{{ variable }}` templates are allowed
// in every string, and where a number or a boolean is expected a template
// (rendered per host later) is accepted too.

import { z } from "zod";

/** A string holding at least one `{{ ... }}` template. */
export const TEMPLATE_RE = /\{\{[\s\S]*\}\}/;
const template = z.string().regex(TEMPLATE_RE).describe("A {{ variable }} template, rendered per host.");
/** A template where a value of another type is expected: `error` says what the value may be (also when it rendered to a plain string). */
const templateOr = (error: string) => z.string().regex(TEMPLATE_RE, { error }).describe(template.description ?? "");

/** "30s", "2m", "1h30m", "500ms" (units h, m, s, ms in that order). */
export const DURATION_RE = /^\s*(?:(\d+)h)?\s*(?:(\d+)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+)ms)?\s*$/;
/** What a duration string may be: seconds ("30", as -e gives numbers), units, or a template. */
const DURATION_OR_TEMPLATE_RE = new RegExp(`^\\s*\\d+(?:\\.\\d+)?\\s*$|${DURATION_RE.source}|${TEMPLATE_RE.source}`);
const DURATION_ERROR = 'a duration is a number of seconds or a string such as "30s", "2m", "1h30m" or "500ms"';

const digitsToNumber = (v: unknown): unknown => (typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v);

function count(description: string, min = 1) {
  const templ = z.string().regex(TEMPLATE_RE, { error: `expected a whole number (at least ${min}), or a {{ template }} that renders to one` });
  return z.preprocess(digitsToNumber, z.union([z.int().min(min), templ.describe(template.description ?? "")])).describe(description);
}

const PERCENT_RE = /^\s*(\d{1,3})\s*%\s*$/;
const percent = z
  .string()
  .regex(PERCENT_RE, { error: 'a percentage is written "N%" with N a whole number from 0 to 100', abort: true })
  .refine((s) => Number(PERCENT_RE.exec(s)?.[1]) <= 100, { error: "a percentage is at most 100%" });

function countOrPercent(description: string) {
  return z.preprocess(digitsToNumber, z.union([z.int().min(1), percent], { error: `expected a count (a whole number, at least 1) or a percentage such as "10%"` })).describe(description);
}

export function duration(description: string) {
  return z
    .union(
      [
        z.number().nonnegative(),
        z
          .string()
          .regex(DURATION_OR_TEMPLATE_RE, { error: DURATION_ERROR })
          .refine((s) => TEMPLATE_RE.test(s) || /\d/.test(s), { error: DURATION_ERROR }),
      ],
      { error: 'expected a duration: a number of seconds or a string such as "30s", "2m", "1h30m" or "500ms"' },
    )
    .describe(description);
}

// A string is read as a boolean after rendering (yes/no, true/false, on/off, 1/0).
const boolOrTemplate = (description: string) => z.union([z.boolean(), z.string()], { error: "expected true or false" }).describe(description);

const argv = (description: string) => z.array(z.string({ error: "every argument is a string (quote numbers)" })).min(1, { error: "needs at least one argument" }).describe(description);

// ------------------------------------------------------------------ settings

const paramValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "a parameter value is a string, a number or a boolean (true/false are written yes/no)" })
  .describe('The value as in "postconf -e name=value" (an empty string sets it empty; true/false are written yes/no).');

const mainCf = z
  .record(z.string().regex(/^[A-Za-z0-9_.\-{}$]+$/, { error: "not a main.cf parameter name" }), paramValue)
  .describe("main.cf parameters: name → value. Applied with postconf -e only where the instance's value differs.");

const mainCfAbsent = z
  .array(z.string())
  .describe("main.cf parameters to remove (postconf -X) where they are set, so that they take their default value again.");

export const MASTER_ENTRY_RE = /^[^/\s]+\/(?:inet|unix|unix-dgram|fifo|pass)$/;
const masterEntry = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()], { error: "a master.cf field or -o parameter is a string, a number, a boolean, or null to remove the -o parameter" }))
  .describe(
    "Fields of the entry (service, type, private, unprivileged, chroot, wakeup, process_limit, command: set with postconf -F) and -o parameters (any other name: set with postconf -P, null removes it). A missing entry is created (postconf -M) and needs `command`.",
  );
const masterCf = z
  .record(
    z.string().regex(MASTER_ENTRY_RE, { error: 'a master.cf entry is named "service/type", e.g. "smtp/inet" or "127.0.0.1:10026/inet"' }),
    z.union([masterEntry, z.null()]),
  )
  .describe('master.cf entries: "service/type" → fields and -o parameters. null removes the whole entry (postconf -MX).');

const settingsShape = {
  main_cf: z
    .union([mainCf, templateOr("main_cf is a mapping of main.cf parameters (name: value), or a {{ variable }} that renders to one").describe("A {{ variable }} that renders to a mapping of main.cf parameters (e.g. given with -e '{\"main_cf\": {...}}').")])
    .optional()
    .describe(mainCf.description ?? ""),
  main_cf_absent: mainCfAbsent.optional(),
  master_cf: masterCf.optional(),
};

// ------------------------------------------------------------------ steps

export const INSTANCE_STATES = ["enabled", "disabled", "absent"] as const;

export const DesiredInstanceSchema = z
  .strictObject({
    name: z.string().describe('Instance name (multi_instance_name): "postfix-" followed by a name; "-" is the primary instance.'),
    group: z.string().optional().describe("Instance group (multi_instance_group), e.g. mta. Assigned with postmulti -e assign when it differs."),
    state: z
      .enum(INSTANCE_STATES)
      .optional()
      .describe(
        "enabled (default): created if missing and enabled; disabled: created if missing, disabled (stopped first); absent: stopped, disabled and destroyed (postmulti refuses when its queue still holds mail).",
      ),
    ...settingsShape,
  })
  .describe("One desired instance. New instances are created in the order of the list (their order in multi_instance_directories: start order).");

export const SelectorSchema = z
  .union(
    [
      z.enum(["all", "enabled"]),
      z.array(z.string()).min(1),
      z.strictObject({ group: z.string().describe("multi_instance_group of the instances to select.") }),
    ],
    { error: 'an instance selector is "all", "enabled", a list of instance names ("-" is the primary), or {group: NAME}' },
  )
  .describe('Which instances of each host the step acts on: "all" (default), "enabled", a list of instance names ("-" is the primary) or {group: NAME}.');

const stepCommon = {
  name: z.string().optional().describe("What the step does, shown in the output."),
  when: z
    .union([z.string(), z.boolean()])
    .optional()
    .describe(
      'Run the step on a host only when this is true: a boolean, a variable name ("drain", "not drain", "drain | bool"), or a {{ template }} rendering to true/false/yes/no/on/off/1/0. Evaluated per host.',
    ),
};

const thenField = z
  .enum(["reload", "restart"])
  .optional()
  .describe("After this host's last step, reload or restart (ordered and health-gated) the instances this step changed, once.");

const onGateFailureField = z
  .enum(["revert"])
  .optional()
  .describe(
    "revert: before this step changes an instance's main.cf/master.cf, keep both files (on the controller, in the run's journal directory, and on the host); when a later gate of the host fails (the then: reload/restart, a start/restart/reload gate, a wait), put them back byte for byte, reload or restart as the step did, run the gate again and report the host reverted (a failure for max_fail).",
  );

const selector = { instances: SelectorSchema.optional() };

const probeFields = {
  outcome: z
    .union([z.enum(["delivered", "accepted", "verify"]), templateOr("outcome is delivered, accepted or verify (or a {{ variable }} that renders to one)")], { error: "outcome is delivered, accepted or verify (or a {{ variable }} that renders to one)" })
    .optional()
    .describe("delivered (default): status=sent at the last hop (a relay that is no local Postfix listener); accepted: queued by the entry instance and handed to the next hop; verify: address verification only (sendmail -bv), no message sent."),
  sender: z.string().optional().describe("Envelope sender (default postfleet-probe@postfleet.invalid)."),
  recipient: z.string().optional().describe("Envelope recipient (default probe@postfleet.invalid, which no real mailbox has: route it to a sink, or name a probe mailbox)."),
  max_latency: duration("The probe must reach its outcome within this (default 30s); else it fails naming the hop where it is.").optional(),
  address: z.string().optional().describe("SMTP address to inject at (default: the instance's first inet smtpd listener; none: the instance's sendmail)."),
  port: count("SMTP port to inject at (default 25 with address).").optional(),
};

/** A mail-flow probe: true (defaults) or its settings. */
const probeCheck = (extra: Record<string, z.ZodType>, description: string) =>
  z.union([z.literal(true), z.strictObject({ ...probeFields, ...extra })], { error: "expected true or {outcome, sender, recipient, max_latency, address, port}" }).describe(description);

const queueLimits = {
  max_active: count("At most this many messages in the active queue.", 0).optional(),
  max_incoming: count("At most this many messages in the incoming queue.", 0).optional(),
  max_deferred: count("At most this many messages in the deferred queue.", 0).optional(),
  max_hold: count("At most this many messages in the hold queue.", 0).optional(),
  max_maildrop: count("At most this many messages in the maildrop queue.", 0).optional(),
  max_deferred_growth: count("The deferred queue grows by at most this many messages over its count before the step.", 0).optional(),
  max_oldest_deferred: duration("The oldest deferred message is at most this old (by its arrival time).").optional(),
  no_new_delay_reason: boolOrTemplate("No delay_reason (normalised) that the deferred messages did not already have before the step.").optional(),
};
const QUEUE_LIMIT_KEYS = Object.keys(queueLimits);

const queueGate = z
  .strictObject(queueLimits)
  .refine((q) => Object.values(q).some((v) => v !== undefined), { error: `a queue gate needs at least one of ${QUEUE_LIMIT_KEYS.join(", ")}` })
  .describe("Limits on each of the step's instances' queues (postqueue -j, read as a stream); growth and new delay reasons are measured against a reading taken before the step.");

const soakFields = {
  soak: duration("Every check of the gate (health, queue, probe) must hold continuously this long, re-checked every `interval`; a failed check resets the soak clock (Nomad's min_healthy_time).").optional(),
  interval: duration("Pause between two checks of the gate (default 5s).").optional(),
  healthy_deadline: duration("The host fails when the gate has not held for the soak within this (default: the step's healthy_timeout plus the soak).").optional(),
};

const gateField = z
  .strictObject({
    probe: probeCheck(
      { instance: z.string().optional().describe("The instance the probe enters (default: the first selected instance that is not the primary).") },
      "A mail-flow probe after the step's instances are back: inject a tagged message and follow it through the instance chain in Postfix's log.",
    ).optional(),
    queue: queueGate.optional(),
    ...soakFields,
  })
  .describe("Checks that must hold on the host once the step's instances are back (after the health gate); a failed check fails the host. With soak, they (and the health gate) must hold continuously for that long.");

const serviceGate = z
  .union(
    [
      z.null(),
      z.strictObject({
        healthy_timeout: duration("How long each instance may take to become healthy (master running, SMTP banner on its inet listeners). Default 30s.").optional(),
        gate: gateField.optional(),
      }),
    ],
    { error: "expected nothing (null) or {healthy_timeout: DURATION, gate: {probe: ..., queue: ..., soak: ...}}" },
  )
  .describe("null, or {healthy_timeout: DURATION, gate: {probe: true | {...}, queue: {...}, soak, interval, healthy_deadline}}.");

const healthGate = z
  .union([z.null(), z.strictObject({ healthy_timeout: duration("How long each instance may take to become healthy (master running, SMTP banner on its inet listeners). Default 30s.").optional() })], {
    error: "expected nothing (null) or {healthy_timeout: DURATION}",
  })
  .describe("null, or {healthy_timeout: DURATION}.");

export const STEP_TYPES = ["instances", "postconf", "start", "stop", "restart", "reload", "wait", "drain", "undrain", "postmulti", "run", "pause"] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const STEP_SCHEMAS = {
  instances: z
    .strictObject({
      ...stepCommon,
      instances: z
        .array(DesiredInstanceSchema)
        .min(1)
        .describe("The instances each host must have, declaratively: missing ones are created (after postmulti -e init if needed), settings applied where they differ, then enabled, disabled or destroyed."),
      then: thenField,
      on_gate_failure: onGateFailureField,
    })
    .describe("Converge each host's instances to this list."),
  postconf: z
    .strictObject({
      ...stepCommon,
      ...selector,
      postconf: z
        .strictObject(settingsShape)
        .refine((o) => o.main_cf !== undefined || o.main_cf_absent !== undefined || o.master_cf !== undefined, { error: "postconf needs at least one of main_cf, main_cf_absent, master_cf" })
        .describe("main.cf and master.cf settings for the selected instances, applied only where they differ."),
      then: thenField,
      on_gate_failure: onGateFailureField,
    })
    .describe("Apply main.cf/master.cf settings to the selected instances."),
  start: z.strictObject({ ...stepCommon, ...selector, start: serviceGate.describe("Start the selected enabled instances in multi_instance_directories order, each health-gated before the next.") }),
  stop: z.strictObject({ ...stepCommon, ...selector, stop: healthGate.describe("Stop the selected instances in reverse multi_instance_directories order.") }),
  restart: z.strictObject({ ...stepCommon, ...selector, restart: serviceGate.describe("Stop the selected instances (reverse order), then start them (postmulti order), each start health-gated.") }),
  reload: z.strictObject({ ...stepCommon, ...selector, reload: serviceGate.describe("Reload the selected running instances, in postmulti order, each health-gated.") }),
  wait: z.strictObject({
    ...stepCommon,
    ...selector,
    wait: z
      .strictObject({
        master: boolOrTemplate("The instance's master process is running.").optional(),
        smtp: z
          .union([
            z.literal(true),
            z.strictObject({
              address: z.string().optional().describe("Address to connect to (default: the instance's inet_interfaces; wildcards are probed on loopback)."),
              port: count("TCP port (default: each inet smtpd listener of the instance's master.cf, else 25).").optional(),
            }),
          ])
          .optional()
          .describe("An SMTP server answers with a 220 banner: true (the instance's own listeners) or {address, port}."),
        queue: z
          .strictObject({ max: count("Largest acceptable active + incoming + deferred count.", 0).optional(), ...queueLimits })
          .refine((q) => Object.values(q).some((v) => v !== undefined), { error: `queue needs max or at least one of ${QUEUE_LIMIT_KEYS.join(", ")}` })
          .optional()
          .describe("The instance's queue (active + incoming + deferred) holds at most `max` messages; the queue gate's limits (max_deferred, max_deferred_growth, ...) measure growth and new delay reasons against a reading taken when the wait starts."),
        command: argv("A command run in the instance's context (as postmulti -x) that must exit 0; an argument vector, no shell.").optional(),
        probe: probeCheck({}, "A mail-flow probe into each selected instance reaches its outcome (repeated every `interval` until `timeout`).").optional(),
        timeout: duration("Give up after this long (default 60s).").optional(),
        interval: duration("Pause between attempts (default 1s).").optional(),
        soak: soakFields.soak,
        healthy_deadline: duration("With soak: the host fails when the checks have not held for the soak within this (default: timeout plus soak).").optional(),
      })
      .refine((w) => w.master !== undefined || w.smtp !== undefined || w.queue !== undefined || w.command !== undefined || w.probe !== undefined, {
        error: "wait needs at least one check: master, smtp, queue, command or probe",
      })
      .describe("Wait until every given check passes on every selected instance, or fail the host after `timeout`."),
  }),
  drain: z.strictObject({
    ...stepCommon,
    ...selector,
    drain: z
      .union([z.null(), z.strictObject({ timeout: duration("How long to wait for the SMTP sessions to end (default 5m); the step fails after it.").optional() })], { error: "expected nothing (null) or {timeout: DURATION}" })
      .describe("Stop accepting SMTP connections (master_service_disable = inet, reload) without killing sessions, then wait until they are gone."),
  }),
  undrain: z.strictObject({
    ...stepCommon,
    ...selector,
    undrain: z.null({ error: "undrain takes no value (write `undrain:` alone)" }).describe("Undo drain: restore master_service_disable and reload."),
  }),
  postmulti: z
    .strictObject({
      ...stepCommon,
      postmulti: argv('postmulti(1) arguments, verbatim: ["-g", "mta", "-p", "flush"]. They select the instances themselves (-i, -g, -a).'),
    })
    .describe("Any postmulti command."),
  run: z.strictObject({
    ...stepCommon,
    ...selector,
    run: z
      .union(
        [
          argv("Command and arguments, run without a shell."),
          z.strictObject({
            argv: z.union([z.array(z.string()).min(1), z.string()]).describe("Command and arguments (a list); with shell: true, one command line (a string)."),
            shell: boolOrTemplate("Run the command line through /bin/sh -c (default false).").optional(),
          })
            .refine((r) => r.shell !== true || typeof r.argv === "string", { error: 'with shell: true, argv is one command line (a string), e.g. argv: "postqueue -p | tail -1"', path: ["argv"] })
            .refine((r) => (r.shell !== false && r.shell !== undefined) || Array.isArray(r.argv), { error: "argv is a list of arguments (no shell); to run a command line through /bin/sh, add shell: true", path: ["argv"] }),
        ],
        { error: "run takes an argument list, or {argv: LIST} / {argv: \"command line\", shell: true}" },
      )
      .describe("A command in each selected instance's context (as postmulti -x: MAIL_CONFIG set), never through a shell unless shell: true."),
  }),
  pause: z.strictObject({
    ...stepCommon,
    pause: z
      .union([duration("How long to wait."), z.strictObject({ prompt: z.string().describe("Text shown at the terminal; the run goes on after Enter. A run without a terminal rejects the playbook.") })], {
        error: 'pause takes a duration ("30s", 10) or {prompt: TEXT}',
      })
      .describe("Wait a duration, or until the operator presses Enter at a prompt."),
  }),
} as const satisfies Record<StepType, z.ZodType>;

export const StepSchema = z
  .union(STEP_TYPES.map((t) => STEP_SCHEMAS[t]) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]])
  .describe("One step: optional name, when and instances (selector), and exactly one step type key.");

// ------------------------------------------------------------------ plays

export const HOST_ORDERS = ["inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle"] as const;

export const PlaySchema = z
  .strictObject({
    name: z.string().optional().describe("The play's name, shown in the output (default: its hosts pattern)."),
    hosts: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: "hosts is a host pattern (as -l takes it), e.g. \"mta:!canary\", or a list of patterns" })
      .describe('Host pattern, as -l/--limit and Ansible take it: all, groups, hosts, globs, ~regex, a:b, a:&b, a:!b, g[0], g[1:3]. May use play vars and -e variables.'),
    serial: z
      .union([countOrPercent("Hosts per batch."), z.array(countOrPercent("Hosts in this batch.")).min(1)], { error: 'serial is a count, a percentage ("25%") or a list of them ([1, 5, "20%"])' })
      .optional()
      .describe(
        'Batch size: a count, a percentage of the play\'s hosts (rounded down, at least 1), or a list such as [1, "10%", "25%"] whose last entry repeats. Batches run one after the other; no host of a batch starts before the previous batch has finished. Default: all hosts in one batch.',
      ),
    canary: z
      .strictObject({
        hosts: z
          .union([countOrPercent("The first N hosts of the play, or a percentage of its hosts (rounded down, at least 1)."), z.string().min(1).describe("A host pattern (as -l takes it): the play's hosts it matches."), z.array(z.string().min(1)).min(1).describe("Host names, each one of the play's hosts.")], {
            error: 'canary hosts is a count, a percentage ("10%"), a host pattern or a list of host names',
          })
          .describe('The canary stage\'s hosts: N, "N%", a host pattern, or a list of host names; every one must be among the play\'s hosts.'),
        promote: z
          .enum(["auto", "pause"])
          .optional()
          .describe("auto (default): the rest of the hosts follow once every canary host ended well, its gates held (for soak); pause: the operator is asked to promote or abort (needs a terminal)."),
        soak: duration("Every gate on a canary host must hold continuously for at least this long (its soak is raised to it) before promotion; needs a gate in the play's steps.").optional(),
      })
      .optional()
      .describe("A first stage on a few hosts: all steps (gates included) run there first; a failure there stops the play whatever max_fail; then the rest of the hosts run in batches by serial."),
    order: z
      .union([z.enum(HOST_ORDERS), z.strictObject({ shuffle: z.strictObject({ seed: z.int().describe("Seed of the shuffle: the same seed gives the same order.") }) })], {
        error: "order is inventory, reverse_inventory, sorted, reverse_sorted, shuffle, or {shuffle: {seed: N}}",
      })
      .optional()
      .describe("Order of the hosts before they are cut into batches: inventory (default), reverse_inventory, sorted, reverse_sorted (by name), shuffle, or {shuffle: {seed: N}} for a repeatable shuffle."),
    max_fail: countOrPercent(
      'Failure budget for the whole play: a count, or a percentage of the play\'s hosts (rounded down, at least 1). Failed and unreachable hosts count across all batches; when their number REACHES the budget no new batch starts (with max_fail: 1 the first failure stops the play). Unlike Ansible\'s max_fail_percentage, which must be exceeded, per batch.',
    ).optional(),
    max_fail_per_batch: countOrPercent(
      "Ansible's max_fail_percentage semantics, for those who want them: a count or a percentage of each batch; the play stops after a batch whose failed and unreachable hosts EXCEED it.",
    ).optional(),
    progress_deadline: duration(
      "A batch must have finished (every host healthy, gates and soaks held) within this; when it passes, the play stops: hosts in flight finish their current step and stop, later batches are not touched.",
    ).optional(),
    pause_between_batches: duration('Wait this long between two batches (e.g. "30s", "2m", or a number of seconds).').optional(),
    vars: z.record(z.string(), z.unknown()).optional().describe("Variables of this play, for {{ templates }}: above inventory variables, below -e/--extra-vars."),
    steps: z.array(StepSchema).min(1, { error: "a play needs at least one step" }).describe("What to do on each host, in order."),
  })
  .describe("A play: a set of hosts, in batches, and the steps to run on each.");

export const PlaybookSchema = z
  .array(PlaySchema)
  .min(1, { error: "a playbook is a list of plays, and this one is empty" })
  .describe("A postfleet playbook (`postfleet run PLAYBOOK.yml`): a YAML list of plays.");

export type RawPlaybook = z.input<typeof PlaybookSchema>;
export type RawPlay = z.input<typeof PlaySchema>;
export type RawStep = z.input<(typeof STEP_SCHEMAS)[StepType]>;
export type RawDesiredInstance = z.input<typeof DesiredInstanceSchema>;

/** The JSON Schema shipped as playbooks/schema.json. */
export function playbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PlaybookSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return { ...schema, $id: "https://postfleet.dev/playbook.schema.json", title: "postfleet playbook" };
}
