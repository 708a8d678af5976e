import { describe, expect, it } from "vitest";
import { makeAlert } from "../../testing/alert.fixture.js";
import { measureInChromium } from "../../testing/chromium.js";
import { renderAlertEmail, renderNotificationEmail } from "./alert-email.template.js";

const PHONE = 390;
const DESKTOP = 1280;

describe("the alert email in a real browser (headless Chromium)", () => {
  it("lays out without horizontal overflow at 390 px and at desktop width, however long its words", async () => {
    const unbroken = "x".repeat(300);
    const alerts = [
      makeAlert({ runbook: "https://runbooks.example.com/mass-deletion" }),
      makeAlert({
        kind: "sequence",
        title: `Password spray then SAML change by ${unbroken}@example.com`,
        groupKey: { "actor.email": `${unbroken}@example.com`, "target.id": unbroken },
        evidence: {
          kind: "sequence",
          chain: [
            { name: "spray", eventIds: Array.from({ length: 40 }, (_, i) => `bloodhound-prod:${unbroken}${i}`) },
            { name: "saml-change", eventIds: ["bloodhound-prod:9"] },
          ],
        },
        eventIds: Array.from({ length: 50 }, (_, i) => `bloodhound-prod:${unbroken}${i}`),
        events: [
          { id: `bloodhound-prod:${unbroken}0`, time: "2026-01-31T12:00:00Z", action: "login.failed", actor: unbroken },
          {
            id: "bloodhound-prod:9",
            time: "2026-01-31T12:09:00Z",
            action: "saml.update",
            link: `https://bh.example.com/${unbroken}`,
          },
        ],
        runbook: `https://runbooks.example.com/${unbroken}`,
      }),
    ];
    // Each alert alone, and both as one group's notification.
    const group = renderNotificationEmail({
      id: "g-0",
      alerts: [alerts[0]!, alerts[1]!],
      group: { route: "slack", labels: { "actor.email": `${unbroken}@example.com` } },
    });
    for (const html of [...alerts.map((alert) => renderAlertEmail(alert).html), group.html]) {
      const layouts = await measureInChromium(html, [PHONE, DESKTOP]);
      expect(layouts.map(({ width }) => width)).toEqual([PHONE, DESKTOP]);
      for (const layout of layouts) {
        expect(layout.clientWidth).toBe(layout.width);
        expect(layout.scrollWidth, `overflow at ${layout.width} px`).toBeLessThanOrEqual(layout.clientWidth);
      }
    }
  }, 120_000);

  it("would catch an email that overflows a phone (the measurement is real)", async () => {
    const [phone] = await measureInChromium('<!doctype html><div style="width: 600px">wide</div>', [PHONE]);
    expect(phone?.scrollWidth).toBeGreaterThan(PHONE);
  }, 60_000);
});
