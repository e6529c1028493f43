// IPv4 arithmetic for validation and planning. Addresses are plain unsigned 32-bit numbers so
// that containment and overlap are integer comparisons.

export interface Cidr {
  /** Network address (host bits zero). */
  network: number;
  prefix: number;
  /** Last address of the block (the broadcast address for prefixes below 31). */
  last: number;
}

/** An inclusive address interval, used for MetalLB pools given as "A-B" or as a CIDR. */
export interface AddressRange {
  first: number;
  last: number;
}

const OCTET = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Parses dotted-quad notation; returns null for anything else (no leading zeros, no shorthand). */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses "a.b.c.d/len". With `strict`, host bits must be zero (10.244.0.1/16 is refused). */
export function parseCidr(text: string, strict = true): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = parseIPv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === null || !/^(3[0-2]|[12]?[0-9])$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  if (strict && network !== address) return null;
  return { network, prefix, last: network + size - 1 };
}

export function cidrToText(cidr: Cidr): string {
  return `${formatIPv4(cidr.network)}/${cidr.prefix}`;
}

export function contains(range: AddressRange | Cidr, address: number): boolean {
  const first = 'first' in range ? range.first : range.network;
  return address >= first && address <= range.last;
}

export function asRange(cidr: Cidr): AddressRange {
  return { first: cidr.network, last: cidr.last };
}

export function overlaps(a: AddressRange, b: AddressRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** Parses a MetalLB pool entry: "192.168.1.210-192.168.1.215" or "192.168.1.208/29". */
export function parseAddressPool(text: string): AddressRange | null {
  if (text.includes('/')) {
    const cidr = parseCidr(text);
    return cidr ? asRange(cidr) : null;
  }
  const [from, to, extra] = text.split('-');
  if (from === undefined || to === undefined || extra !== undefined) return null;
  const first = parseIPv4(from.trim());
  const last = parseIPv4(to.trim());
  if (first === null || last === null || first > last) return null;
  return { first, last };
}

/** Host addresses usable on a LAN block: not the network or broadcast address (for /31 and /32 all are). */
export function isHostAddress(cidr: Cidr, address: number): boolean {
  if (!contains(cidr, address)) return false;
  if (cidr.prefix >= 31) return true;
  return address !== cidr.network && address !== cidr.last;
}
