import { describe, expect, it } from "vitest";
import { makeAlert } from "../../testing/alert.fixture.js";
import { renderAlertEmail } from "./alert-email.template.js";

describe("renderAlertEmail", () => {
  it("escapes HTML in the HTML part and quotes event data in the text part", () => {
    const title = `<script>alert("x")</script> & co`;
    const email = renderAlertEmail(
      makeAlert({ title, events: [{ id: "e1", time: "2026-01-31T12:00:00Z", action: "<img src=x onerror=1>" }] }),
    );

    expect(email.html).not.toContain("<script>");
    expect(email.html).not.toContain("<img src=x");
    expect(email.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt; &amp; co");
    expect(email.html).toContain("&lt;img src&#x3D;x onerror&#x3D;1&gt;");
    expect(email.text).toContain(`[HIGH] "<script>alert(\\"x\\")</script> & co"`);
    expect(email.text).toContain(`"<img src=x onerror=1>"`);
    expect(email.subject).toBe(`[HIGH] ${title}`);
  });

  it("shows the alert's fields and its events in both parts", () => {
    const alert = makeAlert();
    const { text, html } = renderAlertEmail(alert);
    for (const part of [text, html]) {
      for (const expected of [
        "Mass user deletion",
        "zendesk.mass-user-deletion",
        "high",
        "u-42",
        "10",
        "2026-01-31T12:00:00.000Z",
        "2026-01-31T12:05:00.000Z",
        "attack.impact, T1531",
        "zendesk-prod:1001",
        "zendesk-prod:1002",
        "203.0.113.9",
        "user 8",
        alert.id,
      ]) {
        expect(part).toContain(expected);
      }
    }
    expect(text).toContain('Group:     actor.id="u-42"');
    expect(text).toContain(
      '- 2026-01-31T12:00:10.000Z  "destroy"  actor: "agent@example.com"  target: "user 7"  ip: "203.0.113.9"  id: "zendesk-prod:1001"',
    );
    expect(html).toContain(
      "<tr><td>2026-01-31T12:00:20.000Z</td><td>destroy</td><td>agent@example.com</td><td>user 8</td><td>-</td>",
    );
  });

  it("keeps the subject on one line and says when there is no event summary", () => {
    const email = renderAlertEmail(
      makeAlert({ title: "two\r\nlines", severity: "critical", events: [], groupKey: {} }),
    );
    expect(email.subject).toBe("[CRITICAL] two\\r\\nlines");
    expect(email.text).toContain("(no event summary)");
    expect(email.text).toContain("Group:     (none)");
    expect(email.html).toContain("(no event summary)");
  });

  it("renders any kind's evidence generically in both parts, and nothing when there is none", () => {
    const sequence = renderAlertEmail(
      makeAlert({
        evidence: {
          kind: "sequence",
          chain: [
            { name: "failures", eventIds: ["p:1", "p:2"] },
            { name: "success", eventIds: ["p:3"] },
          ],
        },
      }),
    );
    expect(sequence.text).toContain(
      'Evidence (sequence):\n  chain 1: "name=failures  eventIds=p:1, p:2"\n  chain 2: "name=success  eventIds=p:3"\n',
    );
    expect(sequence.html).toContain(
      '<tr><th align="left">chain 1</th><td>name&#x3D;failures  eventIds&#x3D;p:1, p:2</td></tr>',
    );
    const newValue = renderAlertEmail(
      makeAlert({
        evidence: { kind: "newValue", value: { ip: "<b>198.51.100.7</b>" }, lastSeen: "2026-01-01T00:00:00.000Z" },
      }),
    );
    expect(newValue.text).toContain(
      'Evidence (newValue):\n  value: "ip=<b>198.51.100.7</b>"\n  lastSeen: "2026-01-01T00:00:00.000Z"\n',
    );
    expect(newValue.html).toContain("ip&#x3D;&lt;b&gt;198.51.100.7&lt;&#x2F;b&gt;");
    const plain = renderAlertEmail(makeAlert());
    expect(plain.text).not.toContain("Evidence");
    expect(plain.html).not.toContain("Evidence");
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
    expect(email.text).toContain(`Group:     actor.id=${escaped}`);
    expect(email.text).toContain(`target: ${escaped}`);
    expect(email.text).toContain(`actor: "${"a".repeat(200)}"… (50 more characters)`);
    expect(email.text).toContain(`[HIGH] "${"t".repeat(200)}"… (24 more characters)`);
    expect(email.subject).toBe(`[HIGH] ${"t".repeat(200)}… (24 more characters)`);
    expect(email.text).toContain('- "e1\\ne2"');
    // Nothing from the event opens a line or steers a terminal: only the template's own line breaks remain.
    expect(email.text).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u2028\u2029\u202E]/);
    expect(email.text.split("\n").filter((line) => line.startsWith("Severity:"))).toEqual(["Severity:  high"]);
  });
});
