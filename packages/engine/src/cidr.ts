import { BlockList, isIP } from "node:net";

/** `a.b.c.d/n`, an IPv6 prefix, or a single address. */
function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** Why `text` is not a CIDR range (or single address); undefined when it is one. */
export function cidrProblem(text: unknown): string | undefined {
  if (typeof text !== "string") return `${JSON.stringify(text)} is not an address range (text such as 10.0.0.0/8)`;
  return parseCidr(text) ? undefined : `"${text}" is not an address range such as 10.0.0.0/8 or 2001:db8::/32`;
}

const lists = new Map<string, BlockList>();
function blockListOf(ranges: readonly unknown[]): BlockList {
  const key = ranges.join(",");
  let list = lists.get(key);
  if (!list) {
    list = new BlockList();
    for (const range of ranges) {
      const cidr = typeof range === "string" ? parseCidr(range) : undefined;
      if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    if (lists.size < 1_000) lists.set(key, list);
  }
  return list;
}

/** `in_cidr`: the address lies in one of the ranges (one range, or a list of them); false for anything not an address. */
export function inCidr(address: unknown, ranges: unknown): boolean {
  if (typeof address !== "string") return false;
  const version = isIP(address);
  if (version === 0) return false;
  const list = blockListOf(Array.isArray(ranges) ? ranges : [ranges]);
  return list.check(address, version === 4 ? "ipv4" : "ipv6");
}
