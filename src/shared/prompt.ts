// The one hidden prompt on the terminal (vault passwords, the become password,
// key passphrases): no echo from the first keystroke, one prompt at a time
// (many hosts may want a key's passphrase at once), and a clear failure
// without a terminal (CI, pipes) instead of hanging.

export type PromptFailure = "no-terminal" | "interrupted";

export class PromptError extends Error {
  constructor(
    readonly reason: PromptFailure,
    message: string,
  ) {
    super(message);
    this.name = "PromptError";
  }
}

/** Terminal streams; tests pass fakes. */
export interface PromptIo {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
}

let chain: Promise<unknown> = Promise.resolve();

/**
 * Ask `question` on stderr and read one line from the terminal without echo.
 * Enter (or ^D after some text) ends it; Backspace deletes; ^C, or ^D on an
 * empty line, rejects with PromptError "interrupted". Without a terminal it
 * rejects with PromptError "no-terminal" at once.
 */
export function promptHidden(question: string, io: PromptIo = { input: process.stdin, output: process.stderr }): Promise<string> {
  const { input, output } = io;
  if (!input.isTTY) {
    return Promise.reject(new PromptError("no-terminal", `cannot ask "${question.trim()}": no terminal (give the secret another way)`));
  }
  const run = () =>
    new Promise<string>((resolve, reject) => {
      // Raw mode before the question appears: nothing typed early is echoed.
      input.setRawMode(true);
      output.write(question);
      input.resume();
      let typed = "";
      const finish = (err?: PromptError) => {
        input.off("data", onData);
        input.setRawMode(false);
        input.pause();
        output.write("\n");
        if (err) reject(err);
        else resolve(typed);
      };
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ch === "\r" || ch === "\n") return finish();
          if (ch === "\u0003" || (ch === "\u0004" && typed === "")) return finish(new PromptError("interrupted", "interrupted"));
          if (ch === "\u0004") return finish();
          if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      input.on("data", onData);
    });
  const next = chain.then(run, run);
  chain = next.catch(() => undefined);
  return next;
}
