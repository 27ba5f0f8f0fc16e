import { describe, expect, it } from "vitest";
import { parsePostconfEdit } from "../../../../src/agent/postmulti/postconf-edit.js";

describe("dry run of postmulti -x postconf -e/-X", () => {
  it("recognises -e settings and -X removals, with an optional -c", () => {
    expect(parsePostconfEdit(["postconf", "-e", "myhostname=mx.example", "relayhost = [smtp]:587"])).toEqual({
      configDir: null,
      settings: [
        ["myhostname", "mx.example"],
        ["relayhost", "[smtp]:587"],
      ],
    });
    expect(parsePostconfEdit(["postconf", "-c", "/etc/postfix-a", "-X", "relayhost"])).toEqual({ configDir: "/etc/postfix-a", settings: [["relayhost", null]] });
    expect(parsePostconfEdit(["postconf", "-e", "-c", "/etc/x", "a="])).toEqual({ configDir: "/etc/x", settings: [["a", ""]] });
  });

  it("leaves every other command alone", () => {
    for (const argv of [
      ["/usr/sbin/postconf", "-e", "a=b"],
      ["postconf", "-n"],
      ["postconf", "-e"],
      ["postconf", "-e", "-X", "a=b"],
      ["postconf", "-ec", "/etc/x", "a=b"],
      ["postconf", "-e", "novalue"],
      ["postconf", "-X", "a=b"],
      ["postconf", "-M", "-e", "smtp/inet=x"],
      ["postconf", "-c"],
      ["sh", "-c", "postconf -e a=b"],
    ])
      expect(parsePostconfEdit(argv)).toBeNull();
  });
});
