// The probe's log follower on real Postfix 3.7 lines (from a --mail-flow lab host).
import { describe, expect, it } from "vitest";
import { parseDelivery, parseLogLine, ProbeTracker, relayAddress } from "../../../../src/agent/requests/probe-log.js";

const MID = "<postfleet-probe.x.1@postfleet.invalid>";
const H = "Dec 06 12:11:13 d0cf6d69cea3";
const SENT = [
  `${H} postfix-in/smtpd[746]: 397C91865D6: client=unknown[127.0.0.1]`,
  `${H} postfix-in/cleanup[761]: 397C91865D6: message-id=${MID}`,
  `${H} postfix-filter/cleanup[765]: 7B7C81865D9: message-id=${MID}`,
  `${H} postfix-in/smtp[763]: 397C91865D6: to=<probe@postfleet.invalid>, relay=127.0.0.1[127.0.0.1]:10025, delay=4.3, delays=2.2/1.1/0.1/0.87, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7B7C81865D9)`,
  `${H} postfix-in/qmgr[595]: 397C91865D6: removed`,
  `${H} postfix-out/cleanup[768]: 7F70B1865DD: message-id=${MID}`,
  `${H} postfix-filter/smtp[766]: 7B7C81865D9: to=<probe@postfleet.invalid>, relay=127.0.0.1[127.0.0.1]:10026, delay=1.4, delays=0.26/0.32/0.04/0.75, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7F70B1865DD)`,
  `${H} postfix-filter/qmgr[668]: 7B7C81865D9: removed`,
  `${H} postfix-out/smtp[769]: 7F70B1865DD: to=<probe@postfleet.invalid>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.7, delays=0.42/0.25/0.02/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)`,
  `${H} postfix-out/qmgr[741]: 7F70B1865DD: removed`,
];
const local = (_h: string, p: number) => p === 25 || p === 10025 || p === 10026;
const tracker = (outcome: "delivered" | "accepted" = "delivered") =>
  new ProbeTracker({ messageId: MID, outcome, isLocalListener: local, instanceOf: (s) => s });

describe("probe log follower", () => {
  it("parses maillog_file and RFC 3339 syslog lines, and syslog_names with a slash", () => {
    expect(parseLogLine(SENT[0]!)).toMatchObject({ syslogName: "postfix-in", daemon: "smtpd", queueId: "397C91865D6", text: "client=unknown[127.0.0.1]" });
    expect(parseLogLine("2026-12-06T12:00:00.123456+00:00 mx postfix/submission/smtpd[9]: 4Lv3Xz1Bq2zB2k: client=x")).toMatchObject({
      syslogName: "postfix/submission",
      daemon: "smtpd",
      queueId: "4Lv3Xz1Bq2zB2k",
    });
    expect(parseDelivery("to=<a@b>, relay=none, delay=31, delays=30/0.01/1/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:10025: Connection refused)")).toEqual({
      relay: "none",
      delayMs: 31000,
      status: "deferred",
      reply: "connect to 127.0.0.1[127.0.0.1]:10025: Connection refused",
    });
    expect(relayAddress("127.0.0.1[127.0.0.1]:10026")).toEqual({ host: "127.0.0.1", port: 10026 });
    expect(relayAddress("none")).toBeNull();
  });

  it("follows queued-as links across instances and ends at the relay that is no local listener", () => {
    const t = tracker();
    SENT.slice(0, 7).forEach((l, i) => t.feed(l, i));
    expect(t.state.done).toBe(false); // postfix-out has not delivered yet
    SENT.slice(7).forEach((l, i) => t.feed(l, 10 + i));
    expect(t.state).toEqual({ done: true, ok: true });
    expect(t.hops.map((h) => [h.syslogName, h.queueId, h.latencyMs])).toEqual([
      ["postfix-in", "397C91865D6", 4300],
      ["postfix-filter", "7B7C81865D9", 1400],
      ["postfix-out", "7F70B1865DD", 700],
    ]);
    expect(t.leftInQueue()).toEqual([]);
  });

  it("accepted: done when the first hop handed it on", () => {
    const t = tracker("accepted");
    SENT.slice(0, 4).forEach((l, i) => t.feed(l, i));
    expect(t.state).toEqual({ done: true, ok: true });
  });

  it("a deferral fails at that hop with its line, the queue file still to remove; other messages are ignored", () => {
    const t = tracker();
    t.feed(`${H} postfix-in/cleanup[1]: AAAAAA1: message-id=<other@x>`, 0);
    t.feed(SENT[1]!, 1);
    const line = `${H} postfix-in/smtp[2]: 397C91865D6: to=<probe@postfleet.invalid>, relay=none, delay=0.1, delays=0/0/0.1/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:10025: Connection refused)`;
    t.feed(`${H} postfix-in/smtp[2]: AAAAAA1: to=<x@y>, relay=none, delay=1, dsn=5.0.0, status=bounced (nope)`, 2);
    expect(t.state.done).toBe(false);
    t.feed(line, 3);
    expect(t.state).toEqual({ done: true, ok: false, hop: "postfix-in", reason: "deferred: connect to 127.0.0.1[127.0.0.1]:10025: Connection refused", line });
    expect(t.leftInQueue()).toEqual([{ syslogName: "postfix-in", queueId: "397C91865D6" }]);
  });

  it("verify: the entry instance's pickup line from the sender is the hop; deliverable passes and the report is to remove", () => {
    const t = new ProbeTracker({ messageId: MID, outcome: "verify", isLocalListener: local, instanceOf: (s) => s, pickupFrom: { syslogName: "postfix-out", sender: "p@x.invalid" } });
    t.feed(`${H} postfix-in/pickup[1]: 1111111: uid=0 from=<p@x.invalid>`, 0);
    t.feed(`${H} postfix-out/pickup[384]: 5B837186037: uid=0 from=<p@x.invalid>`, 1);
    t.feed(`${H} postfix-out/cleanup[399]: 5B837186037: message-id=<20261206123942.5B837186037@h.localdomain>`, 2);
    t.feed(`${H} postfix-out/smtp[402]: 5B837186037: to=<probe@postfleet.invalid>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.08, delays=0.04/0.02/0/0.02, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)`, 3);
    t.feed(`${H} postfix-out/bounce[403]: 5B837186037: sender delivery status notification: 69C10186204`, 4);
    t.feed(`${H} postfix-out/qmgr[385]: 5B837186037: removed`, 5);
    expect(t.state).toEqual({ done: true, ok: true });
    expect(t.hops.map((h) => [h.syslogName, h.queueId, h.status])).toEqual([["postfix-out", "5B837186037", "deliverable"]]);
    expect(t.leftInQueue()).toEqual([{ syslogName: "postfix-out", queueId: "69C10186204" }]);
  });

  it("a local content filter that is no Postfix listener (amavisd on 10024) re-injecting: followed; without a next hop, done after the grace", () => {
    const opts = { messageId: MID, outcome: "delivered" as const, isLocalListener: local, isLocalAddress: (h: string) => h === "127.0.0.1", instanceOf: (s: string) => s };
    const amavis = `${H} postfix-in/smtp[5]: 397C91865D6: to=<probe@postfleet.invalid>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 8888888888)`;
    const t = new ProbeTracker(opts);
    t.feed(SENT[1]!, 0);
    t.feed(amavis, 100);
    t.settle(1000, 5000);
    expect(t.state.done).toBe(false);
    t.feed(`${H} postfix-in/cleanup[6]: 8888888888: message-id=${MID}`, 1200);
    t.settle(9000, 5000);
    expect(t.state.done).toBe(false); // the re-injected hop is still on its way
    t.feed(`${H} postfix-in/smtp[7]: 8888888888: to=<probe@postfleet.invalid>, relay=mx.example.net[192.0.2.1]:2525, delay=0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC)`, 9100);
    expect(t.state).toEqual({ done: true, ok: true });
    expect(t.hops.map((h) => h.queueId)).toEqual(["397C91865D6", "8888888888"]);

    const alone = new ProbeTracker(opts);
    alone.feed(SENT[1]!, 0);
    alone.feed(amavis, 100);
    alone.settle(5100, 5000);
    expect(alone.state).toEqual({ done: true, ok: true });
  });
});
