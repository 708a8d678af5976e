import { ConnectorError } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readWholePage, splitRecords } from "./provider-http.js";

const Schema = z.object({ id: z.string(), at: z.string() });
const split = (rows: unknown[]) => splitRecords("src", "GET /logs page=2", Schema, rows, "data");

describe("reading a page record by record", () => {
  it("keeps the good records with their rows and refuses the malformed ones, naming page, record and field", () => {
    const { records, refused } = split([{ id: "a", at: "t" }, { id: "b" }, "junk"]);
    expect(records).toEqual([{ value: { id: "a", at: "t" }, raw: { id: "a", at: "t" } }]);
    expect(refused.map((r) => [r.field, r.raw, r.position, r.format])).toEqual([
      ["data.1.at", '{"id":"b"}', "GET /logs page=2", "provider-record"],
      ["data.2", '"junk"', "GET /logs page=2", "provider-record"],
    ]);
    expect(refused[0]?.reason).toBe(
      "source src: GET /logs page=2: malformed response (record id b): data.1.at: is required (string)",
    );
  });

  it("refuses only what two reads in a row find malformed the same way", async () => {
    const reads = [[{ id: "a" }], [{ id: "a" }]];
    let n = 0;
    const result = await readWholePage("src", "GET /logs page=2", async () => split(reads[n++] ?? []));
    expect(n).toBe(2);
    expect(result.refused).toHaveLength(1);
  });

  it("takes a clean read after a corrupted one, and gives up retryable when reads keep differing", async () => {
    const clean = [{ id: "a", at: "t" }];
    let n = 0;
    const healed = await readWholePage("src", "p", async () => split(n++ === 0 ? [{ id: "a" }] : clean));
    expect(healed.refused).toEqual([]);
    expect(healed.records).toHaveLength(1);

    let m = 0;
    const differing = readWholePage("src", "p", async () => split([{ id: `x${m++}` }]));
    await expect(differing).rejects.toBeInstanceOf(ConnectorError);
    await expect(differing).rejects.toMatchObject({ retryable: true });
    expect(m).toBe(3);
  });
});
