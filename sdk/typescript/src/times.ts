// Time arithmetic on the standards' instants: milliseconds since the Unix
// epoch, in UTC, as `bigint` (WIT `s64`, which jco maps to bigint). As the
// Rust SDK's `time` module.

/** One second in milliseconds. */
export const SECOND = 1_000n;
/** One minute in milliseconds. */
export const MINUTE = 60n * SECOND;
/** One hour in milliseconds. */
export const HOUR = 60n * MINUTE;
/** One day in milliseconds. */
export const DAY = 24n * HOUR;

/** Floor division (bigint `/` truncates toward zero). */
function divEuclid(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

/** The start (00:00 UTC) of the day an instant falls in. */
export function startOfDay(instant: bigint): bigint {
  return divEuclid(instant, DAY) * DAY;
}

/** The number of whole days from one day's start to another's. */
export function daysBetween(from: bigint, to: bigint): bigint {
  return (startOfDay(to) - startOfDay(from)) / DAY;
}

/** Days since 1970-01-01 for a civil date (proleptic Gregorian). */
export function daysFromCivil(year: number, month: number, day: number): bigint {
  return BigInt(Date.UTC(year, month - 1, day)) / DAY;
}

/** The instant of the start (00:00 UTC) of a `YYYY-MM-DD` date, or undefined for a date that does not exist. */
export function parseDate(date: string): bigint | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(date);
  if (m === null) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  // Reject dates such as 2025-02-30 that roll over into the next month.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    return undefined;
  }
  return BigInt(ms);
}

/** The `YYYY-MM-DD` (UTC) date of an instant. */
export function formatDate(instant: bigint): string {
  return new Date(Number(instant)).toISOString().slice(0, 10);
}

/** The `YYYY-MM-DD HH:MM` (UTC) date and time of an instant, for messages. */
export function formatDateTime(instant: bigint): string {
  const iso = new Date(Number(instant)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** Whole years of age at `at` for someone born on `birthDate` (`YYYY-MM-DD`); undefined if the date cannot be read. */
export function ageInYears(birthDate: string, at: bigint): number | undefined {
  const born = parseDate(birthDate);
  if (born === undefined) return undefined;
  const b = new Date(Number(born));
  const n = new Date(Number(startOfDay(at)));
  const hadBirthday =
    n.getUTCMonth() > b.getUTCMonth() ||
    (n.getUTCMonth() === b.getUTCMonth() && n.getUTCDate() >= b.getUTCDate());
  return n.getUTCFullYear() - b.getUTCFullYear() - (hadBirthday ? 0 : 1);
}
