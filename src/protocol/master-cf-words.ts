// master.cf's command field split into words as master(5) reads it: runs of
// non-blank characters, a `{ ... }` group (with nested braces) one word. The
// agent edits master.cf with it and drift compares commands with it.
export function commandWords(command: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < command.length) {
    if (/\s/.test(command[i]!)) {
      i++;
      continue;
    }
    let j = i;
    if (command[i] === "{") {
      let depth = 0;
      for (; j < command.length; j++) {
        if (command[j] === "{") depth++;
        else if (command[j] === "}" && --depth === 0) break;
      }
      j++;
    } else {
      while (j < command.length && !/\s/.test(command[j]!)) j++;
    }
    out.push(command.slice(i, j));
    i = j;
  }
  return out;
}
