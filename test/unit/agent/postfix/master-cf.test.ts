import { describe, expect, it } from "vitest";
import { commandName, commandProgram, commandWords, masterEntries, newEntryLine, parseMasterFields, parseMasterLines, parseMasterParams, splitCommand } from "../../../../src/agent/postfix/master-cf.js";

// Real postconf 3.7 output (Debian 12 lab image).
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
[::1]:2525/inet/service = [::1]:2525
[::1]:2525/inet/type = inet
[::1]:2525/inet/private = n
[::1]:2525/inet/unprivileged = -
[::1]:2525/inet/chroot = n
[::1]:2525/inet/wakeup = -
[::1]:2525/inet/process_limit = -
[::1]:2525/inet/command = postscreen -v
`;
const P = `relay/unix/syslog_name = postfix/$service_name
submission/inet/smtpd_tls_security_level = encrypt
submission/inet/smtpd_client_restrictions =
`;
const M = `smtp       inet  n       -       y       -       -       smtpd
relay      unix  -       -       y       -       -       smtp -o syslog_name=postfix/$service_name
[::1]:2525 inet  n       -       n       -       -       postscreen -v
`;

describe("postconf -F / -P / -M output", () => {
  it("parses -F into fields per service/type, in master.cf order", () => {
    const f = parseMasterFields(F);
    expect([...f.keys()]).toEqual(["smtp/inet", "relay/unix", "[::1]:2525/inet"]);
    expect(f.get("smtp/inet")).toEqual({ service: "smtp", type: "inet", private: "n", unprivileged: "-", chroot: "y", wakeup: "-", process_limit: "-", command: "smtpd" });
    expect(f.get("relay/unix")!.command).toBe("smtp -o syslog_name=postfix/$service_name");
    expect(f.get("[::1]:2525/inet")!.service).toBe("[::1]:2525");
  });

  it("parses -P, values with '/' and '$' and empty values included", () => {
    const p = parseMasterParams(P);
    expect(p.get("relay/unix")!.get("syslog_name")).toBe("postfix/$service_name");
    expect(p.get("submission/inet")!.get("smtpd_tls_security_level")).toBe("encrypt");
    expect(p.get("submission/inet")!.get("smtpd_client_restrictions")).toBe("");
  });

  it("joins -F, -P and -M into entries with their normalised -M line", () => {
    const e = masterEntries(F, P, M);
    expect(e.get("relay/unix")!.params.get("syslog_name")).toBe("postfix/$service_name");
    expect(e.get("smtp/inet")!.params.size).toBe(0);
    expect(e.get("relay/unix")!.line).toBe("relay unix - - y - - smtp -o syslog_name=postfix/$service_name");
    expect(e.get("[::1]:2525/inet")!.line).toBe("[::1]:2525 inet n - n - - postscreen -v");
    expect(parseMasterLines(M + "\n\n")).toHaveLength(3);
  });

  it("splits a command field into the program and its leading -o options", () => {
    expect(splitCommand("smtp -o syslog_name=postfix/$service_name")).toEqual({ program: ["smtp"], options: ["-o", "syslog_name=postfix/$service_name"] });
    expect(splitCommand("smtpd -v -o a=b -o { c = d e } -o f=g")).toEqual({ program: ["smtpd", "-v"], options: ["-o", "a=b", "-o", "{ c = d e }", "-o", "f=g"] });
    // Past the options, -o is the program's own argument (pipe's argv=...).
    expect(splitCommand("pipe flags=R argv=/bin/x -o y")).toEqual({ program: ["pipe", "flags=R", "argv=/bin/x", "-o", "y"], options: [] });
    expect(commandProgram("smtp   -o a=b")).toBe("smtp");
    expect(commandName("postscreen -v")).toBe("postscreen");
    expect(commandWords("  a  { b c }  d ")).toEqual(["a", "{ b c }", "d"]);
  });

  it("builds a new entry's -M line with '-' (Postfix's default) for fields not given", () => {
    expect(newEntryLine("127.0.0.1:10025/inet", { private: "n", process_limit: "10" }, "smtpd")).toBe("127.0.0.1:10025 inet n - - - 10 smtpd");
  });
});
