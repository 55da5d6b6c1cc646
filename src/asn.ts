/** AS numbers: 32-bit, and never 0, 23456 (AS_TRANS), 65535 or 4294967295. */

/** The AS numbers the registry refuses (RFC 7300, RFC 6793). */
export const RESERVED_ASNS: readonly number[] = [0, 23456, 65535, 4294967295];

/** Parses "64500" or "AS64500" into a number; one clear sentence when it is not an assignable ASN. */
export function parseAsn(text: string | number): number {
  const raw = typeof text === "number" ? String(text) : text.trim();
  const digits = raw.replace(/^AS/i, "");
  if (!/^\d{1,10}$/.test(digits)) {
    throw new Error(`"${raw}" is not an AS number: expected a whole number such as 64500 or AS64500.`);
  }
  const asn = Number(digits);
  if (asn > 4294967295) throw new Error(`AS${digits} is out of range: AS numbers are 32-bit (at most 4294967295).`);
  if (RESERVED_ASNS.includes(asn)) {
    throw new Error(`AS${asn} is reserved and cannot be held (0, 23456, 65535 and 4294967295 are refused).`);
  }
  return asn;
}
