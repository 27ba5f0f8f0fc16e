// The one hidden prompt, driven through a fake terminal.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { PromptError, promptHidden, type PromptIo } from "../../../src/shared/prompt.js";

function fakeTerminal(isTTY = true) {
  const input = new EventEmitter() as EventEmitter & { isTTY: boolean; raw: boolean[]; setRawMode(b: boolean): void; resume(): void; pause(): void };
  input.isTTY = isTTY;
  input.raw = [];
  input.setRawMode = (b) => void input.raw.push(b);
  input.resume = () => {};
  input.pause = () => {};
  let shown = "";
  const output = { write: (s: string) => ((shown += s), true) };
  const io = { input, output } as unknown as PromptIo;
  // Prompts are queued: type only once the prompt listens (as a real terminal buffers until then).
  const type = async (s: string) => {
    while (input.listenerCount("data") === 0) await new Promise((r) => setImmediate(r));
    input.emit("data", Buffer.from(s));
  };
  return { io, type, shown: () => shown, input };
}

describe("promptHidden", () => {
  it("reads a line without echo (raw mode), handles backspace, and restores the terminal", async () => {
    const t = fakeTerminal();
    const answer = promptHidden("Vault password: ", t.io);
    await t.type("hunx\u007fter2\r");
    expect(await answer).toBe("hunter2");
    expect(t.shown()).toBe("Vault password: \n");
    expect(t.input.raw).toEqual([true, false]);
    expect(t.input.listenerCount("data")).toBe(0);
  });

  it("^C, or ^D on an empty line, is 'interrupted'; ^D after text ends the line", async () => {
    const a = fakeTerminal();
    const p1 = promptHidden("p: ", a.io);
    await a.type("abc\u0003");
    await expect(p1).rejects.toMatchObject({ reason: "interrupted" });
    const b = fakeTerminal();
    const p2 = promptHidden("p: ", b.io);
    await b.type("\u0004");
    await expect(p2).rejects.toBeInstanceOf(PromptError);
    const c = fakeTerminal();
    const p3 = promptHidden("p: ", c.io);
    await c.type("xy\u0004");
    expect(await p3).toBe("xy");
  });

  it("fails at once without a terminal, naming what it wanted to ask", async () => {
    const e = await promptHidden("BECOME password: ", fakeTerminal(false).io).catch((x: Error) => x);
    expect(e).toBeInstanceOf(PromptError);
    expect(e).toMatchObject({ reason: "no-terminal", message: 'cannot ask "BECOME password:": no terminal (give the secret another way)' });
  });

  it("asks one question at a time", async () => {
    const t = fakeTerminal();
    const first = promptHidden("one: ", t.io);
    const second = promptHidden("two: ", t.io);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(t.shown()).toBe("one: "); // "two: " waits for "one: " to be answered
    await t.type("1\r");
    expect(await first).toBe("1");
    await t.type("2\r");
    expect(t.shown()).toBe("one: \ntwo: \n");
    expect(await second).toBe("2");
  });
});
