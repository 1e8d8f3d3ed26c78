/**
 * Go `time` package semantics for OPA's time builtins: instants are int64 nanoseconds since the
 * Unix epoch (bigint), civil fields use the proleptic Gregorian calendar, layouts follow Go's
 * reference-time notation (`2006-01-02T15:04:05Z07:00`) and parse errors read like Go's.
 * Zone offsets come from Intl (IANA database of the running Node).
 */
import { errorClassWithCode } from '@trustee/errors';

export class GoTimeError extends errorClassWithCode('invalid_time') {}

const NS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;
export const MIN_INT64 = -(1n << 63n);
export const MAX_INT64 = (1n << 63n) - 1n;

const LONG_DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const SHORT_DAY_NAMES = LONG_DAY_NAMES.map((name) => name.slice(0, 3));
const LONG_MONTH_NAMES = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];
const SHORT_MONTH_NAMES = LONG_MONTH_NAMES.map((name) => name.slice(0, 3));

/** Go's named layouts that OPA accepts by name in time.parse_ns / time.format. */
export const NAMED_LAYOUTS: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};
export const RFC3339 = '2006-01-02T15:04:05Z07:00';
export const RFC3339_NANO = '2006-01-02T15:04:05.999999999Z07:00';

// ---------------------------------------------------------------------------------------------
// Civil calendar arithmetic (days since 1970-01-01 <-> y/m/d), exact for any safe integer.

function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** Days since the epoch of a proleptic Gregorian date; month and day may be out of range (normalised like Go's Date). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const monthIndex = month - 1;
  const y = year + floorDiv(monthIndex, 12);
  const m = monthIndex - floorDiv(monthIndex, 12) * 12 + 1;
  const yy = m <= 2 ? y - 1 : y;
  const era = floorDiv(yy, 400);
  const yoe = yy - era * 400;
  const doy = floorDiv(153 * (m + (m > 2 ? -3 : 9)) + 2, 5);
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468 + (day - 1);
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365);
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const day = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysIn(month: number, year: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// ---------------------------------------------------------------------------------------------
// Zones

export interface Zone {
  readonly name: string;
  /** Offset east of UTC in seconds, and the abbreviation, in effect at a Unix second. */
  lookup(unixSeconds: number): { offset: number; abbreviation: string };
}

export const UTC_ZONE: Zone = { name: 'UTC', lookup: () => ({ offset: 0, abbreviation: 'UTC' }) };

export function fixedZone(name: string, offset: number): Zone {
  return { name, lookup: () => ({ offset, abbreviation: name }) };
}

const zoneCache = new Map<string, Zone>();
const ABBREVIATION_LOCALES = ['en-US', 'en-GB', 'en-IN', 'en-AU', 'ja-JP'];
const MAX_DATE_SECONDS = 8.64e12;

function numericAbbreviation(offset: number): string {
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hours = Math.floor(abs / 3600);
  const minutes = Math.floor((abs % 3600) / 60);
  return sign + pad(hours, 2) + (minutes === 0 ? '' : pad(minutes, 2));
}

/** Loads an IANA zone like Go's time.LoadLocation ("" and "UTC" are UTC, "Local" the host zone). */
export function loadZone(name: string): Zone {
  if (name === '' || name === 'UTC') return UTC_ZONE;
  const ianaName = name === 'Local' ? new Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  const cached = zoneCache.get(ianaName);
  if (cached !== undefined) return cached;
  let numeric: Intl.DateTimeFormat;
  let named: Intl.DateTimeFormat[];
  try {
    numeric = new Intl.DateTimeFormat('en-US', {
      timeZone: ianaName, hourCycle: 'h23', era: 'short',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    // tzdata abbreviations (CET, IST, AEDT, JST) are only spelled out by the region's locale.
    named = ABBREVIATION_LOCALES.map((locale) => new Intl.DateTimeFormat(locale, { timeZone: ianaName, timeZoneName: 'short' }));
  } catch {
    throw new GoTimeError(`unknown time zone ${name}`);
  }
  const zone: Zone = {
    name,
    lookup(unixSeconds: number) {
      const clamped = Math.max(-MAX_DATE_SECONDS, Math.min(MAX_DATE_SECONDS, unixSeconds));
      const date = new Date(clamped * 1000);
      const fields: Record<string, string> = {};
      for (const part of numeric.formatToParts(date)) fields[part.type] = part.value;
      let year = Number(fields['year']);
      if (fields['era'] === 'BC' || fields['era'] === 'B') year = 1 - year;
      const local = daysFromCivil(year, Number(fields['month']), Number(fields['day'])) * SECONDS_PER_DAY
        + Number(fields['hour']) * 3600 + Number(fields['minute']) * 60 + Number(fields['second']);
      const offset = local - Math.floor(clamped);
      let abbreviation = numericAbbreviation(offset);
      for (const format of named) {
        const short = format.formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? '';
        if (/^[A-Z]{2,5}$/.test(short) && !(short === 'GMT' && offset !== 0)) {
          abbreviation = short;
          break;
        }
      }
      return { offset, abbreviation };
    },
  };
  zoneCache.set(ianaName, zone);
  return zone;
}

// ---------------------------------------------------------------------------------------------
// Broken-down time

export interface CivilTime {
  year: number; month: number; day: number;
  hour: number; minute: number; second: number; nanosecond: number;
  weekday: number; yearDay: number;
  offset: number; abbreviation: string;
}

function splitNanos(ns: bigint): { seconds: number; nanos: number } {
  let seconds = ns / NS_PER_SECOND;
  let nanos = ns % NS_PER_SECOND;
  if (nanos < 0n) {
    nanos += NS_PER_SECOND;
    seconds -= 1n;
  }
  return { seconds: Number(seconds), nanos: Number(nanos) };
}

/** Breaks an instant (ns since the epoch) into civil fields in a zone. */
export function civilTime(ns: bigint, zone: Zone): CivilTime {
  const { seconds, nanos } = splitNanos(ns);
  const { offset, abbreviation } = zone.lookup(seconds);
  const local = seconds + offset;
  const days = floorDiv(local, SECONDS_PER_DAY);
  const secondOfDay = local - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const weekday = ((days + 4) % 7 + 7) % 7;
  const yearDay = days - daysFromCivil(year, 1, 1) + 1;
  return {
    year, month, day,
    hour: Math.floor(secondOfDay / 3600), minute: Math.floor((secondOfDay % 3600) / 60), second: secondOfDay % 60,
    nanosecond: nanos, weekday, yearDay, offset, abbreviation,
  };
}

/** Go's time.Date: normalises out-of-range fields and resolves local time in the zone; returns ns since the epoch. */
export function dateToNanos(
  year: number, month: number, day: number, hour: number, minute: number, second: number, nanosecond: number, zone: Zone,
): bigint {
  const localSeconds = BigInt(daysFromCivil(year, month, day)) * BigInt(SECONDS_PER_DAY)
    + BigInt(hour * 3600 + minute * 60 + second);
  // Go looks up the offset in effect at (local - offset guess), then re-checks once.
  const guess = Number(localSeconds);
  let offset = zone.lookup(guess).offset;
  const candidate = zone.lookup(guess - offset).offset;
  if (candidate !== offset) {
    const adjusted = zone.lookup(guess - candidate).offset;
    offset = adjusted === candidate ? candidate : offset;
  }
  return (localSeconds - BigInt(offset)) * NS_PER_SECOND + BigInt(nanosecond);
}

/** Go's Time.AddDate in the instant's zone. */
export function addDate(ns: bigint, zone: Zone, years: number, months: number, days: number): bigint {
  const civil = civilTime(ns, zone);
  return dateToNanos(
    civil.year + years, civil.month + months, civil.day + days,
    civil.hour, civil.minute, civil.second, civil.nanosecond, zone,
  );
}

export function inInt64Range(ns: bigint): boolean {
  return ns >= MIN_INT64 && ns <= MAX_INT64;
}

// ---------------------------------------------------------------------------------------------
// Layout tokenizer (Go's nextStdChunk)

type Std =
  | 'none' | 'LongMonth' | 'Month' | 'NumMonth' | 'ZeroMonth' | 'LongWeekDay' | 'WeekDay'
  | 'Day' | 'UnderDay' | 'ZeroDay' | 'UnderYearDay' | 'ZeroYearDay'
  | 'Hour' | 'Hour12' | 'ZeroHour12' | 'Minute' | 'ZeroMinute' | 'Second' | 'ZeroSecond'
  | 'LongYear' | 'Year' | 'PM' | 'pm' | 'TZ'
  | 'ISO8601TZ' | 'ISO8601SecondsTZ' | 'ISO8601ShortTZ' | 'ISO8601ColonTZ' | 'ISO8601ColonSecondsTZ'
  | 'NumTZ' | 'NumSecondsTz' | 'NumShortTZ' | 'NumColonTZ' | 'NumColonSecondsTZ'
  | 'FracSecond0' | 'FracSecond9';

interface Chunk { prefix: string; std: Std; stdText: string; suffix: string; digits: number; separator: string }

const ZERO_X: readonly Std[] = ['ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond', 'Year'];

function startsWithLowerCase(s: string): boolean {
  const c = s.charCodeAt(0);
  return c >= 0x61 && c <= 0x7a;
}

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
}

function nextStdChunk(layout: string): Chunk {
  const chunk = (i: number, std: Std, length: number, digits = 0, separator = ''): Chunk => ({
    prefix: layout.slice(0, i), std, stdText: layout.slice(i, i + length), suffix: layout.slice(i + length), digits, separator,
  });
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const rest = layout.slice(i);
    switch (c) {
      case 'J':
        if (rest.startsWith('Jan')) {
          if (rest.startsWith('January')) return chunk(i, 'LongMonth', 7);
          if (!startsWithLowerCase(rest.slice(3))) return chunk(i, 'Month', 3);
        }
        break;
      case 'M':
        if (rest.startsWith('Mon')) {
          if (rest.startsWith('Monday')) return chunk(i, 'LongWeekDay', 6);
          if (!startsWithLowerCase(rest.slice(3))) return chunk(i, 'WeekDay', 3);
        }
        if (rest.startsWith('MST')) return chunk(i, 'TZ', 3);
        break;
      case '0': {
        const next = rest.charCodeAt(1);
        if (next >= 0x31 && next <= 0x36) return chunk(i, ZERO_X[next - 0x31] as Std, 2);
        if (rest.startsWith('002')) return chunk(i, 'ZeroYearDay', 3);
        break;
      }
      case '1':
        if (rest.startsWith('15')) return chunk(i, 'Hour', 2);
        return chunk(i, 'NumMonth', 1);
      case '2':
        if (rest.startsWith('2006')) return chunk(i, 'LongYear', 4);
        return chunk(i, 'Day', 1);
      case '_':
        if (rest.startsWith('_2')) {
          if (rest.startsWith('_2006')) {
            return { prefix: layout.slice(0, i + 1), std: 'LongYear', stdText: '2006', suffix: layout.slice(i + 5), digits: 0, separator: '' };
          }
          return chunk(i, 'UnderDay', 2);
        }
        if (rest.startsWith('__2')) return chunk(i, 'UnderYearDay', 3);
        break;
      case '3': return chunk(i, 'Hour12', 1);
      case '4': return chunk(i, 'Minute', 1);
      case '5': return chunk(i, 'Second', 1);
      case 'P':
        if (rest.startsWith('PM')) return chunk(i, 'PM', 2);
        break;
      case 'p':
        if (rest.startsWith('pm')) return chunk(i, 'pm', 2);
        break;
      case '-':
        if (rest.startsWith('-070000')) return chunk(i, 'NumSecondsTz', 7);
        if (rest.startsWith('-07:00:00')) return chunk(i, 'NumColonSecondsTZ', 9);
        if (rest.startsWith('-0700')) return chunk(i, 'NumTZ', 5);
        if (rest.startsWith('-07:00')) return chunk(i, 'NumColonTZ', 6);
        if (rest.startsWith('-07')) return chunk(i, 'NumShortTZ', 3);
        break;
      case 'Z':
        if (rest.startsWith('Z070000')) return chunk(i, 'ISO8601SecondsTZ', 7);
        if (rest.startsWith('Z07:00:00')) return chunk(i, 'ISO8601ColonSecondsTZ', 9);
        if (rest.startsWith('Z0700')) return chunk(i, 'ISO8601TZ', 5);
        if (rest.startsWith('Z07:00')) return chunk(i, 'ISO8601ColonTZ', 6);
        if (rest.startsWith('Z07')) return chunk(i, 'ISO8601ShortTZ', 3);
        break;
      case '.':
      case ',': {
        const digit = rest[1];
        if (digit === '0' || digit === '9') {
          let j = 1;
          while (j < rest.length && rest[j] === digit) j++;
          if (!isDigitAt(rest, j)) return chunk(i, digit === '0' ? 'FracSecond0' : 'FracSecond9', j, j - 1, c);
        }
        break;
      }
      default:
        break;
    }
  }
  return { prefix: layout, std: 'none', stdText: '', suffix: '', digits: 0, separator: '' };
}

function pad(n: number, width: number): string {
  const negative = n < 0;
  const digits = String(Math.abs(n)).padStart(width, '0');
  return negative ? `-${digits}` : digits;
}

// ---------------------------------------------------------------------------------------------
// Format

/** Go's Time.Format. */
export function formatTime(ns: bigint, zone: Zone, layout: string): string {
  const t = civilTime(ns, zone);
  let out = '';
  let rest = layout;
  for (;;) {
    const { prefix, std, suffix, digits, separator } = nextStdChunk(rest);
    out += prefix;
    if (std === 'none') break;
    rest = suffix;
    switch (std) {
      case 'Year': out += pad(((t.year % 100) + 100) % 100, 2); break;
      case 'LongYear': out += pad(t.year, 4); break;
      case 'Month': out += SHORT_MONTH_NAMES[t.month - 1]; break;
      case 'LongMonth': out += LONG_MONTH_NAMES[t.month - 1]; break;
      case 'NumMonth': out += String(t.month); break;
      case 'ZeroMonth': out += pad(t.month, 2); break;
      case 'WeekDay': out += SHORT_DAY_NAMES[t.weekday]; break;
      case 'LongWeekDay': out += LONG_DAY_NAMES[t.weekday]; break;
      case 'Day': out += String(t.day); break;
      case 'UnderDay': out += (t.day < 10 ? ' ' : '') + String(t.day); break;
      case 'ZeroDay': out += pad(t.day, 2); break;
      case 'UnderYearDay': out += String(t.yearDay).padStart(3, ' '); break;
      case 'ZeroYearDay': out += pad(t.yearDay, 3); break;
      case 'Hour': out += pad(t.hour, 2); break;
      case 'Hour12': out += String(t.hour % 12 === 0 ? 12 : t.hour % 12); break;
      case 'ZeroHour12': out += pad(t.hour % 12 === 0 ? 12 : t.hour % 12, 2); break;
      case 'Minute': out += String(t.minute); break;
      case 'ZeroMinute': out += pad(t.minute, 2); break;
      case 'Second': out += String(t.second); break;
      case 'ZeroSecond': out += pad(t.second, 2); break;
      case 'PM': out += t.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += t.hour >= 12 ? 'pm' : 'am'; break;
      case 'ISO8601TZ': case 'ISO8601ColonTZ': case 'ISO8601SecondsTZ': case 'ISO8601ShortTZ': case 'ISO8601ColonSecondsTZ':
      case 'NumTZ': case 'NumColonTZ': case 'NumSecondsTz': case 'NumShortTZ': case 'NumColonSecondsTZ':
        out += formatOffset(std, t.offset);
        break;
      case 'TZ':
        out += t.abbreviation !== '' ? t.abbreviation : numericAbbreviation(t.offset);
        break;
      case 'FracSecond0': {
        out += separator + String(t.nanosecond).padStart(9, '0').slice(0, digits);
        break;
      }
      case 'FracSecond9': {
        const fraction = String(t.nanosecond).padStart(9, '0').slice(0, digits).replace(/0+$/, '');
        if (fraction !== '') out += separator + fraction;
        break;
      }
      default: break;
    }
  }
  return out;
}

function formatOffset(std: Std, offset: number): string {
  if (std.startsWith('ISO8601') && offset === 0) return 'Z';
  let zone = Math.trunc(offset / 60);
  let absOffset = offset;
  let out = '';
  if (zone < 0) {
    out += '-';
    zone = -zone;
    absOffset = -absOffset;
  } else {
    out += '+';
  }
  const colon = std === 'ISO8601ColonTZ' || std === 'NumColonTZ' || std === 'ISO8601ColonSecondsTZ' || std === 'NumColonSecondsTZ';
  out += pad(Math.floor(zone / 60), 2);
  if (colon) out += ':';
  if (std !== 'NumShortTZ' && std !== 'ISO8601ShortTZ') out += pad(zone % 60, 2);
  if (std === 'ISO8601SecondsTZ' || std === 'NumSecondsTz' || std === 'NumColonSecondsTZ' || std === 'ISO8601ColonSecondsTZ') {
    if (colon) out += ':';
    out += pad(absOffset % 60, 2);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parse

/** Go's strconv.Quote for the ASCII/Unicode text that appears in parse errors. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function parseError(layout: string, value: string, layoutElem: string, valueElem: string, message: string): GoTimeError {
  if (message !== '') return new GoTimeError(`parsing time ${goQuote(value)}${message}`);
  return new GoTimeError(
    `parsing time ${goQuote(value)} as ${goQuote(layout)}: cannot parse ${goQuote(valueElem)} as ${goQuote(layoutElem)}`,
  );
}

class Bad extends errorClassWithCode('invalid_time_field') {}

function getNum(s: string, fixed: boolean): [number, string] {
  if (!isDigitAt(s, 0)) throw new Bad();
  if (!isDigitAt(s, 1)) {
    if (fixed) throw new Bad();
    return [s.charCodeAt(0) - 0x30, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 0x30) * 10 + (s.charCodeAt(1) - 0x30), s.slice(2)];
}

function getNum3(s: string, fixed: boolean): [number, string] {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + s.charCodeAt(i) - 0x30;
  if (i === 0 || (fixed && i !== 3)) throw new Bad();
  return [n, s.slice(i)];
}

function cutSpace(s: string): string {
  let i = 0;
  while (i < s.length && s[i] === ' ') i++;
  return s.slice(i);
}

function skip(value: string, prefix: string): string {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === ' ') {
      if (v.length > 0 && v[0] !== ' ') throw new Bad();
      p = cutSpace(p);
      v = cutSpace(v);
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) throw new Bad();
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

function lookupName(table: readonly string[], value: string): [number, string] {
  for (let i = 0; i < table.length; i++) {
    const name = table[i] as string;
    if (value.length >= name.length && value.slice(0, name.length).toLowerCase() === name.toLowerCase()) {
      return [i, value.slice(name.length)];
    }
  }
  throw new Bad();
}

function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Bad();
  return Number.parseInt(s, 10);
}

function parseNanoseconds(value: string, nbytes: number): { nanos: number; rangeError: string } {
  if (value[0] !== '.' && value[0] !== ',') throw new Bad();
  let digits = value.slice(1, nbytes);
  if (nbytes > 10) digits = value.slice(1, 10);
  if (!/^[0-9]+$/.test(digits)) throw new Bad();
  return { nanos: Number(digits.padEnd(9, '0')), rangeError: '' };
}

function parseTimeZone(value: string): number {
  if (value.length < 3) return 0;
  if (value.length >= 4 && (value.startsWith('ChST') || value.startsWith('MeST'))) return 4;
  if (value.startsWith('GMT')) return parseGmt(value);
  if (value[0] === '+' || value[0] === '-') return parseSignedOffset(value);
  let upper = 0;
  for (; upper < 6 && upper < value.length; upper++) {
    const c = value.charCodeAt(upper);
    if (c < 0x41 || c > 0x5a) break;
  }
  switch (upper) {
    case 5: return value[4] === 'T' ? 5 : 0;
    case 4: return value[3] === 'T' || value.startsWith('WITA') ? 4 : 0;
    case 3: return 3;
    default: return 0;
  }
}

function parseGmt(value: string): number {
  const rest = value.slice(3);
  if (rest.length === 0) return 3;
  const signed = parseSignedOffset(rest);
  return signed === 0 ? 3 : 3 + signed;
}

function parseSignedOffset(value: string): number {
  const sign = value[0];
  if (sign !== '+' && sign !== '-') return 0;
  const match = /^[0-9]+/.exec(value.slice(1));
  if (match === null) return 0;
  const hours = Number(match[0]);
  if (hours > 24 || match[0].length > 2) return 0;
  return 1 + match[0].length;
}

/** Go's time.Parse (default location UTC); returns ns since the epoch as bigint (unbounded). */
export function parseTime(layoutIn: string, valueIn: string): bigint {
  let layout = layoutIn;
  let value = valueIn;
  let amSet = false;
  let pmSet = false;
  let year = 0;
  let month = -1;
  let day = -1;
  let yearDay = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let utc = false;
  let zoneOffset: number | undefined;
  let zoneName = '';

  for (;;) {
    const { prefix, std, stdText, suffix, digits } = nextStdChunk(layout);
    try {
      value = skip(value, prefix);
    } catch {
      throw parseError(layoutIn, valueIn, prefix, value, '');
    }
    if (std === 'none') {
      if (value.length !== 0) throw parseError(layoutIn, valueIn, '', value, `: extra text: ${goQuote(value)}`);
      break;
    }
    layout = suffix;
    const hold = value;
    let rangeError = '';
    try {
      switch (std) {
        case 'Year': {
          if (value.length < 2) throw new Bad();
          year = atoi(value.slice(0, 2));
          value = value.slice(2);
          year += year >= 69 ? 1900 : 2000;
          break;
        }
        case 'LongYear':
          if (value.length < 4 || !isDigitAt(value, 0)) throw new Bad();
          year = atoi(value.slice(0, 4));
          value = value.slice(4);
          break;
        case 'Month': [month, value] = lookupName(SHORT_MONTH_NAMES, value); month++; break;
        case 'LongMonth': [month, value] = lookupName(LONG_MONTH_NAMES, value); month++; break;
        case 'NumMonth': case 'ZeroMonth':
          [month, value] = getNum(value, std === 'ZeroMonth');
          if (month <= 0 || month > 12) rangeError = 'month';
          break;
        case 'WeekDay': [, value] = lookupName(SHORT_DAY_NAMES, value); break;
        case 'LongWeekDay': [, value] = lookupName(LONG_DAY_NAMES, value); break;
        case 'Day': case 'UnderDay': case 'ZeroDay':
          if (std === 'UnderDay' && value[0] === ' ') value = value.slice(1);
          [day, value] = getNum(value, std === 'ZeroDay');
          break;
        case 'UnderYearDay': case 'ZeroYearDay':
          for (let i = 0; i < 2; i++) if (std === 'UnderYearDay' && value[0] === ' ') value = value.slice(1);
          [yearDay, value] = getNum3(value, std === 'ZeroYearDay');
          break;
        case 'Hour':
          [hour, value] = getNum(value, false);
          if (hour >= 24) rangeError = 'hour';
          break;
        case 'Hour12': case 'ZeroHour12':
          [hour, value] = getNum(value, std === 'ZeroHour12');
          if (hour > 12) rangeError = 'hour';
          break;
        case 'Minute': case 'ZeroMinute':
          [minute, value] = getNum(value, std === 'ZeroMinute');
          if (minute >= 60) rangeError = 'minute';
          break;
        case 'Second': case 'ZeroSecond': {
          [second, value] = getNum(value, std === 'ZeroSecond');
          if (second >= 60) {
            rangeError = 'second';
            break;
          }
          if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigitAt(value, 1)) {
            const next = nextStdChunk(layout).std;
            if (next === 'FracSecond0' || next === 'FracSecond9') break;
            let n = 2;
            while (n < value.length && isDigitAt(value, n)) n++;
            nanos = parseNanoseconds(value, n).nanos;
            value = value.slice(n);
          }
          break;
        }
        case 'PM': case 'pm': {
          if (value.length < 2) throw new Bad();
          const marker = value.slice(0, 2);
          value = value.slice(2);
          const [pm, am] = std === 'PM' ? ['PM', 'AM'] : ['pm', 'am'];
          if (marker === pm) pmSet = true;
          else if (marker === am) amSet = true;
          else throw new Bad();
          break;
        }
        case 'ISO8601TZ': case 'ISO8601ShortTZ': case 'ISO8601ColonTZ': case 'ISO8601SecondsTZ': case 'ISO8601ColonSecondsTZ':
        case 'NumTZ': case 'NumShortTZ': case 'NumColonTZ': case 'NumSecondsTz': case 'NumColonSecondsTZ': {
          if (std.startsWith('ISO8601') && value[0] === 'Z') {
            value = value.slice(1);
            utc = true;
            break;
          }
          let sign: string; let hh: string; let mm: string; let ss: string;
          if (std === 'ISO8601ColonTZ' || std === 'NumColonTZ') {
            if (value.length < 6 || value[3] !== ':') throw new Bad();
            [sign, hh, mm, ss] = [value.slice(0, 1), value.slice(1, 3), value.slice(4, 6), '00'];
            value = value.slice(6);
          } else if (std === 'NumShortTZ' || std === 'ISO8601ShortTZ') {
            if (value.length < 3) throw new Bad();
            [sign, hh, mm, ss] = [value.slice(0, 1), value.slice(1, 3), '00', '00'];
            value = value.slice(3);
          } else if (std === 'ISO8601ColonSecondsTZ' || std === 'NumColonSecondsTZ') {
            if (value.length < 9 || value[3] !== ':' || value[6] !== ':') throw new Bad();
            [sign, hh, mm, ss] = [value.slice(0, 1), value.slice(1, 3), value.slice(4, 6), value.slice(7, 9)];
            value = value.slice(9);
          } else if (std === 'ISO8601SecondsTZ' || std === 'NumSecondsTz') {
            if (value.length < 7) throw new Bad();
            [sign, hh, mm, ss] = [value.slice(0, 1), value.slice(1, 3), value.slice(3, 5), value.slice(5, 7)];
            value = value.slice(7);
          } else {
            if (value.length < 5) throw new Bad();
            [sign, hh, mm, ss] = [value.slice(0, 1), value.slice(1, 3), value.slice(3, 5), '00'];
            value = value.slice(5);
          }
          const [h] = getNum(hh, true);
          const [m] = getNum(mm, true);
          const [s] = getNum(ss, true);
          if (h > 24) rangeError = 'time zone offset hour';
          if (m > 60) rangeError = 'time zone offset minute';
          if (s > 60) rangeError = 'time zone offset second';
          let offset = (h * 60 + m) * 60 + s;
          if (sign === '-') offset = -offset;
          else if (sign !== '+') throw new Bad();
          zoneOffset = offset;
          break;
        }
        case 'TZ': {
          if (value.startsWith('UTC')) {
            utc = true;
            value = value.slice(3);
            break;
          }
          const n = parseTimeZone(value);
          if (n === 0) throw new Bad();
          zoneName = value.slice(0, n);
          value = value.slice(n);
          break;
        }
        case 'FracSecond0': {
          const needed = 1 + digits;
          if (value.length < needed) throw new Bad();
          nanos = parseNanoseconds(value, needed).nanos;
          value = value.slice(needed);
          break;
        }
        case 'FracSecond9': {
          if (value.length < 2 || (value[0] !== '.' && value[0] !== ',') || !isDigitAt(value, 1)) break;
          let i = 0;
          while (i + 1 < value.length && isDigitAt(value, i + 1)) i++;
          nanos = parseNanoseconds(value, 1 + i).nanos;
          value = value.slice(1 + i);
          break;
        }
        default:
          break;
      }
    } catch (error) {
      if (!(error instanceof Bad)) throw error;
      throw parseError(layoutIn, valueIn, stdText, hold, '');
    }
    if (rangeError !== '') throw parseError(layoutIn, valueIn, stdText, value, `: ${rangeError} out of range`);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;

  if (yearDay >= 0) {
    let d = 0;
    let m = 0;
    let yd = yearDay;
    if (isLeapYear(year)) {
      if (yd === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yd > 31 + 29) {
        yd--;
      }
    }
    if (yd < 1 || yd > 365) throw parseError(layoutIn, valueIn, '', value, ': day-of-year out of range');
    if (m === 0) {
      const before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
      m = Math.floor((yd - 1) / 31) + 1;
      if ((before[m] as number) < yd) m++;
      d = yd - (before[m - 1] as number);
    }
    if (month >= 0 && month !== m) throw parseError(layoutIn, valueIn, '', value, ': day-of-year does not match month');
    month = m;
    if (day >= 0 && day !== d) throw parseError(layoutIn, valueIn, '', value, ': day-of-year does not match day');
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) throw parseError(layoutIn, valueIn, '', value, ': day out of range');

  const localNanos = dateToNanos(year, month, day, hour, minute, second, nanos, UTC_ZONE);
  if (utc) return localNanos;
  if (zoneOffset !== undefined) return localNanos - BigInt(zoneOffset) * NS_PER_SECOND;
  if (zoneName.length > 3 && zoneName.startsWith('GMT')) {
    return localNanos - BigInt(Number.parseInt(zoneName.slice(3), 10) * 3600) * NS_PER_SECOND;
  }
  return localNanos;
}

// ---------------------------------------------------------------------------------------------
// Durations (Go's time.ParseDuration)

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: NS_PER_SECOND, m: 60n * NS_PER_SECOND, h: 3600n * NS_PER_SECOND,
};

/** Go's time.ParseDuration: "1h30m", "-1.5s", "300ms"; result in ns, must fit int64. */
export function parseDuration(input: string): bigint {
  const invalid = (): GoTimeError => new GoTimeError(`time: invalid duration ${goQuote(input)}`);
  let s = input;
  let negative = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  // Durations are sums of decimal numbers with units; fractions are kept exact as a rational.
  while (s !== '') {
    if (!(s[0] === '.' || isDigitAt(s, 0))) throw invalid();
    const match = /^([0-9]*)(?:\.([0-9]*))?/.exec(s);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2] ?? '';
    if (whole === '' && fraction === '') throw invalid();
    s = s.slice(match?.[0].length ?? 0);
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigitAt(s, u)) u++;
    if (u === 0) throw new GoTimeError(`time: missing unit in duration ${goQuote(input)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNIT_NANOS[unitName];
    if (unit === undefined) throw new GoTimeError(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(input)}`);
    let value = BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== '') {
      // Go keeps at most the digits that fit an int64 and scales the fraction in float64.
      const kept = fraction.slice(0, 18);
      const scaled = Number(kept) * (Number(unit) / 10 ** kept.length);
      value += BigInt(Math.trunc(scaled));
    }
    total += value;
    if (total > MAX_INT64 + (negative ? 1n : 0n)) throw invalid();
  }
  return negative ? -total : total;
}
