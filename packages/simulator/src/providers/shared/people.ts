import type { SeededRandom } from "@vigil/core";

/** A member of the simulated organization, reused across a provider's records. */
export interface Person {
  firstName: string;
  lastName: string;
  fullName: string;
  email: string;
  /** Lower-case handle, e.g. `mgarcia`. */
  handle: string;
  /** The address this person usually works from. */
  homeIp: string;
  /** Admins do the rare, sensitive things (role changes, token creation). */
  admin: boolean;
}

const FIRST_NAMES = [
  "Ada",
  "Grace",
  "Alan",
  "Maria",
  "Kenji",
  "Amara",
  "Lucas",
  "Priya",
  "Noah",
  "Sofia",
  "Mateo",
  "Chen",
  "Fatima",
  "Oliver",
  "Ingrid",
  "Tariq",
  "Elena",
  "Kwame",
  "Hana",
  "Diego",
  "Zoe",
  "Ravi",
  "Leila",
  "Tomasz",
];
const LAST_NAMES = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Garcia",
  "Tanaka",
  "Okafor",
  "Silva",
  "Raman",
  "Becker",
  "Rossi",
  "Lopez",
  "Wei",
  "Haddad",
  "Brown",
  "Larsen",
  "Aziz",
  "Petrova",
  "Mensah",
  "Kim",
  "Fernandez",
  "Novak",
  "Iyer",
  "Moreau",
];

/**
 * Client addresses from the documentation ranges (RFC 5737), so generated data never
 * names a real host, plus office NAT addresses in private space.
 */
function randomPublicIp(rng: SeededRandom): string {
  const prefix = rng.pick(["203.0.113", "198.51.100", "192.0.2"]);
  return `${prefix}.${rng.int(1, 254)}`;
}

export function randomPrivateIp(rng: SeededRandom): string {
  return `10.${rng.int(0, 15)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** `count` distinct people at `domain`; the first two are admins. */
export function createPeople(rng: SeededRandom, count: number, domain: string): Person[] {
  const people: Person[] = [];
  const used = new Set<string>();
  while (people.length < count) {
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    const handle = `${firstName[0] ?? ""}${lastName}`.toLowerCase();
    if (used.has(handle)) continue;
    used.add(handle);
    people.push({
      firstName,
      lastName,
      fullName: `${firstName} ${lastName}`,
      email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}@${domain}`,
      handle,
      homeIp: randomPublicIp(rng),
      admin: people.length < 2,
    });
  }
  return people;
}

/** Mostly a person's usual address, sometimes a new one (travel, VPN, attacker). */
export function ipFor(rng: SeededRandom, person: Person): string {
  return rng.chance(0.85) ? person.homeIp : randomPublicIp(rng);
}

export const USER_AGENTS = [
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
  "python-requests/2.32.3",
  "curl/8.7.1",
] as const;
