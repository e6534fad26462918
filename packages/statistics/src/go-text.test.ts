import { describe, expect, it } from "vitest";
import { compareUtf8, goFoldName, goJsonString, goTrimSpace, toWellFormed } from "./go-text";

describe("Go text helpers", () => {
  it("escape strings as Go's json.Marshal does", () => {
    expect(goJsonString("plain")).toBe('"plain"');
    expect(goJsonString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goJsonString("\b\f\n\r\t\u0000\u001f\u007f")).toBe('"\\b\\f\\n\\r\\t\\u0000\\u001f\u007f"');
    expect(goJsonString("<a href='x'>&</a>")).toBe("\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\"");
    expect(goJsonString("line\u2028para\u2029end")).toBe('"line\\u2028para\\u2029end"');
    expect(goJsonString("é😀中")).toBe('"é😀中"');
    expect(goJsonString("lone\ud800 and \udc00")).toBe('"lone\\ufffd and \\ufffd"');
  });

  it("orders strings by UTF-8 bytes (code points), not UTF-16 units", () => {
    const keys = ["\uff41", "\ud83d\ude00", "z", "Z", "", "a", "ab", "\u00e9"];
    expect([...keys].sort(compareUtf8)).toEqual(["", "Z", "a", "ab", "z", "\u00e9", "\uff41", "\ud83d\ude00"]);
    expect(compareUtf8("same", "same")).toBe(0);
  });

  it("trims white space as Go's strings.TrimSpace does", () => {
    expect(goTrimSpace("  key \t\n")).toBe("key");
    expect(goTrimSpace("\u0085key\u3000")).toBe("key");
    expect(goTrimSpace("\ufeffkey")).toBe("\ufeffkey");
    expect(goTrimSpace(" \u00a0\u2028 ")).toBe("");
    expect(goTrimSpace("in side")).toBe("in side");
  });

  it("folds field names as Go's JSON decoder matches them", () => {
    expect(goFoldName("Total_Tokens")).toBe(goFoldName("total_tokens"));
    expect(goFoldName("to\u212aen\u017f")).toBe(goFoldName("tokens"));
    expect(goFoldName("ap\u0131s")).not.toBe(goFoldName("apis"));
  });

  it("replaces lone surrogates with U+FFFD and keeps pairs", () => {
    expect(toWellFormed("a\ud800b\udc00c\ud83d\ude00")).toBe("a\ufffdb\ufffdc\ud83d\ude00");
  });
});
