import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { interfaceHosts, listenEndpoints, parseGreeting, parseServices, probeSmtp, resolveService } from "../../../../src/agent/requests/smtp-banner.js";
import { closedPort } from "../../../support/net.js";

const SERVICES = parseServices(`# /etc/services
smtp		25/tcp		mail
submissions	465/tcp		ssmtp smtps urd # Submission over TLS
submission	587/tcp				# Submission [RFC4409]
syslog		514/udp
`);

describe("service names to addresses", () => {
  it("reads tcp services and their aliases from /etc/services", () => {
    expect(SERVICES.get("smtp")).toBe(25);
    expect(SERVICES.get("smtps")).toBe(465);
    expect(SERVICES.get("submission")).toBe(587);
    expect(SERVICES.has("syslog")).toBe(false);
  });

  it("resolves master.cf service names against inet_interfaces, wildcards on loopback", () => {
    expect(resolveService("smtp", "all", SERVICES)).toEqual([{ host: "127.0.0.1", port: 25 }]);
    expect(resolveService("2525", "192.0.2.1, [2001:db8::1]", SERVICES)).toEqual([
      { host: "192.0.2.1", port: 2525 },
      { host: "2001:db8::1", port: 2525 },
    ]);
    expect(resolveService("127.0.0.1:10025", "all", SERVICES)).toEqual([{ host: "127.0.0.1", port: 10025 }]);
    expect(resolveService("[::1]:25", "all", SERVICES)).toEqual([{ host: "::1", port: 25 }]);
    expect(resolveService("0.0.0.0:submission", "192.0.2.1", SERVICES)).toEqual([{ host: "127.0.0.1", port: 587 }]);
    expect(resolveService("[::]:2525", "all", SERVICES)).toEqual([{ host: "127.0.0.1", port: 2525 }]);
    expect(() => resolveService("nosuch", "all", SERVICES)).toThrow(/unknown port 'nosuch'/);
  });

  it("says which local addresses a listener binds (null: any)", () => {
    expect(listenEndpoints("smtp", "all", SERVICES)).toEqual([{ host: null, port: 25 }]);
    expect(listenEndpoints("2525", "192.0.2.1 [2001:db8::1]", SERVICES)).toEqual([
      { host: "192.0.2.1", port: 2525 },
      { host: "2001:db8::1", port: 2525 },
    ]);
    expect(listenEndpoints("127.0.0.1:10025", "all", SERVICES)).toEqual([{ host: "127.0.0.1", port: 10025 }]);
    expect(listenEndpoints("0.0.0.0:smtp", "192.0.2.1", SERVICES)).toEqual([{ host: null, port: 25 }]);
    expect(listenEndpoints("smtp", "loopback-only", SERVICES)).toEqual([{ host: "127.0.0.1", port: 25 }, { host: "::1", port: 25 }]);
  });

  it("takes loopback-only and all as loopback", () => {
    expect(interfaceHosts("loopback-only")).toEqual(["127.0.0.1"]);
    expect(interfaceHosts("all")).toEqual(["127.0.0.1"]);
    expect(interfaceHosts("")).toEqual(["127.0.0.1"]);
  });
});

describe("greeting parser", () => {
  it("needs the final line of a multi-line 220- greeting", () => {
    expect(parseGreeting("220-mx.example.net ESMTP\r\n")).toEqual({ complete: false, code: "220", lines: ["220-mx.example.net ESMTP"] });
    expect(parseGreeting("220-mx ESMTP\r\n220 mx ESMTP Postfix\r\n")).toEqual({ complete: true, code: "220", lines: ["220-mx ESMTP", "220 mx ESMTP Postfix"] });
    expect(parseGreeting("220 mx ESM")).toEqual({ complete: false, code: null, lines: [] });
    expect(parseGreeting("554 5.7.1 go away\r\n").code).toBe("554");
    expect(parseGreeting("SSH-2.0-OpenSSH\r\n")).toMatchObject({ complete: true, code: "" });
  });
});

describe("banner probe against a local server", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  function serve(onConnect: (s: Socket, heard: string[]) => void): Promise<{ port: number; heard: string[] }> {
    const heard: string[] = [];
    server = createServer((s) => {
      s.setEncoding("utf8");
      s.on("data", (d: string) => heard.push(d));
      s.on("error", () => undefined);
      onConnect(s, heard);
    });
    return new Promise((r) => server!.listen(0, "127.0.0.1", () => r({ port: (server!.address() as { port: number }).port, heard })));
  }

  it("passes on a 220 banner and says QUIT", async () => {
    const { port, heard } = await serve((s) => {
      s.write("220 mx.example.net ESMTP Postfix\r\n");
      s.on("data", () => s.end("221 2.0.0 Bye\r\n"));
    });
    const r = await probeSmtp({ host: "127.0.0.1", port }, 2000);
    expect(r).toEqual({ ok: true, detail: `220 mx.example.net ESMTP Postfix at 127.0.0.1:${port}` });
    await new Promise((res) => setTimeout(res, 50));
    expect(heard.join("")).toBe("QUIT\r\n");
  });

  it("waits for the end of a multi-line greeting sent in pieces", async () => {
    const { port } = await serve((s) => {
      s.write("220-mx.example.net ESMTP\r\n");
      setTimeout(() => s.write("220 mx.example.net ESMTP Postfix\r\n"), 100);
    });
    const r = await probeSmtp({ host: "127.0.0.1", port }, 2000);
    expect(r.ok).toBe(true);
    expect(r.detail).toBe(`220 mx.example.net ESMTP Postfix (2-line greeting) at 127.0.0.1:${port}`);
  });

  it("fails on another code, on silence and on a refused connection, saying which", async () => {
    const refused = await serve((s) => s.end("554 5.3.2 mx: Service currently unavailable\r\n"));
    expect(await probeSmtp({ host: "127.0.0.1", port: refused.port }, 2000)).toEqual({
      ok: false,
      detail: `127.0.0.1:${refused.port} answered "554 5.3.2 mx: Service currently unavailable", not 220`,
    });
    await new Promise<void>((r) => server!.close(() => r()));
    const silent = await serve(() => undefined);
    const started = Date.now();
    expect(await probeSmtp({ host: "127.0.0.1", port: silent.port }, 300)).toEqual({ ok: false, detail: `127.0.0.1:${silent.port}: no greeting within 300 ms` });
    expect(Date.now() - started).toBeLessThan(2000);
    const closed = await closedPort();
    expect(await probeSmtp({ host: "127.0.0.1", port: closed }, 2000)).toEqual({ ok: false, detail: `127.0.0.1:${closed}: connection refused` });
  });

  it("stops at once when the request is cancelled", async () => {
    const { port } = await serve(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const r = await probeSmtp({ host: "127.0.0.1", port }, 5000, ac.signal);
    expect(r).toEqual({ ok: false, detail: `127.0.0.1:${port}: probe cancelled` });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
