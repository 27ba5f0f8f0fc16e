import { describe, expect, it } from "vitest";
import { ConfigSpecError, defaultsNeeded, mainAfter, planConfig, type CurrentConfig } from "../../../../src/agent/requests/config-plan.js";
import { masterEntries } from "../../../../src/agent/postfix/master-cf.js";

const F = `smtp/inet/service = smtp
smtp/inet/type = inet
smtp/inet/private = n
smtp/inet/unprivileged = -
smtp/inet/chroot = y
smtp/inet/wakeup = -
smtp/inet/process_limit = -
smtp/inet/command = smtpd
relay/unix/service = relay
relay/unix/type = unix
relay/unix/private = -
relay/unix/unprivileged = -
relay/unix/chroot = y
relay/unix/wakeup = -
relay/unix/process_limit = -
relay/unix/command = smtp -o syslog_name=postfix/$service_name
`;
const P = "relay/unix/syslog_name = postfix/$service_name\n";
const M = "smtp       inet  n       -       y       -       -       smtpd\nrelay      unix  -       -       y       -       -       smtp -o syslog_name=postfix/$service_name\n";

function current(main: Record<string, string>, defaults: Record<string, string> = {}): CurrentConfig {
  return { main: new Map(Object.entries(main)), defaults: new Map(Object.entries(defaults)), master: masterEntries(F, P, M) };
}

describe("config plan: main.cf", () => {
  it("changes only what differs from the explicit setting or, when unset, from the default", () => {
    const cur = current({ myhostname: "mx.example.net", inet_interfaces: "all" }, { smtpd_banner: "$myhostname ESMTP $mail_name", message_size_limit: "10240000" });
    const plan = planConfig(
      { main: { myhostname: " mx.example.net ", inet_interfaces: "127.0.0.1", smtpd_banner: "$myhostname ESMTP $mail_name", message_size_limit: "20480000" } },
      cur,
    );
    expect(plan.changes).toEqual([
      { file: "main.cf", name: "inet_interfaces", before: "all", after: "127.0.0.1" },
      { file: "main.cf", name: "message_size_limit", before: null, after: "20480000", defaultValue: "10240000" },
    ]);
    expect(plan.commands).toEqual([["-e", "inet_interfaces=127.0.0.1", "message_size_limit=20480000"]]);
  });

  it("removes present parameters with -X, carrying the default they fall back to; absent ones are no change", () => {
    const plan = planConfig({ mainAbsent: ["relayhost", "never_set"] }, current({ relayhost: "[smart]:587" }, { relayhost: "", never_set: "x" }));
    expect(plan.changes).toEqual([{ file: "main.cf", name: "relayhost", before: "[smart]:587", after: null, defaultValue: "" }]);
    expect(plan.commands).toEqual([["-X", "relayhost"]]);
  });

  it("asks postconf -d only for parameters that are unset or to be removed", () => {
    expect(defaultsNeeded({ main: { a: "1", b: "2" }, mainAbsent: ["c"] }, new Map([["a", "0"]]))).toEqual(["b", "c"]);
  });

  it("a second identical run plans nothing", () => {
    const cur = current({ inet_interfaces: "127.0.0.1" });
    expect(planConfig({ main: { inet_interfaces: "127.0.0.1" }, mainAbsent: ["relayhost"] }, cur)).toEqual({ changes: [], commands: [] });
  });

  it("rejects a parameter both set and removed, bad names and multi-line values", () => {
    expect(() => planConfig({ main: { a: "1" }, mainAbsent: ["a"] }, current({}))).toThrow(ConfigSpecError);
    expect(() => planConfig({ main: { "bad name": "1" } }, current({}))).toThrow(/invalid main.cf parameter name/);
    expect(() => planConfig({ main: { a: "1\n2" } }, current({}))).toThrow(/one line/);
  });

  it("computes postconf -n as it would be after the changes, sorted", () => {
    const plan = planConfig({ main: { z: "1", b: "2" }, mainAbsent: ["a"] }, current({ a: "x", c: "y" }));
    expect(Object.entries(mainAfter(new Map([["a", "x"], ["c", "y"]]), plan.changes))).toEqual([["b", "2"], ["c", "y"], ["z", "1"]]);
  });
});

describe("config plan: master.cf", () => {
  it("sets differing fields with -F, parameters with -P and removes with -PX", () => {
    const plan = planConfig(
      { master: { "smtp/inet": { process_limit: "50", chroot: "y", smtpd_tls_security_level: "may" }, "relay/unix": { syslog_name: null, missing_param: null } } },
      current({}),
    );
    expect(plan.changes).toEqual([
      { file: "master.cf", name: "smtp/inet/process_limit", before: "-", after: "50", kind: "field" },
      { file: "master.cf", name: "smtp/inet/smtpd_tls_security_level", before: null, after: "may", kind: "param" },
      { file: "master.cf", name: "relay/unix/syslog_name", before: "postfix/$service_name", after: null, kind: "param" },
    ]);
    expect(plan.commands).toEqual([["-F", "smtp/inet/process_limit=50"], ["-P", "smtp/inet/smtpd_tls_security_level=may"], ["-PX", "relay/unix/syslog_name"]]);
  });

  it("compares the command without its -o options and keeps them when the command changes", () => {
    expect(planConfig({ master: { "relay/unix": { command: "smtp" } } }, current({})).changes).toEqual([]);
    const plan = planConfig({ master: { "relay/unix": { command: "smtp -v" } } }, current({}));
    expect(plan.commands).toEqual([["-F", "relay/unix/command=smtp -v -o syslog_name=postfix/$service_name"]]);
    expect(plan.changes[0]).toMatchObject({ before: "smtp -o syslog_name=postfix/$service_name", after: "smtp -v -o syslog_name=postfix/$service_name" });
  });

  it("creates a missing entry with -M (then its parameters with -P); it needs a command", () => {
    const plan = planConfig({ master: { "127.0.0.1:10025/inet": { command: "smtpd", private: "n", smtpd_authorized_xforward_hosts: "127.0.0.0/8" } } }, current({}));
    expect(plan.changes).toEqual([
      { file: "master.cf", name: "127.0.0.1:10025/inet", before: null, after: "127.0.0.1:10025 inet n - - - - smtpd", kind: "entry" },
      { file: "master.cf", name: "127.0.0.1:10025/inet/smtpd_authorized_xforward_hosts", before: null, after: "127.0.0.0/8", kind: "param" },
    ]);
    expect(plan.commands).toEqual([["-M", "127.0.0.1:10025/inet=127.0.0.1:10025 inet n - - - - smtpd"], ["-P", "127.0.0.1:10025/inet/smtpd_authorized_xforward_hosts=127.0.0.0/8"]]);
    expect(() => planConfig({ master: { "new/unix": { private: "n" } } }, current({}))).toThrow(/command is required/);
    // An inet service cannot be private (master(8) refuses to start): "n" unless given.
    expect(planConfig({ master: { "2525/inet": { command: "smtpd" }, "x/unix": { command: "smtp" } } }, current({})).changes.map((c) => c.after)).toEqual([
      "2525 inet n - - - - smtpd",
      "x unix - - - - - smtp",
    ]);
  });

  it("removes an entry given as null with -MX where it exists", () => {
    const plan = planConfig({ master: { "relay/unix": null, "absent/unix": null } }, current({}));
    expect(plan.changes).toEqual([{ file: "master.cf", name: "relay/unix", before: "relay unix - - y - - smtp -o syslog_name=postfix/$service_name", after: null, kind: "entry" }]);
    expect(plan.commands).toEqual([["-MX", "relay/unix"]]);
  });

  it("rejects what postconf cannot do: removing a field, whitespace in a -P value, a key without a type", () => {
    expect(() => planConfig({ master: { "smtp/inet": { chroot: null } } }, current({}))).toThrow(/cannot be removed/);
    expect(() => planConfig({ master: { "smtp/inet": { smtpd_banner: "a b" } } }, current({}))).toThrow(/whitespace/);
    expect(() => planConfig({ master: { smtp: { chroot: "n" } } }, current({}))).toThrow(/service\/type/);
  });
});
