// The differential scenarios: every mode and option of postmulti(1), every
// life-cycle action, the MULTI_INSTANCE_README walk-through and every error
// path found in postmulti(1) and postmulti-script. Set-up commands use the
// real postmulti on both sides (identical starting states); the steps are
// what is compared.
import type { CommandResult } from "../support/compat/twin.js";
import type { Scenario, Step } from "../support/compat/scenario.js";

const pm = (...args: string[]): Step => ({ pm: args });
const pmEnv = (env: Record<string, string>, ...args: string[]): Step => ({ pm: args, env });
/** An error path: compared on a terminal, and the agent also without one. */
const pmFail = (...args: string[]): Step => ({ pm: args, noTty: true });
const sh = (cmd: string): Step => ({ sh: cmd });

/** A step compared on both sides without a terminal (what children print then). */
const pmPlain = (...args: string[]): Step => ({ pm: args, plain: true });

/**
 * Two scenarios from one: the steps under a terminal (where postlog(1) and
 * postfix(1) print on stderr too), and the same steps without one (where they
 * only log), each compared with the real postmulti run the same way.
 */
function bothTerminalModes(s: Omit<Scenario, "steps"> & { steps: (step: (...args: string[]) => Step) => Step[] }): Scenario[] {
  return [
    { ...s, name: `${s.name} (terminal)`, steps: s.steps(pm) },
    { ...s, name: `${s.name} (no terminal)`, steps: s.steps(pmPlain) },
  ];
}

/**
 * A config directory made by hand from the unmodified prototypes, with only
 * its queue and data directories set: the prototype's empty settings
 * (setgid_group = ...) make `postfix set-permissions` fail.
 */
const protoDir = (name: string) =>
  `mkdir -p /etc/${name} && cp /etc/postfix/main.cf.proto /etc/${name}/main.cf && cp /etc/postfix/master.cf.proto /etc/${name}/master.cf` +
  ` && postconf -c /etc/${name} -e queue_directory=/var/spool/${name} data_directory=/var/lib/${name}`;

const INIT = "postmulti -e init";
const OUT = "postmulti -I postfix-out -G mta -e create";
const IN = "postmulti -I postfix-in -G mta -e create";
/** Primary + postfix-out + postfix-in (group mta), both secondaries disabled. */
const THREE = [INIT, OUT, IN];
/** The same, both secondaries enabled. */
const THREE_ENABLED = [...THREE, "postmulti -i postfix-out -e enable", "postmulti -i postfix-in -e enable"];

/**
 * A recording postfix(1): with command_directory=/opt/fakecmd, `postmulti -p`
 * runs /opt/fakecmd/postfix, which prints its arguments and environment, so
 * the order, the start→check rewrite, the skipped instances and the
 * environment are all visible on stdout. It fails (exit 3) for an instance
 * whose config directory holds a file named "fail".
 */
const FAKE_POSTFIX = [
  "mkdir -p /opt/fakecmd && ln -s /usr/sbin/postconf /opt/fakecmd/postconf",
  `printf '%s\\n' '#!/bin/sh' 'echo "postfix $*"' 'env | LC_ALL=C sort | grep -v "^_=" | sed "s/^/  /"' ` +
    `'[ ! -e "$MAIL_CONFIG/fail" ] || exit 3' > /opt/fakecmd/postfix && chmod 755 /opt/fakecmd/postfix`,
  "postconf -e command_directory=/opt/fakecmd",
];

/** Prints the environment a -x command gets, sorted (order of variables is not part of the contract). */
const PRINT_ENV = ["sh", "-c", 'env | LC_ALL=C sort | grep -v "^_="'];

/** The ≥ 3.8 JSON line of one `postmulti -l` line (field names and layout of postmulti.c's list_instances). */
function listLineToJson(line: string): string {
  const [name, group, enabled, ...dir] = line.split(/\s+/);
  const q = (s: string | undefined) => JSON.stringify(s ?? "");
  return `{"name": ${q(name)},"group": ${q(group)},"enabled": ${q(enabled)},"config_directory": ${q(dir.join(" "))}}`;
}
function listToJson(r: CommandResult): CommandResult {
  const lines = r.stdout.split("\n").filter(Boolean);
  return { ...r, stdout: lines.map((l) => `${listLineToJson(l)}\n`).join("") };
}
/** Expected fatal error of a run that real 3.7 cannot answer. */
const fatal38 = (message: string): CommandResult => ({ exitCode: 1, stdout: "", tty: `postmulti: fatal: ${message}\n` });

/** The null client of MULTI_INSTANCE_README on the primary (hash instead of cdb: no postfix-cdb here, as the README allows). */
const NULL_CLIENT = [
  `postconf -e 'myhostname = mta1.example.com' 'mydomain = example.com' 'myorigin = $mydomain' ` +
    `'master_service_disable = inet' 'mydestination =' 'local_transport = error:5.1.1 Mailbox unavailable' ` +
    `'alias_database =' 'alias_maps =' 'local_recipient_maps =' 'relayhost = [mailhub.example.com]' ` +
    `'default_database_type = hash' 'indexed = \${default_database_type}:\${config_directory}/' ` +
    `'smtp_generic_maps = \${indexed}generic' 'virtual_alias_maps = \${indexed}virtual'`,
  "printf 'root\\tmtaadmin+root=mta1\\n' > /etc/postfix/generic && printf 'root\\tmtaadmin\\npostmaster\\troot\\n' > /etc/postfix/virtual",
  "postmap hash:/etc/postfix/generic && postmap hash:/etc/postfix/virtual",
];
const OUT_SETTINGS = [
  "inet_interfaces = loopback-only", "mynetworks_style = host", "smtpd_authorized_xforward_hosts = $mynetworks",
  "smtpd_client_connection_count_limit = 0", "smtpd_client_event_limit_exceptions = $mynetworks",
  "smtp_bind_address = 0.0.0.0", "local_header_rewrite_clients =", "mydestination =", "alias_maps =",
  "alias_database =", "local_recipient_maps =", "local_transport = error:5.1.1 Mailbox unavailable",
  "recipient_delimiter = +", "smtpd_relay_restrictions =", "smtpd_recipient_restrictions = permit_mynetworks, reject",
  "smtpd_timeout = 1200s", "parent_domain_matches_subdomains =", "relay_domains = example.com, .example.com",
  "smtpd_client_port_logging = no", "myhostname = out.mta1.example.com",
];
const IN_SETTINGS = [
  "inet_interfaces = 127.0.0.1", "smtpd_authorized_xclient_hosts = 127.0.0.1", "mydestination =", "alias_maps =",
  "alias_database =", "local_recipient_maps =", "local_transport = error:5.1.1 Mailbox unavailable",
  "local_header_rewrite_clients =", "default_transport = smtp:[127.0.0.1]:10025", "relay_transport = $default_transport",
  "virtual_transport = $default_transport", "transport_maps =", "smtp_send_xforward_command = yes",
  "smtp_destination_recipient_limit = 1000", "smtp_data_done_timeout = 1200s", "smtpd_client_port_logging = no",
  "myhostname = in.mta1.example.com",
];
/** postfix-out's master.cf: the stock "smtp inet" entry replaced by the re-injection listener on 127.0.0.1:10026. */
const OUT_MASTER =
  "sed -i 's/^smtp      inet  n       -       y       -       -       smtpd$/127.0.0.1:10026     inet  n       -       n       -       -       smtpd/' /etc/postfix-out/master.cf" +
  " && grep -q '^127.0.0.1:10026 ' /etc/postfix-out/master.cf";

export const scenarios: Scenario[] = [
  // ---------------------------------------------------------------- iterator: -l
  {
    name: "list: single-instance host (no init), plain, -a, -v, -i -",
    steps: [pm("-l"), pm("-l", "-a"), pm("-v", "-l"), pm("-l", "-i", "-"), pm("-l", "-a", "-a")],
  },
  {
    name: "list: three instances, order, -R, -g, -i by name, short name, path and -",
    setup: THREE,
    steps: [
      pm("-l"),
      pm("-l", "-R"),
      pm("-l", "-R", "-R"),
      pm("-l", "-g", "mta"),
      pm("-R", "-l", "-g", "mta"),
      pm("-l", "-i", "postfix-in"),
      pm("-l", "-i", "in"),
      pm("-l", "-i", "/etc/postfix-out"),
      pm("-l", "-i", "-"),
      pm("-l", "-i", "/etc/postfix"),
    ],
  },
  {
    name: "list: no match by name, group, odd selectors (-i '', -g -, -i postfix-)",
    setup: THREE,
    steps: [
      pmFail("-l", "-i", "nosuch"),
      pmFail("-l", "-g", "nosuch"),
      pmFail("-l", "-i", ""),
      pmFail("-l", "-g", "-"),
      pmFail("-l", "-i", "postfix-"),
      pmFail("-l", "-i", "/etc/postfix-out/"),
    ],
  },
  {
    name: "list: nameless secondary, name without postfix- prefix, long names (column layout)",
    setup: [
      INIT,
      "postmulti -e create config_directory=/etc/pf-anon queue_directory=/var/spool/pf-anon data_directory=/var/lib/pf-anon",
      "postmulti -I postfix-a-very-long-instance-name -G a-very-long-group-name -e create",
      "postmulti -I postfix-mumble -e create && postconf -c /etc/postfix-mumble -e multi_instance_name=mumble",
    ],
    paths: ["/etc/pf-anon", "/var/spool/pf-anon", "/var/lib/pf-anon"],
    steps: [
      pm("-l"),
      pm("-l", "-i", "/etc/pf-anon"),
      pm("-l", "-i", "mumble"),
      pmFail("-l", "-i", "postfix-mumble"),
      pm("-l", "-i", "a-very-long-instance-name"),
      pm("-l", "-g", "a-very-long-group-name"),
    ],
  },
  {
    name: "list: multi_instance_enable spellings (Yes, NO) and an invalid one",
    setup: [...THREE, "postconf -c /etc/postfix-out -e multi_instance_enable=Yes", "postconf -c /etc/postfix-in -e multi_instance_enable=NO"],
    steps: [pm("-l"), sh("postconf -c /etc/postfix-in -e multi_instance_enable=maybe"), pmFail("-l")],
  },
  {
    name: "list: multi_instance_directories with only commas and spaces is single-instance mode",
    setup: ["postconf -e 'multi_instance_directories = , ,'"],
    steps: [pm("-l"), pm("-x", "true")],
  },
  {
    name: "list: a listed instance whose directory or main.cf is missing",
    setup: [...THREE, "postconf -e 'multi_instance_directories = /etc/postfix-out /etc/postfix-gone'"],
    steps: [pmFail("-l"), sh("rm /etc/postfix-out/main.cf"), pmFail("-l", "-i", "-")],
  },
  {
    name: "list: two instances claiming the same queue directory, and a secondary claiming the primary's",
    setup: [...THREE, "postconf -c /etc/postfix-in -e queue_directory=/var/spool/postfix-out"],
    steps: [
      pmFail("-l"),
      sh("postconf -c /etc/postfix-in -e queue_directory=/var/spool/postfix"),
      pmFail("-l"),
      sh("postconf -c /etc/postfix-in -e queue_directory=/var/spool/postfix-in multi_instance_name=postfix-out"),
      pmFail("-l"),
    ],
  },
  {
    name: "list: shared directories checked (command_directory missing, daemon_directory not a directory)",
    setup: [INIT],
    steps: [
      sh("postconf -e command_directory=/nonexistent"),
      pmFail("-l"),
      sh("postconf -e command_directory=/usr/sbin daemon_directory=/etc/postfix/main.cf"),
      pmFail("-l"),
    ],
  },
  {
    name: "list: -j JSON lines (Postfix >= 3.8 format) with selections, and -j outside -l",
    setup: [...THREE, "postmulti -i postfix-out -e enable"],
    steps: [
      { pm: ["-l", "-j"], reference: { pm: ["-l"], map: listToJson } },
      { pm: ["-j", "-l", "-g", "mta", "-R"], reference: { pm: ["-l", "-g", "mta", "-R"], map: listToJson } },
      { pm: ["-l", "-j", "-i", "out"], reference: { pm: ["-l", "-i", "out"], map: listToJson } },
      { pm: ["-j", "-x", "true"], reference: { result: fatal38("JSON output available only with '-l'") } },
      { pm: ["-j", "-p", "status"], reference: { result: fatal38("JSON output available only with '-l'") } },
    ],
  },

  {
    name: "list: instance list with duplicates, the primary's own directory, and $name expansion",
    setup: [...THREE, "postconf -e 'multi_instance_directories = ${config_directory}-out, /etc/postfix-out /etc/postfix $config_directory-in'"],
    steps: [pm("-l"), pm("-x", "sh", "-c", 'echo "$MAIL_CONFIG $queue_directory"'), pm("-l", "-i", "out")],
  },
  {
    name: "list: secondary main.cf with $expansion, unknown parameters and a syntax error",
    setup: [
      ...THREE,
      "postconf -c /etc/postfix-out -e 'queue_directory = $config_directory/../../var/spool/postfix-out' 'multi_instance_group = $mygroup' 'mygroup = edge' 'foo = $undefined_thing'",
    ],
    steps: [pm("-l"), pm("-i", "out", "-x", "sh", "-c", 'echo "$queue_directory|$multi_instance_group"'), sh("echo 'this line is bad' >> /etc/postfix-in/main.cf"), pmFail("-l")],
  },

  // ---------------------------------------------------------------- option errors
  {
    name: "options: modes missing or conflicting, -R with -p/-e, unknown option",
    steps: [
      pmFail(),
      pmFail("-v"),
      pmFail("-l", "-p", "status"),
      pmFail("-x", "-l"),
      pmFail("-e", "init", "-l"),
      pmFail("-p", "-R", "status"),
      pmFail("-R", "-e", "init"),
      pmFail("-k", "-l"),
      pmFail("-l", "-i"),
    ],
  },
  {
    name: "options: selections conflicting, commands missing or not allowed",
    setup: THREE,
    steps: [
      pmFail("-a", "-g", "mta", "-l"),
      pmFail("-i", "postfix-out", "-g", "mta", "-l"),
      pmFail("-i", "postfix-out", "-i", "postfix-in", "-l"),
      pmFail("-l", "status"),
      pmFail("-p"),
      pmFail("-x"),
      pmFail("-v", "-x", "-a"),
    ],
  },
  {
    name: "options: -I/-G outside create/import/assign, repeated -I/-G, bad -e action",
    setup: THREE,
    steps: [
      pmFail("-I", "postfix-x", "-l"),
      pmFail("-G", "grp", "-x", "true"),
      pmFail("-I", "postfix-x", "-e", "enable", "-i", "postfix-out"),
      pmFail("-G", "grp", "-e", "destroy", "-i", "postfix-out"),
      pmFail("-I", "postfix-x", "-I", "postfix-y", "-e", "create"),
      pmFail("-G", "a", "-G", "b", "-e", "assign", "-i", "out"),
      pmFail("-e", "bogus"),
      pmFail("-e", "Create", "-I", "postfix-x"),
      pmFail("-e", "create", "-e", "import"),
    ],
  },
  {
    name: "options: clustered and attached option arguments, --, repeated -v",
    setup: THREE,
    steps: [
      pm("-lR"),
      pm("-lgmta"),
      pm("-li", "out"),
      pm("-vl", "-iin"),
      pm("-l", "--"),
      pmFail("-l", "--", "extra"),
      pm("-ienable", "-e", "enable"),
      pm("-iout", "-eenable"),
      pm("-l"),
    ],
  },
  {
    name: "options: -vv and -vvv (beyond the real postmulti's stream debugging lines, an intended difference)",
    setup: THREE,
    steps: [pm("-vv", "-l", "-i", "in"), pm("-v", "-v", "-v", "-i", "out", "-x", "true")],
  },
  {
    name: "options: MAIL_CONFIG non-default (other dir, trailing slash) vs default",
    setup: THREE,
    steps: [
      { pm: ["-l"], env: { MAIL_CONFIG: "/etc/postfix-out" }, noTty: true },
      { pm: ["-l"], env: { MAIL_CONFIG: "/etc/postfix/" }, noTty: true },
      { pm: ["-e", "enable", "-i", "out"], env: { MAIL_CONFIG: "postfix" }, noTty: true },
      pmEnv({ MAIL_CONFIG: "/etc/postfix" }, "-l"),
      pmEnv({ MAIL_CONFIG: "" }, "-l"),
    ],
  },

  // ---------------------------------------------------------------- iterator: -x
  {
    name: "-x: environment of the command for every instance, with and without -v",
    setup: [...THREE, "postmulti -i postfix-in -e enable"],
    steps: [pm("-x", ...PRINT_ENV), pm("-v", "-i", "in", "-x", ...PRINT_ENV), pm("-i", "-", "-x", ...PRINT_ENV)],
  },
  {
    name: "-x: environment overrides from the caller (MAIL_VERBOSE, PATH, config_directory) and a nameless instance",
    setup: [INIT, "postmulti -e create config_directory=/etc/pf-anon queue_directory=/var/spool/pf-anon data_directory=/var/lib/pf-anon"],
    paths: ["/etc/pf-anon", "/var/spool/pf-anon", "/var/lib/pf-anon"],
    steps: [
      pmEnv({ PATH: "/bin:/usr/bin", config_directory: "/x", queue_directory: "/y", FOO: "bar" }, "-x", ...PRINT_ENV),
      pmEnv({ PATH: "" }, "-i", "/etc/pf-anon", "-x", ...PRINT_ENV),
    ],
  },
  {
    name: "-x: order, -R, group and name selection, arguments with unsafe characters passed verbatim",
    setup: THREE,
    steps: [
      pm("-x", "sh", "-c", 'echo "$multi_instance_name|$multi_instance_group|$multi_instance_enable|$MAIL_CONFIG"'),
      pm("-R", "-x", "sh", "-c", 'echo "$MAIL_CONFIG"'),
      pm("-g", "mta", "-R", "-x", "sh", "-c", 'echo "$MAIL_CONFIG"'),
      pm("-i", "out", "-x", "printf", "[%s]\\n", "a b", "'; touch /tmp/pwned; '", "$(id)", "*", "-x"),
      pm("-x", "--", "echo", "-l"),
    ],
    paths: ["/tmp/pwned"],
  },
  {
    name: "-x: exit codes (failure in one instance, all run), command not found, signals",
    setup: [...THREE, "touch /etc/postfix-out/fail"],
    steps: [
      pm("-x", "sh", "-c", 'echo "$MAIL_CONFIG"; [ ! -e "$MAIL_CONFIG/fail" ] || exit 7'),
      pm("-x", "true"),
      pm("-i", "in", "-x", "false"),
      pm("-i", "in", "-x", "/nonexistent/cmd"),
      pm("-x", "no-such-command-anywhere"),
      pm("-i", "-", "-x", "sh", "-c", "kill -TERM $$"),
      pm("-i", "-", "-x", "postconf", "-h", "config_directory"),
      pm("-x", "postconf", "-h", "multi_instance_name", "queue_directory"),
    ],
  },

  {
    name: "-x: empty command, command named like an option, caller's MAIL_CONFIG=/etc/postfix replaced per instance",
    setup: THREE,
    steps: [
      pm("-i", "-", "-x", ""),
      pm("-i", "out", "-x", "-l"),
      pmEnv({ MAIL_CONFIG: "/etc/postfix" }, "-x", "sh", "-c", 'echo "$MAIL_CONFIG"'),
      pmEnv({ MAIL_VERBOSE: "1" }, "-i", "in", "-x", "sh", "-c", 'echo "${MAIL_VERBOSE-unset}"'),
    ],
  },

  {
    name: "-x: the command inherits the terminal (stdin, stderr) and the caller's working directory; exit 255",
    setup: [...THREE, "mkdir -p /root/work/bin && printf '#!/bin/sh\\necho \"rel $PWD\"\\n' > /root/work/bin/rel && chmod 755 /root/work/bin/rel"],
    steps: [
      pm("-x", "sh", "-c", '[ -t 0 ] && echo stdin-tty || echo stdin-notty; [ -t 2 ] && echo stderr-tty || echo stderr-notty; echo "to stderr" >&2'),
      sh(`cd /root/work && ${"@POSTMULTI@"} -i in -x bin/rel`),
      sh(`cd /root/work && ${"@POSTMULTI@"} -i in -x ./bin/rel`),
      pm("-i", "out", "-x", "sh", "-c", "exit 255"),
    ],
  },
  {
    name: "list: relative and odd paths in multi_instance_directories",
    setup: [...THREE, "postconf -e 'multi_instance_directories = etc/postfix-out /etc/postfix-in/'"],
    steps: [pm("-l"), sh("postconf -e 'multi_instance_directories = /etc/postfix-in/'"), pm("-l"), pm("-l", "-i", "/etc/postfix-in"), pm("-l", "-i", "in")],
  },

  {
    name: "process hygiene: umask 022 for commands and helpers, no leaked file descriptors, closed stdin",
    setup: [INIT, OUT],
    steps: [
      sh("umask 077; @POSTMULTI@ -x sh -c umask"),
      sh("umask 000; @POSTMULTI@ -i - -x sh -c umask"),
      sh("umask 077; @POSTMULTI@ -I postfix-um -e create && ls -ld /etc/postfix-um /var/spool/postfix-um /var/lib/postfix-um | cut -d' ' -f1"),
      pm("-x", "ls", "/proc/self/fd"),
      sh("@POSTMULTI@ -i out -x ls /proc/self/fd <&-"),
      sh("@POSTMULTI@ -l <&- 2>&-; echo rc=$?"),
    ],
  },
  {
    name: "non-root caller: list and -x work, life-cycle changes fail in postconf",
    setup: THREE,
    steps: [
      sh("su nobody -s /bin/sh -c '@POSTMULTI@ -l'"),
      sh("su nobody -s /bin/sh -c '@POSTMULTI@ -i out -x id -un'"),
      sh("su nobody -s /bin/sh -c '@POSTMULTI@ -i out -e enable'"),
      sh("su nobody -s /bin/sh -c '@POSTMULTI@ -I postfix-nb -e create'"),
      sh("su nobody -s /bin/sh -c '@POSTMULTI@ -p status'"),
      pm("-l"),
    ],
  },
  {
    name: "non-UTF-8 bytes in names, selections and -x arguments pass through byte for byte",
    setup: THREE,
    steps: [
      sh(`@POSTMULTI@ -I "$(printf 'postfix-\\377')" -e create`),
      sh(`@POSTMULTI@ -l -i "$(printf '\\377')"`),
      sh(`@POSTMULTI@ -G "$(printf 'g\\303\\251')" -i out -e assign`),
      sh(`@POSTMULTI@ -i out -x printf '[%s]\\n' "$(printf 'a\\377b')" "$(printf '\\303\\251')"`),
      pm("-l"),
    ],
  },

  // ---------------------------------------------------------------- iterator: -p (recording postfix)
  {
    name: "-p: start runs check for disabled instances, in order, with MAIL_CONFIG only",
    setup: [...THREE, "postmulti -i postfix-in -e enable", ...FAKE_POSTFIX],
    steps: [pm("-p", "start"), pm("-v", "-p", "start"), pm("-g", "mta", "-p", "start", "extra", "arg")],
  },
  {
    name: "-p: stop/abort/drain reverse order on enabled only; reload/flush skip disabled; status/check run for all",
    setup: [...THREE, "postmulti -i postfix-out -e enable", ...FAKE_POSTFIX],
    steps: [
      pm("-p", "stop"),
      pm("-p", "abort"),
      pm("-p", "drain"),
      pm("-p", "reload"),
      pm("-p", "flush"),
      pm("-p", "status"),
      pm("-p", "check"),
      pm("-p", "set-permissions", "upgrade-configuration"),
      pm("-i", "in", "-p", "stop"),
      pm("-i", "in", "-p", "reload"),
    ],
  },
  {
    name: "-p: '--' before the command, several words, commands not in any list",
    setup: [...THREE, "postmulti -i postfix-in -e enable", ...FAKE_POSTFIX],
    steps: [pm("-p", "--", "start"), pm("-p", "-c", "/etc/postfix-in", "stop"), pm("-R", "-x", "/opt/fakecmd/postfix", "x"), pm("-i", "in", "-p", "-v")],
  },
  {
    name: "-p: postmulti_start_commands / stop / control parameters customised",
    setup: [
      ...THREE,
      "postmulti -i postfix-out -e enable",
      ...FAKE_POSTFIX,
      "postconf -e 'postmulti_start_commands = start, go' 'postmulti_stop_commands = halt stop' 'postmulti_control_commands = poke'",
    ],
    steps: [pm("-p", "go"), pm("-p", "halt"), pm("-p", "poke"), pm("-p", "reload"), pm("-p", "abort")],
  },
  {
    name: "-p: a failing instance makes the exit code 1, the others still run; nothing enabled to stop",
    setup: [...THREE, ...FAKE_POSTFIX, "touch /etc/postfix-out/fail"],
    steps: [pm("-p", "status"), pm("-p", "start"), pmFail("-g", "mta", "-p", "stop"), pmFail("-i", "out", "-p", "reload")],
  },
  {
    name: "-p: single-instance host (primary treated as enabled)",
    setup: FAKE_POSTFIX,
    steps: [pm("-p", "start"), pm("-p", "stop"), pm("-p", "reload")],
  },

  {
    name: "helpers missing: postmulti-script not in daemon_directory, postconf/postfix not in command_directory",
    setup: [...THREE, "mkdir -p /opt/emptydaemon /opt/emptycmd"],
    steps: [
      sh("postconf -e daemon_directory=/opt/emptydaemon"),
      pm("-l"),
      pmFail("-i", "out", "-e", "enable"),
      sh("postconf -e daemon_directory=/usr/lib/postfix/sbin command_directory=/opt/emptycmd"),
      pmFail("-l"),
      sh("postconf -e 'multi_instance_directories ='"),
      pm("-l"),
      pm("-p", "status"),
      pm("-x", "sh", "-c", 'echo "$PATH"'),
    ],
  },

  // ---------------------------------------------------------------- life cycle: init
  {
    name: "init: fresh host, then again (idempotent), with -v; overrides a custom wrapper and enable=no",
    steps: [
      pm("-e", "init"),
      pm("-l"),
      pm("-v", "-e", "init"),
      sh("postconf -n multi_instance_wrapper multi_instance_enable"),
      sh("postconf -e 'multi_instance_wrapper = /usr/local/bin/other -p --' multi_instance_enable=no"),
      pm("-e", "init"),
      sh("postconf -n multi_instance_wrapper multi_instance_enable"),
    ],
  },
  {
    name: "init: create/import/enable before init fail in the helper",
    steps: [
      pm("-I", "postfix-out", "-e", "create"),
      sh("postconf -e multi_instance_wrapper=/bin/true"),
      pm("-I", "postfix-out", "-e", "create"),
      pm("-l"),
    ],
  },
  {
    name: "init: with -i/-g/-a selections and parameter arguments",
    steps: [pmFail("-e", "init", "foo=bar"), pm("-e", "init", "-a"), pm("-e", "init", "-g", "nosuch"), pm("-l")],
  },

  // ---------------------------------------------------------------- life cycle: create
  {
    name: "create: postfix-out in group mta (the README's default paths), then list",
    setup: [INIT],
    steps: [pm("-I", "postfix-out", "-G", "mta", "-e", "create"), pm("-l"), sh("postconf -h multi_instance_directories")],
  },
  {
    name: "create: explicit config/queue/data directories, trailing slashes trimmed, -v",
    setup: [INIT],
    paths: ["/srv"],
    steps: [
      pm("-v", "-I", "postfix-mumble", "-G", "mygroup", "-e", "create", "config_directory=/srv/mumble/etc//", "queue_directory=/srv/mumble/queue", "data_directory=/srv/mumble/data/"),
      pm("-l"),
      pm("-i", "mumble", "-x", ...PRINT_ENV),
    ],
  },
  {
    name: "create: nameless instance needs all three directories",
    setup: [INIT],
    paths: ["/srv"],
    steps: [
      pmFail("-e", "create"),
      pmFail("-e", "create", "config_directory=/srv/a"),
      pmFail("-e", "create", "config_directory=/srv/a", "queue_directory=/srv/a-q"),
      pmFail("-I", "-", "-e", "create", "config_directory=/srv/a", "queue_directory=/srv/a-q"),
      pm("-e", "create", "config_directory=/srv/a", "queue_directory=/srv/a-q", "data_directory=/srv/a-d"),
      pm("-l"),
    ],
  },
  {
    name: "create: bad and unsafe instance and group names change nothing",
    setup: [INIT],
    paths: ["/tmp/pwned", "/etc/out"],
    steps: [
      pmFail("-I", "out", "-e", "create"),
      pmFail("-I", "postfix-a b", "-e", "create"),
      pmFail("-I", "postfix-$(touch /tmp/pwned)", "-e", "create"),
      pmFail("-I", "postfix-'; touch /tmp/pwned; '", "-e", "create"),
      pmFail("-I", "postfix-a/b", "-e", "create"),
      pmFail("-I", "postfix-../../tmp/x", "-e", "create"),
      pmFail("-I", "postfix-é", "-e", "create"),
      pmFail("-I", "postfix-ok", "-G", "bad group", "-e", "create"),
      pmFail("-I", "postfix-ok", "-G", "g;rm -rf /", "-e", "create"),
      pmFail("-I", "postfix-ok", "-G", "", "-e", "create", "queue_directory=relative"),
      pm("-l"),
    ],
  },
  {
    name: "create: unusual but safe names (punctuation !@%-_=+:.) and group '-'",
    setup: [INIT],
    steps: [pm("-I", "postfix-a!@%_=+:.z", "-G", "g!@%-_=+:./", "-e", "create"), pm("-I", "postfix-b", "-G", "-", "-e", "create"), pm("-l")],
  },
  {
    name: "create: directory names with spaces, $( ), quotes and '=' reach postmulti-script verbatim",
    setup: [INIT],
    paths: ["/srv", "/tmp/pwned"],
    steps: [
      pm("-I", "postfix-sp", "-e", "create", "config_directory=/srv/my dir", "queue_directory=/srv/q=1", "data_directory=/srv/d'x"),
      pm("-I", "postfix-cmd", "-e", "create", "config_directory=/srv/$(touch /tmp/pwned)", "queue_directory=/srv/`id`", "data_directory=/srv/*"),
      pm("-l"),
    ],
  },
  {
    name: "create/import: nameless with a group, import made nameless with -I -",
    setup: [INIT, OUT, "postmulti -i out -e deport"],
    paths: ["/srv"],
    steps: [
      pm("-G", "anon", "-e", "create", "config_directory=/srv/a", "queue_directory=/srv/a-q", "data_directory=/srv/a-d"),
      pm("-I", "-", "-e", "import", "config_directory=/etc/postfix-out"),
      pm("-l"),
      pm("-l", "-g", "anon"),
      pm("-i", "/etc/postfix-out", "-e", "assign", "-I", "postfix-back"),
      pm("-l"),
    ],
  },
  {
    name: "create: relative, root and malformed parameter settings; parameters not allowed",
    setup: [INIT],
    steps: [
      pmFail("-I", "postfix-x", "-e", "create", "config_directory=etc/postfix-x"),
      pmFail("-I", "postfix-x", "-e", "create", "queue_directory=/"),
      pmFail("-I", "postfix-x", "-e", "create", "data_directory=///"),
      pmFail("-I", "postfix-x", "-e", "create", "data_directory="),
      pmFail("-I", "postfix-x", "-e", "create", "novalue"),
      pmFail("-I", "postfix-x", "-e", "create", "myhostname=foo"),
      pmFail("-I", "postfix-x", "-e", "create", " queue_directory = /var/spool/x"),
      pm("-l"),
    ],
  },
  {
    name: "create: duplicate name, config, queue and data directories (also the primary's)",
    setup: [INIT, OUT],
    paths: ["/etc/other", "/srv"],
    steps: [
      pmFail("-I", "postfix-out", "-e", "create"),
      pmFail("-I", "postfix-out", "-e", "create", "config_directory=/etc/other"),
      pmFail("-I", "postfix-two", "-e", "create", "config_directory=/etc/postfix-out"),
      pmFail("-I", "postfix-two", "-e", "create", "queue_directory=/var/spool/postfix-out"),
      pmFail("-I", "postfix-two", "-e", "create", "data_directory=/var/lib/postfix-out"),
      pmFail("-I", "postfix-two", "-e", "create", "queue_directory=/var/spool/postfix"),
      pmFail("-I", "postfix-two", "-e", "create", "config_directory=/etc/postfix"),
      pmFail("-I", "postfix-two", "-e", "create", "data_directory=/usr/sbin"),
      pmFail("-I", "postfix-two", "-e", "create", "queue_directory=/srv/q", "data_directory=/srv/q"),
      pm("-l"),
    ],
  },
  {
    name: "create: placement with -a, -g and -i; no matching secondary",
    setup: [INIT, "postmulti -I postfix-b -G g1 -e create", "postmulti -I postfix-c -G g2 -e create"],
    steps: [
      pm("-a", "-I", "postfix-a", "-e", "create"),
      pm("-g", "g2", "-I", "postfix-bc", "-e", "create"),
      pm("-i", "b", "-I", "postfix-ab", "-G", "g2", "-e", "create"),
      pm("-i", "/etc/postfix-c", "-I", "postfix-bcc", "-e", "create"),
      pmFail("-i", "nosuch", "-I", "postfix-z", "-e", "create"),
      pmFail("-g", "nosuch", "-I", "postfix-z", "-e", "create"),
      pmFail("-i", "-", "-I", "postfix-z", "-e", "create"),
      pm("-l"),
      sh("postconf -h multi_instance_directories"),
    ],
  },
  {
    name: "create: on a host whose primary has no secondaries yet, -a and -g placement",
    setup: [INIT],
    steps: [pm("-a", "-I", "postfix-a", "-e", "create"), pmFail("-g", "mta", "-I", "postfix-b", "-e", "create"), pm("-l")],
  },
  {
    name: "create: existing directory with main.cf and master.cf is imported as-is; with only main.cf it is rebuilt",
    setup: [
      INIT,
      "mkdir -p /etc/postfix-pre /etc/postfix-half /var/spool/postfix-pre /var/lib/postfix-pre",
      "cp /etc/postfix/master.cf /etc/postfix-pre/ && printf 'queue_directory = /var/spool/postfix-pre\\ndata_directory = /var/lib/postfix-pre\\nmyhostname = pre.example\\n' > /etc/postfix-pre/main.cf",
      "printf 'myhostname = half.example\\n' > /etc/postfix-half/main.cf",
    ],
    steps: [pm("-I", "postfix-pre", "-G", "old", "-e", "create"), pm("-I", "postfix-half", "-e", "create"), pm("-l")],
  },

  // ---------------------------------------------------------------- malformed name=value, prototypes, leftovers
  {
    name: "create/import: every shape of malformed name=value (empty name, no '=', only '=', blanks, non-ASCII blank)",
    setup: [INIT],
    paths: ["/srv"],
    steps: [
      pmFail("-I", "postfix-x", "-e", "create", "=/bar"),
      pmFail("-I", "postfix-x", "-e", "create", "="),
      pmFail("-I", "postfix-x", "-e", "create", "=="),
      pmFail("-I", "postfix-x", "-e", "create", " = /srv/x"),
      pmFail("-I", "postfix-x", "-e", "create", "\t=/srv/x"),
      pmFail("-I", "postfix-x", "-e", "create", ""),
      pmFail("-I", "postfix-x", "-e", "create", "  "),
      pmFail("-I", "postfix-x", "-e", "create", "config_directory"),
      pmFail("-I", "postfix-x", "-e", "create", "config directory=/srv/x"),
      pmFail("-I", "postfix-x", "-e", "create", "config_directory =  "),
      pmFail("-I", "postfix-x", "-e", "create", "\u00a0config_directory=/srv/x"),
      pmFail("-I", "postfix-x", "-e", "create", "config_directory\u00a0=/srv/x"),
      pmFail("-I", "postfix-x", "-e", "create", "\vqueue_directory\f=\rrelative"),
      pmFail("-I", "postfix-x", "-e", "create", "config_directory=/srv/x", "=/srv/y"),
      pmFail("-I", "postfix-x", "-G", "g", "-e", "create", "=/srv/y", "myhostname=x"),
      pmFail("-I", "postfix-bad name", "-e", "create", "=/srv/y"),
      pmFail("-I", "postfix-x", "-e", "import", "=/etc/postfix-x"),
      pmFail("-I", "postfix-x", "-e", "import", "="),
      pmFail("-I", "postfix-x", "-e", "import", ""),
      pmFail("-I", "postfix-x", "-e", "import", "config_directory"),
      pmFail("-I", "postfix-x", "-e", "import", "config_directory="),
      pmFail("-I", "postfix-x", "-e", "import", "\u00a0=/srv/x"),
      pmFail("-e", "import", " =/srv/x"),
      pm("-I", "postfix-ok", "-e", "create", " \tconfig_directory \t= \t/srv/ok// \t", "\vqueue_directory=/srv/ok-q\n"),
      pm("-l"),
    ],
  },
  ...bothTerminalModes({
    name: "create/import onto unmodified prototype files: set-permissions fails, instance half-created and listed; then assign, deport, destroy it",
    setup: [INIT, protoDir("postfix-pre"), protoDir("postfix-imp")],
    steps: (step) => [
      step("-I", "postfix-pre", "-G", "g1", "-e", "create"),
      step("-l"),
      step("-I", "postfix-imp", "-e", "import"),
      step("-l"),
      step("-i", "pre", "-e", "assign", "-G", "g2"),
      step("-i", "imp", "-e", "deport"),
      step("-i", "pre", "-e", "destroy"),
      step("-l"),
    ],
  }),
  ...bothTerminalModes({
    name: "destroy with leftovers: lookup table, held message, data file; pid/public/private after a start and stop; a missing queue directory",
    setup: [
      ...THREE,
      "postmulti -I postfix-gone -e create && rm -rf /var/spool/postfix-gone",
      "printf 'a b\\n' > /etc/postfix-out/access && postmap /etc/postfix-out/access",
      "printf 'x' > /var/spool/postfix-out/hold/ABCDEF0123 && chown postfix /var/spool/postfix-out/hold/ABCDEF0123 && echo d > /var/lib/postfix-out/f",
      "postfix -c /etc/postfix-in start && postfix -c /etc/postfix-in stop",
    ],
    steps: (step) => [step("-i", "out", "-e", "destroy"), step("-i", "in", "-e", "destroy"), step("-i", "gone", "-e", "destroy"), step("-l")],
  }),
  ...bothTerminalModes({
    name: "postmulti-script refusals: import lacking master.cf, destroy of a running instance, deport of a running one, before init",
    setup: [...THREE, "mkdir -p /etc/postfix-lack && printf 'queue_directory = /var/spool/postfix-lack\\n' > /etc/postfix-lack/main.cf"],
    steps: (step) => [
      step("-I", "postfix-lack", "-e", "import"),
      { sh: "postfix -c /etc/postfix-in start" },
      step("-i", "in", "-e", "destroy"),
      step("-i", "in", "-e", "deport"),
      { sh: "postfix -c /etc/postfix-in stop && postconf -e multi_instance_enable=no" },
      step("-i", "out", "-e", "enable"),
      step("-I", "postfix-new", "-e", "create"),
      step("-l"),
    ],
  }),

  // ---------------------------------------------------------------- life cycle: import / deport
  {
    name: "deport then import back (by name, renamed, by config_directory=)",
    setup: THREE,
    steps: [
      pm("-i", "postfix-out", "-e", "deport"),
      pm("-l"),
      pm("-I", "postfix-out", "-e", "import"),
      pm("-i", "in", "-e", "deport"),
      pm("-a", "-I", "postfix-inbound", "-G", "edge", "-e", "import", "config_directory=/etc/postfix-in"),
      pm("-l"),
      sh("postconf -h multi_instance_directories alternate_config_directories"),
    ],
  },
  {
    name: "import: errors (no such directory, missing master.cf, queue_directory= not allowed, duplicate)",
    setup: [...THREE, "mkdir -p /etc/postfix-lack && printf 'queue_directory = /var/spool/postfix-lack\\n' > /etc/postfix-lack/main.cf"],
    steps: [
      pmFail("-I", "postfix-nosuch", "-e", "import"),
      pm("-I", "postfix-lack", "-e", "import"),
      pmFail("-I", "postfix-x", "-e", "import", "queue_directory=/var/spool/x"),
      pmFail("-I", "postfix-out", "-e", "import"),
      pmFail("-e", "import"),
      pm("-l"),
    ],
  },
  {
    name: "import: an instance made by hand whose name/paths conflict, and one with alternate_config_directories",
    setup: [
      INIT,
      "mkdir -p /etc/postfix-hand && cp /etc/postfix/master.cf /etc/postfix-hand/ && printf 'queue_directory = /var/spool/postfix\\n' > /etc/postfix-hand/main.cf",
      "mkdir -p /etc/postfix-alt /var/spool/postfix-alt /var/lib/postfix-alt && cp /etc/postfix/master.cf /etc/postfix-alt/ && printf 'queue_directory = /var/spool/postfix-alt\\ndata_directory = /var/lib/postfix-alt\\n' > /etc/postfix-alt/main.cf",
      "postconf -e 'alternate_config_directories = /etc/postfix-alt /etc/somewhere'",
    ],
    steps: [pmFail("-I", "postfix-hand", "-e", "import"), pm("-I", "postfix-alt", "-e", "import"), pm("-l"), sh("postconf -n alternate_config_directories multi_instance_directories")],
  },
  {
    name: "deport: enabled, primary, running, unknown, missing -i; deport of a deleted instance",
    setup: [...THREE, "postmulti -i postfix-in -e enable"],
    steps: [
      pmFail("-i", "in", "-e", "deport"),
      pmFail("-i", "-", "-e", "deport"),
      pmFail("-e", "deport"),
      pmFail("-g", "mta", "-e", "deport"),
      pmFail("-i", "nosuch", "-e", "deport"),
      pmFail("-i", "out", "-e", "deport", "x=y"),
      sh("postfix -c /etc/postfix-out start"),
      pm("-i", "out", "-e", "deport"),
      sh("postfix -c /etc/postfix-out stop"),
      sh("postmulti -I postfix-out -e import && rm /etc/postfix-out/main.cf"),
      pmFail("-l"),
      pm("-i", "/etc/postfix-out", "-e", "deport"),
      pm("-l"),
    ],
  },

  // ---------------------------------------------------------------- life cycle: destroy
  {
    name: "destroy: fresh instance leaves nothing behind",
    setup: THREE,
    steps: [pm("-i", "postfix-out", "-e", "destroy"), pm("-l"), sh("ls -d /etc/postfix-out /var/spool/postfix-out /var/lib/postfix-out 2>&1; postconf -h multi_instance_directories")],
  },
  {
    name: "destroy: enabled, primary, unknown, by group, without -i, with parameters",
    setup: [...THREE, "postmulti -i postfix-out -e enable"],
    steps: [
      pmFail("-i", "out", "-e", "destroy"),
      pmFail("-i", "-", "-e", "destroy"),
      pmFail("-i", "/etc/postfix", "-e", "destroy"),
      pmFail("-i", "nosuch", "-e", "destroy"),
      pmFail("-g", "mta", "-e", "destroy"),
      pmFail("-e", "destroy"),
      pmFail("-a", "-e", "destroy"),
      pmFail("-i", "in", "-e", "destroy", "config_directory=/etc/postfix-in"),
      pm("-l"),
    ],
  },
  {
    name: "destroy: non-empty queue and extra files leave directories with warnings",
    setup: [
      ...THREE,
      "printf 'x' > /var/spool/postfix-out/maildrop/ABCDEF0123 && chown postfix /var/spool/postfix-out/maildrop/ABCDEF0123",
      "printf 'x' > /var/spool/postfix-out/deferred/keep && echo 'keep me' > /etc/postfix-out/access && mkdir /var/lib/postfix-out/keep",
    ],
    steps: [pm("-i", "out", "-e", "destroy"), pm("-l"), pm("-i", "in", "-e", "destroy"), pm("-l")],
  },
  {
    name: "destroy: running disabled instance is refused; stopped then destroyed",
    setup: THREE,
    steps: [
      sh("postfix -c /etc/postfix-in start"),
      pm("-i", "in", "-e", "destroy"),
      pm("-l"),
      sh("postfix -c /etc/postfix-in stop"),
      pm("-i", "in", "-e", "destroy"),
      pm("-l"),
    ],
  },
  {
    name: "destroy: instance at explicit paths, then the same name created again",
    setup: [INIT, "postmulti -I postfix-x -e create config_directory=/srv/x/etc queue_directory=/srv/x/q data_directory=/srv/x/d"],
    paths: ["/srv"],
    steps: [pm("-i", "x", "-e", "destroy"), pm("-I", "postfix-x", "-e", "create"), pm("-l")],
  },

  // ---------------------------------------------------------------- life cycle: enable / disable / assign
  {
    name: "enable/disable: secondary, primary, twice, unknown, with -g or without -i",
    setup: THREE,
    steps: [
      pm("-i", "out", "-e", "enable"),
      pm("-i", "out", "-e", "enable"),
      pm("-l"),
      pm("-i", "postfix-out", "-e", "disable"),
      pm("-i", "-", "-e", "disable"),
      pm("-l"),
      pm("-i", "-", "-e", "enable"),
      pmFail("-i", "nosuch", "-e", "enable"),
      pmFail("-g", "mta", "-e", "enable"),
      pmFail("-e", "disable"),
      pmFail("-i", "out", "-e", "enable", "multi_instance_enable=yes"),
      pm("-l"),
    ],
  },
  {
    name: "assign: rename, regroup, clear group and name, no-op, and name by path afterwards",
    setup: THREE,
    steps: [
      pm("-i", "out", "-e", "assign", "-I", "postfix-outbound"),
      pm("-i", "outbound", "-e", "assign", "-G", "edge"),
      pm("-i", "postfix-outbound", "-e", "assign", "-I", "postfix-outbound", "-G", "edge"),
      pm("-i", "in", "-e", "assign", "-G", "-"),
      pm("-i", "in", "-e", "assign", "-I", "-"),
      pm("-l"),
      pm("-i", "/etc/postfix-in", "-e", "assign", "-I", "postfix-in", "-G", "mta"),
      pm("-i", "-", "-e", "assign", "-I", "postfix-primary", "-G", "base"),
      pm("-l"),
      pm("-l", "-i", "primary"),
    ],
  },
  {
    name: "assign: errors (nothing to assign, duplicate name, bad names, unknown instance, parameters)",
    setup: THREE,
    paths: ["/tmp/pwned"],
    steps: [
      pmFail("-i", "out", "-e", "assign"),
      pmFail("-i", "out", "-e", "assign", "-I", "postfix-in"),
      pmFail("-i", "out", "-e", "assign", "-I", "in"),
      pmFail("-i", "out", "-e", "assign", "-I", "postfix-$(touch /tmp/pwned)"),
      pmFail("-i", "out", "-e", "assign", "-G", "a'b"),
      pmFail("-i", "nosuch", "-e", "assign", "-G", "x"),
      pmFail("-e", "assign", "-G", "x"),
      pmFail("-i", "out", "-e", "assign", "-G", "x", "a=b"),
      pm("-l"),
    ],
  },

  // ---------------------------------------------------------------- real Postfix: start, status, stop
  {
    name: "README walk-through: null client, postfix-out and postfix-in in group mta, configured, enabled, started, stopped",
    setup: NULL_CLIENT,
    steps: [
      sh("postfix start"),
      pm("-e", "init"),
      pm("-I", "postfix-out", "-G", "mta", "-e", "create"),
      sh(OUT_MASTER),
      pm("-i", "postfix-out", "-x", "postconf", "-e", ...OUT_SETTINGS),
      pm("-i", "postfix-out", "-x", "postconf", "-e", "master_service_disable =", "authorized_submit_users = root"),
      pm("-i", "postfix-out", "-e", "enable"),
      pm("-i", "postfix-out", "-p", "start"),
      pm("-I", "postfix-in", "-G", "mta", "-e", "create"),
      pm("-i", "postfix-in", "-x", "postconf", "-e", ...IN_SETTINGS),
      pm("-i", "postfix-in", "-x", "postconf", "-e", "master_service_disable =", "authorized_submit_users = root"),
      pm("-i", "postfix-in", "-e", "enable"),
      pm("-i", "postfix-in", "-p", "start"),
      pm("-l"),
      pm("-g", "mta", "-p", "status"),
      pm("-i", "postfix-out", "-p", "flush"),
      pm("-i", "postfix-in", "-p", "reload"),
      pm("-i", "-", "-p", "stop"),
      pm("-p", "status"),
      pm("-p", "stop"),
      pm("-p", "status"),
    ],
  },
  {
    name: "real postfix: start with a disabled instance only checks it; stop skips it; status reports all",
    setup: [...THREE, "postmulti -i postfix-in -e enable"],
    steps: [
      pm("-p", "start"),
      pm("-p", "status"),
      sh("postfix -c /etc/postfix-out status; echo rc=$?"),
      pm("-R", "-x", "sh", "-c", 'postfix status 2>&1 | sed "s/PID: [0-9]*/PID/"; echo "$MAIL_CONFIG"'),
      pm("-p", "stop"),
      pm("-p", "status"),
    ],
  },
];
