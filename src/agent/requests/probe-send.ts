// The probe message's sender: one message, one recipient, plain SMTP (the probe
// enters on a local listener). Every reply is checked; the 250 after DATA
// usually names the queue ID ("250 2.0.0 Ok: queued as 397C91865D6").
import { connect } from "node:net";
import { targetText, type ProbeTarget } from "./smtp-banner.js";

export interface SmtpSendResult {
  ok: boolean;
  /** The reply to the end of DATA, or the failing step and its reply. */
  detail: string;
  queueId: string | null;
}

/** Lines of a complete SMTP reply at the start of `buf` (multi-line "250-" ... "250 "), and the rest. */
export function takeReply(buf: string): { code: string; text: string; rest: string } | null {
  let pos = 0;
  const lines: string[] = [];
  for (;;) {
    const nl = buf.indexOf("\n", pos);
    if (nl < 0) return null;
    const line = buf.slice(pos, nl).replace(/\r$/, "");
    pos = nl + 1;
    lines.push(line);
    if (!/^\d{3}-/.test(line)) return { code: line.slice(0, 3), text: lines.join(" / "), rest: buf.slice(pos) };
  }
}

/** Dot-stuffed message body with CRLF line ends, ending with the lone dot. */
export function dataBlock(message: string): string {
  const lines = message.replace(/\r\n/g, "\n").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return `${lines.map((l) => (l.startsWith(".") ? `.${l}` : l)).join("\r\n")}\r\n.\r\n`;
}

export function sendSmtp(target: ProbeTarget, from: string, to: string, message: string, timeoutMs: number, signal: AbortSignal): Promise<SmtpSendResult> {
  const where = targetText(target);
  const steps: { send: string | null; want: string; what: string }[] = [
    { send: null, want: "220", what: "greeting" },
    { send: "EHLO postfleet-probe.invalid\r\n", want: "250", what: "EHLO" },
    { send: `MAIL FROM:<${from}>\r\n`, want: "250", what: "MAIL FROM" },
    { send: `RCPT TO:<${to}>\r\n`, want: "250", what: "RCPT TO" },
    { send: "DATA\r\n", want: "354", what: "DATA" },
    { send: dataBlock(message), want: "250", what: "end of DATA" },
  ];
  return new Promise((resolve) => {
    let buf = "";
    let step = 0;
    let done = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (r: SmtpSendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (r.ok) socket.end("QUIT\r\n");
      else socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `${where}: no answer to ${steps[step]?.what} within ${timeoutMs} ms`, queueId: null }), timeoutMs);
    const onAbort = () => finish({ ok: false, detail: `${where}: probe cancelled`, queueId: null });
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      buf += d;
      for (let r = takeReply(buf); r && !done; r = takeReply(buf)) {
        buf = r.rest;
        const s = steps[step]!;
        if (r.code !== s.want) return finish({ ok: false, detail: `${where} answered ${s.what} with ${JSON.stringify(r.text)}`, queueId: null });
        step++;
        if (step === steps.length) return finish({ ok: true, detail: r.text, queueId: /queued as ([0-9A-Za-z]+)/.exec(r.text)?.[1] ?? null });
        socket.write(steps[step]!.send!);
      }
    });
    socket.on("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `${where}: ${e.code === "ECONNREFUSED" ? "connection refused" : e.message}`, queueId: null }),
    );
    socket.on("close", () => finish({ ok: false, detail: `${where}: connection closed during ${steps[step]?.what}`, queueId: null }));
  });
}
