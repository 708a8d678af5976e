import { describe, expect, it } from "vitest";
import { PartialAuditEventSchema } from "@vigil/core";
import { geoOfRecord, IpGeo, ipGeoFromConfig, openIpGeo, shippedGeoDatabases } from "./ip-geo.js";

// The shipped DB-IP Lite City databases (a pinned version: these places do not move under the test).
const geo = openIpGeo();

describe("IP enrichment", () => {
  it("locates public IPv4 and IPv6 addresses (and IPv4-mapped IPv6) in the shipped databases", () => {
    expect(geo.lookup("81.2.69.160")).toMatchObject({ country: "GB", city: "London" });
    const google = geo.lookup("8.8.8.8")!;
    expect(google).toMatchObject({ country: "US", city: "Mountain View" });
    expect(google.latitude).toBeCloseTo(37.42, 1);
    expect(google.longitude).toBeCloseTo(-122.08, 1);
    expect(geo.lookup("::ffff:8.8.8.8")).toEqual(google);
    expect(geo.lookup("2001:4860:4860::8888")).toMatchObject({ country: "CA", city: "Montreal" });
  });

  it("gives private, reserved and malformed addresses no location, and never throws", () => {
    for (const ip of [
      "10.1.2.3",
      "192.168.0.1",
      "172.16.5.4",
      "127.0.0.1",
      "100.64.0.1",
      "169.254.1.1",
      "203.0.113.9",
      "198.51.100.7",
      "192.0.2.1",
      "0.0.0.0",
      "255.255.255.255",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fc00::1",
      "2001:db8::1",
      "::ffff:10.0.0.1",
      "",
      "not an ip",
      "1.2.3.4:443",
      "999.1.1.1",
      "0x7f.1",
      "1.2.3",
      "8.8.8.8 ",
      "[2001:4860:4860::8888]",
    ]) {
      expect(geo.lookup(ip), ip).toBeUndefined();
    }
  });

  it("adds geo to events with a located IP, keeps an event's own geo, and leaves the others as they are", () => {
    const event = (fields: Record<string, unknown>) =>
      PartialAuditEventSchema.parse({ id: "e", time: "2026-03-01T10:00:00Z", ...fields });
    const located = geo.enrich(event({ ip: "81.2.69.160" }));
    expect(located.geo).toMatchObject({ country: "GB", city: "London" });
    const own = event({ ip: "81.2.69.160", geo: { country: "FR" } });
    expect(geo.enrich(own)).toBe(own);
    for (const plain of [event({}), event({ ip: "10.0.0.1" }), event({ ip: "garbage" })])
      expect(geo.enrich(plain)).toBe(plain);
  });

  it("keeps at most cacheSize addresses, dropping the least recently used", () => {
    const small = new IpGeo({ cacheSize: 2 });
    const first = small.lookup("8.8.8.8");
    expect(small.lookup("8.8.8.8")).toBe(first); // kept: the same object
    small.lookup("1.1.1.1");
    small.lookup("8.8.8.8"); // used again: 1.1.1.1 is now the least recent
    small.lookup("81.2.69.160"); // evicts 1.1.1.1, not 8.8.8.8
    expect(small.lookup("8.8.8.8")).toBe(first);
    const again = small.lookup("1.1.1.1");
    const evicted = small.lookup("81.2.69.160"); // 81.2.69.160 was evicted by 1.1.1.1's return
    expect(again).toMatchObject({ country: "AU" });
    expect(evicted).toMatchObject({ country: "GB" });
    expect(small.lookup("8.8.8.8")).not.toBe(first); // evicted in turn, looked up afresh
    expect(small.lookup("8.8.8.8")).toEqual(first);
  });

  it("reads the databases the config names, in order, and says which file it cannot read", () => {
    const [v4, v6] = shippedGeoDatabases();
    const onlyV6 = new IpGeo({ databases: [v6!] });
    expect(onlyV6.lookup("2001:4860:4860::8888")).toMatchObject({ country: "CA" });
    const onlyV4 = new IpGeo({ databases: [v4!] });
    expect(onlyV4.lookup("2001:4860:4860::8888")).toBeUndefined(); // an IPv4 database holds no IPv6 address
    expect(() => new IpGeo({ databases: ["/nonexistent/GeoIP2-City.mmdb"] })).toThrow(
      /engine\.geoip\.databases: cannot read \/nonexistent\/GeoIP2-City\.mmdb as a MaxMind DB/,
    );
    expect(ipGeoFromConfig({ enabled: false })).toBeUndefined();
    expect(ipGeoFromConfig({ enabled: true })).toBe(ipGeoFromConfig({ enabled: true }));
  });

  it("reads MaxMind GeoIP2/GeoLite2 City and ASN records as well as ip-location-db's", () => {
    expect(
      geoOfRecord({
        country: { iso_code: "DE" },
        city: { names: { en: "Berlin" } },
        location: { latitude: 52.52, longitude: 13.4, accuracy_radius: 20 },
      }),
    ).toEqual({ country: "DE", city: "Berlin", latitude: 52.52, longitude: 13.4, accuracyRadius: 20 });
    expect(
      geoOfRecord({ autonomous_system_number: 3320, autonomous_system_organization: "Deutsche Telekom AG" }),
    ).toEqual({ asn: 3320, asOrganization: "Deutsche Telekom AG" });
    expect(geoOfRecord({ registered_country: { iso_code: "NL" } })).toEqual({ country: "NL" });
    expect(geoOfRecord({ country_code: "JP", city: "Tokyo", latitude: 35.7, longitude: 139.7 })).toEqual({
      country: "JP",
      city: "Tokyo",
      latitude: 35.7,
      longitude: 139.7,
    });
  });
});
