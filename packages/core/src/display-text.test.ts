import { describe, expect, it } from "vitest";
import { escapeControlChars, oneLineUntrusted, quoteUntrusted } from "./display-text.js";
import { seededRandom } from "./seeded-random.js";

const STEERING = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;
const ALPHABET = [
  "a",
  "Z",
  " ",
  '"',
  "\\",
  "\n",
  "\r",
  "\t",
  "\u001b",
  "\u0007",
  "\u009b",
  "\u0085",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u2066",
  "\ufeff",
  "\u0000",
  "\u007f",
  "é",
  "😀",
];

function randomText(random: () => number, maxLength: number): string {
  const length = Math.floor(random() * maxLength);
  return Array.from({ length }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join("");
}

/** Reads back a quoted value: its escapes are JSON's. */
const unquote = (quoted: string): string => JSON.parse(quoted) as string;

describe("display text", () => {
  it("over random text, quoted values hold no control character, stay one quoted string and read back as the input", () => {
    const random = seededRandom(16);
    for (let i = 0; i < 2_000; i++) {
      const text = randomText(random, 60);
      const quoted = quoteUntrusted(text, 100);
      expect(quoted).not.toMatch(STEERING);
      expect(quoted).toMatch(/^"(?:[^"\\]|\\.)*"$/);
      expect(unquote(quoted)).toBe(text);
      expect(oneLineUntrusted(text)).not.toMatch(STEERING);
    }
  });

  it("cuts at the given number of characters, never inside a surrogate pair, and says how many were left out", () => {
    expect(quoteUntrusted("😀".repeat(5), 3)).toBe('"😀😀😀"… (2 more characters)');
    expect(oneLineUntrusted(`ab\ncd`, 3)).toBe("ab\\n… (2 more characters)");
  });

  it("keeps line feeds only when asked", () => {
    expect(escapeControlChars("a\nb\u001b[2J\r", { keepNewlines: true })).toBe("a\nb\\u001b[2J\\r");
    expect(escapeControlChars("a\nb")).toBe("a\\nb");
  });
});
