import Mustache from "mustache";
import { describe, expect, it } from "vitest";
import { makeAlert } from "../../testing/alert.fixture.js";
import { renderAlertEmail } from "./alert-email.template.js";

describe("renderAlertEmail", () => {
  it("escapes HTML in the HTML part and keeps the text part verbatim", () => {
    const title = `<script>alert("x")</script> & co`;
    const email = renderAlertEmail(
      makeAlert({ title, events: [{ id: "e1", time: "2026-01-31T12:00:00Z", action: "<img src=x onerror=1>" }] }),
    );

    expect(email.html).not.toContain("<script>");
    expect(email.html).not.toContain("<img src=x");
    expect(email.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt; &amp; co");
    expect(email.html).toContain("&lt;img src&#x3D;x onerror&#x3D;1&gt;");
    expect(email.text).toContain(title);
    expect(email.text).toContain("<img src=x onerror=1>");
    expect(email.subject).toBe(`[HIGH] ${title}`);
  });

  it("shows the evidence, what to do next and the alert's fields in both parts", () => {
    const alert = makeAlert({ runbook: "https://runbooks.example.com/deletion" });
    const { text, html } = renderAlertEmail(alert);
    for (const [part, encode] of [
      [text, (plain: string) => plain],
      [html, Mustache.escape],
    ] as const) {
      for (const expected of [
        "Mass user deletion",
        "zendesk.mass-user-deletion",
        "actor.id=u-42",
        "10 events in 5 m (2026-01-31 12:00:00 UTC to 12:05:00 UTC)",
        "attack.impact, T1531",
        "2026-01-31 12:00:10 UTC destroy by agent@example.com on user 7 from 203.0.113.9",
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
    expect(email.subject).toBe("[CRITICAL] two lines");
    expect(email.text).toContain("(no event summary)");
    expect(email.text).toContain("Group:    (none)");
    expect(email.html).toContain("(no event summary)");
  });
});
