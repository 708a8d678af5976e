import Mustache from "mustache";
import { describe, expect, it } from "vitest";
import { makeAlert } from "../../testing/alert.fixture.js";
import { renderAlertEmail } from "./alert-email.template.js";

describe("renderAlertEmail", () => {
  it("escapes HTML in the HTML part and shows values as quoted event data in the text part", () => {
    const title = `<script>alert("x")</script> & co`;
    const email = renderAlertEmail(
      makeAlert({ title, events: [{ id: "e1", time: "2026-01-31T12:00:00Z", action: "<img src=x onerror=1>" }] }),
    );

    expect(email.html).not.toContain("<script>");
    expect(email.html).not.toContain("<img src=x");
    expect(email.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt; &amp; co");
    expect(email.html).toContain("&lt;img src&#x3D;x onerror&#x3D;1&gt;");
    expect(email.text).toContain(`[HIGH] "<script>alert(\\"x\\")</script> & co"`);
    expect(email.text).toContain('"<img src=x onerror=1>"');
    expect(email.subject).toBe(`[HIGH] ${title}`);
  });

  it("shows the evidence, what to do next and the alert's fields in both parts", () => {
    const alert = makeAlert({ runbook: "https://runbooks.example.com/deletion" });
    const { text, html } = renderAlertEmail(alert);
    // The text part quotes each value from the events; the HTML part escapes them.
    for (const [part, encode, quote] of [
      [text, (plain: string) => plain, (value: string) => `"${value}"`],
      [html, Mustache.escape, (value: string) => value],
    ] as const) {
      for (const expected of [
        "Mass user deletion",
        "zendesk.mass-user-deletion",
        `actor.id=${quote("u-42")}`,
        "10 events in 5 m (2026-01-31 12:00:00 UTC to 12:05:00 UTC)",
        "attack.impact, T1531",
        `2026-01-31 12:00:10 UTC ${quote("destroy")} by ${quote("agent@example.com")} on ${quote("user 7")} from ${quote("203.0.113.9")}`,
        "zendesk-prod:1001, zendesk-prod:1002 and 8 more",
        "https://runbooks.example.com/deletion",
        `vigil alerts show ${alert.id}`,
        alert.id,
      ]) {
        expect(part).toContain(encode(expected));
      }
    }
    expect(text).toContain(
      `vigil silence add --match ruleId=zendesk.mass-user-deletion --match actor.id=u-42 --for 2h --reason "…"`,
    );
    expect(html).toContain('<a href="https:&#x2F;&#x2F;runbooks.example.com&#x2F;deletion">');
  });

  it("keeps the subject on one line and says when there is no event summary", () => {
    const email = renderAlertEmail(
      makeAlert({ title: "two\r\nlines", severity: "critical", events: [], groupKey: {} }),
    );
    expect(email.subject).toBe("[CRITICAL] two\\r\\nlines");
    expect(email.text).toContain("(no event summary)");
    expect(email.text).toContain("Group:    (none)");
    expect(email.html).toContain("(no event summary)");
  });

  it("renders any kind's evidence first: a sequence's chain, a new value, and other kinds generically", () => {
    const sequence = renderAlertEmail(
      makeAlert({
        kind: "sequence",
        evidence: {
          kind: "sequence",
          chain: [
            { name: "failures", eventIds: ["zendesk-prod:1001", "zendesk-prod:1002"] },
            { name: "success", eventIds: ["p:3"] },
          ],
        },
      }),
    );
    expect(sequence.text).toContain(
      'Sequence of 2 steps in 5 m:\n  1. failures: 2026-01-31 12:00:10 UTC "destroy" by "agent@example.com" on "user 7" from "203.0.113.9" (+1 more)\n  2. success: "p:3"\n',
    );
    expect(sequence.html).toContain("<li>2. success: p:3</li>");
    const newValue = renderAlertEmail(
      makeAlert({
        kind: "newValue",
        evidence: { kind: "newValue", value: { ip: "<b>198.51.100.7</b>" }, lastSeen: "2026-01-01T00:00:00.000Z" },
      }),
    );
    expect(newValue.text).toContain('New value:\n  ip = "<b>198.51.100.7</b>"\n  last seen 2026-01-01 00:00:00 UTC\n');
    expect(newValue.html).toContain("ip &#x3D; &lt;b&gt;198.51.100.7&lt;&#x2F;b&gt;");
    const travel = renderAlertEmail(
      makeAlert({
        kind: "travel",
        evidence: { kind: "travel", from: { city: "Paris", latitude: 48.8 }, distanceKm: 9_000, speedKmh: 4_500 },
      }),
    );
    expect(travel.text).toContain(
      'Evidence (travel):\n  from: city="Paris"  latitude=48.8\n  distanceKm: 9000\n  speedKmh: 4500\n',
    );
  });

  it("puts each event value and the title on one line, controls escaped, cut at 200 characters", () => {
    const forged = "a\rb\nc\u2028d\u2029e\u0085f\u001b]8;;https://evil.example\u0007g\u009bh\u202Ei\tj\u0000k";
    const email = renderAlertEmail(
      makeAlert({
        title: `${"t".repeat(210)}\nSeverity: low`,
        groupKey: { "actor.id": forged },
        events: [{ id: "e1\ne2", time: "2026-01-31T12:00:00Z", action: "x", actor: "a".repeat(250), target: forged }],
        eventIds: ["e1\ne2"],
      }),
    );
    const escaped = String.raw`"a\rb\nc\u2028d\u2029e\u0085f\u001b]8;;https://evil.example\u0007g\u009bh\u202ei\tj\u0000k"`;
    expect(email.text).toContain(`Group:    actor.id=${escaped}`);
    expect(email.text).toContain(`on ${escaped}`);
    expect(email.text).toContain(`by "${"a".repeat(200)}"… (50 more characters)`);
    expect(email.text).toContain(`[HIGH] "${"t".repeat(200)}"… (24 more characters)`);
    expect(email.subject).toBe(`[HIGH] ${"t".repeat(200)}… (24 more characters)`);
    expect(email.text).toContain(String.raw`Event ids: e1\ne2`);
    // Nothing from the event opens a line or steers a terminal: only the template's own line breaks remain.
    expect(email.text).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u2028\u2029\u202E]/);
    expect(email.text.split("\n").filter((line) => line.startsWith("Severity:"))).toEqual(["Severity: high"]);
  });
});
