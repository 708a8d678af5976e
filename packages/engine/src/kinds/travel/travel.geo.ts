/** Where an event was, as the travel kind keeps it (its update's data, JSON). */
export interface Located {
  ip: string;
  /** Degrees. */
  lat: number;
  lon: number;
  /** Accuracy radius, km (0 when the database gives none). */
  acc: number;
  country?: string;
  city?: string;
}

export interface TravelParams {
  horizon: number;
  /** km/h */
  maxSpeed: number;
  /** km */
  minDistance: number;
}

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Great-circle distance (haversine), km; travel.lua computes it the same way. */
function distanceKm(a: Pick<Located, "lat" | "lon">, b: Pick<Located, "lat" | "lon">): number {
  const s1 = Math.sin(((b.lat - a.lat) * RAD) / 2);
  const s2 = Math.sin(((b.lon - a.lon) * RAD) / 2);
  const h = Math.min(1, s1 * s1 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * s2 * s2);
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(h));
}

/**
 * A pair's journey: the distance less both accuracy radii, and the speed over the time between
 * the two events counted as at least a minute.
 */
export function journey(a: Located, ta: number, b: Located, tb: number): { distance: number; speed: number } {
  const distance = distanceKm(a, b) - a.acc - b.acc;
  const hours = Math.max(Math.abs(tb - ta), MINUTE_MS) / HOUR_MS;
  return { distance, speed: distance / hours };
}

/** The definition: two located events with different IPs, at most `horizon` apart, too far apart for the time between them. */
export function isImpossible(params: TravelParams, a: Located, ta: number, b: Located, tb: number): boolean {
  if (a.ip === b.ip || Math.abs(tb - ta) > params.horizon) return false;
  const { distance, speed } = journey(a, ta, b, tb);
  return distance > 0 && distance >= params.minDistance && speed > params.maxSpeed;
}
