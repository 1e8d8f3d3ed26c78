/**
 * Go's fmt.Sprintf for the three kinds of operands OPA's `sprintf` hands to Go: integers (int or
 * *big.Int), float64 and strings (every other Rego value is pre-rendered to its Rego text).
 * Verb/flag handling and the `%!d(string=x)` style diagnostics follow Go's fmt package.
 */
import { goQuote } from './goTime.ts';

export type GoArg =
  | { kind: 'int'; value: bigint; big: boolean }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string };

interface Spec {
  minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean;
  width: number | undefined; precision: number | undefined;
}

const MAX_WIDTH = 1_000_000;

function typeLabel(arg: GoArg): string {
  if (arg.kind === 'int') return arg.big ? '*big.Int' : 'int';
  if (arg.kind === 'float') return 'float64';
  return 'string';
}

function plainValue(arg: GoArg): string {
  if (arg.kind === 'int') return arg.value.toString();
  if (arg.kind === 'float') return formatFloat(arg.value, 'g', undefined);
  return arg.value;
}

function pad(text: string, spec: Spec, zeroAllowed = true): string {
  const width = spec.width ?? 0;
  const length = [...text].length;
  if (length >= width) return text;
  const fill = width - length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && zeroAllowed) {
    const signMatch = /^[+\- ]/.exec(text);
    const sign = signMatch === null ? '' : signMatch[0];
    let body = text.slice(sign.length);
    let prefix = '';
    const radix = /^0[xXbBoO]/.exec(body);
    if (radix !== null) {
      prefix = radix[0];
      body = body.slice(2);
    }
    return sign + prefix + '0'.repeat(fill) + body;
  }
  return ' '.repeat(fill) + text;
}

function formatInteger(value: bigint, verb: string, spec: Spec): string | undefined {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v': case 'd': digits = magnitude.toString(10); break;
    case 'b': digits = magnitude.toString(2); if (spec.sharp) prefix = '0b'; break;
    case 'o': digits = magnitude.toString(8); if (spec.sharp) prefix = '0'; break;
    case 'O': digits = magnitude.toString(8); prefix = '0o'; break;
    case 'x': digits = magnitude.toString(16); if (spec.sharp) prefix = '0x'; break;
    case 'X': digits = magnitude.toString(16).toUpperCase(); if (spec.sharp) prefix = '0X'; break;
    case 'c': return pad(String.fromCodePoint(Number(magnitude > 0x10ffffn ? 0xfffdn : magnitude)), spec);
    case 'q': return pad(goQuote(String.fromCodePoint(Number(magnitude > 0x10ffffn ? 0xfffdn : magnitude))).replace(/^"|"$/g, "'"), spec);
    case 'U': return pad(`U+${magnitude.toString(16).toUpperCase().padStart(4, '0')}`, spec);
    default: return undefined;
  }
  if (spec.precision !== undefined) {
    if (spec.precision === 0 && magnitude === 0n) digits = '';
    else digits = digits.padStart(spec.precision, '0');
  }
  if (verb === 'o' && spec.sharp && digits.startsWith('0')) prefix = '';
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + prefix + digits, spec, spec.precision === undefined);
}

/** strconv.FormatFloat(f, fmt, prec, 64) for 'e', 'E', 'f', 'F', 'g', 'G'; prec undefined = shortest. */
export function formatFloat(value: number, verb: string, precision: number | undefined): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const lower = verb.toLowerCase();
  const negative = value < 0 || Object.is(value, -0);
  const abs = Math.abs(value);
  let out: string;
  if (lower === 'f') {
    out = precision === undefined ? shortestFixed(abs) : abs.toFixed(Math.min(precision, 100));
  } else if (lower === 'e') {
    out = goExponent(precision === undefined ? abs.toExponential() : abs.toExponential(Math.min(precision, 100)));
  } else {
    out = formatG(abs, precision);
  }
  if (verb === 'E' || verb === 'G') out = out.toUpperCase();
  return (negative ? '-' : '') + out;
}

function goExponent(jsExponential: string): string {
  const [mantissa, exponent = '0'] = jsExponential.split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
  return `${mantissa}e${sign}${digits}`;
}

function shortestFixed(abs: number): string {
  const text = String(abs);
  if (!text.includes('e')) return text;
  const [mantissa = '0', exponentText = '0'] = text.split('e');
  const exponent = Number(exponentText);
  const [whole = '0', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

function formatG(abs: number, precision: number | undefined): string {
  const shortest = precision === undefined;
  const wanted = precision === undefined ? undefined : Math.max(1, Math.min(precision, 100));
  const exponential = abs === 0 ? '0e+0' : wanted === undefined ? abs.toExponential() : abs.toExponential(wanted - 1);
  const [mantissa = '0', exponentText = '0'] = exponential.split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '') || '0';
  const nd = digits.length;
  const dp = abs === 0 ? 1 : Number(exponentText) + 1;
  let prec = wanted ?? nd;
  let eprec = prec;
  if (eprec > nd && nd >= dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = dp - 1;
  if (exp < -4 || exp >= eprec) {
    const p = Math.min(prec, nd);
    const m = p > 1 ? `${digits[0]}.${digits.slice(1, p)}` : (digits[0] ?? '0');
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (prec > dp) prec = nd;
  const decimals = Math.max(prec - dp, 0);
  const digitAt = (i: number): string => (i >= 0 && i < nd ? (digits[i] as string) : '0');
  let out = '';
  if (dp > 0) for (let i = 0; i < dp; i++) out += digitAt(i);
  else out = '0';
  if (decimals > 0) {
    out += '.';
    for (let i = 0; i < decimals; i++) out += digitAt(dp + i);
  }
  return out;
}

function formatFloatVerb(value: number, verb: string, spec: Spec): string | undefined {
  let body: string;
  switch (verb) {
    case 'v': case 'g': case 'G': body = formatFloat(value, verb === 'v' ? 'g' : verb, spec.precision); break;
    case 'e': case 'E': body = formatFloat(value, verb, spec.precision ?? 6); break;
    case 'f': case 'F': body = formatFloat(value, 'f', spec.precision ?? 6); break;
    default: return undefined;
  }
  if (spec.sharp && !body.includes('.') && /^[+-]?[0-9]/.test(body)) {
    const e = body.search(/[eE]/);
    body = e < 0 ? `${body}.` : `${body.slice(0, e)}.${body.slice(e)}`;
  }
  if (!body.startsWith('-') && /^[0-9]/.test(body)) {
    if (spec.plus) body = `+${body}`;
    else if (spec.space) body = ` ${body}`;
  }
  return pad(body, spec, Number.isFinite(value));
}

function formatStringVerb(value: string, verb: string, spec: Spec): string | undefined {
  switch (verb) {
    case 'v': case 's': {
      const text = spec.precision === undefined ? value : [...value].slice(0, spec.precision).join('');
      return pad(text, spec);
    }
    case 'q': {
      const text = spec.precision === undefined ? value : [...value].slice(0, spec.precision).join('');
      if (spec.sharp && canBackquote(text)) return pad(`\`${text}\``, spec);
      return pad(spec.plus ? goQuoteAscii(text) : goQuote(text), spec);
    }
    case 'x': case 'X': {
      const bytes = Buffer.from(value, 'utf8');
      const limited = spec.precision === undefined ? bytes : bytes.subarray(0, spec.precision);
      let hex = '';
      for (let i = 0; i < limited.length; i++) {
        if (spec.space && i > 0) hex += ' ';
        if (spec.sharp && (spec.space || i === 0)) hex += verb === 'x' ? '0x' : '0X';
        hex += (limited[i] as number).toString(16).padStart(2, '0');
      }
      return pad(verb === 'X' ? hex.toUpperCase().replace(/0X/g, '0X') : hex, spec);
    }
    default: return undefined;
  }
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '`' || c === 0x7f || (c < 0x20 && c !== 0x09)) return false;
  }
  return true;
}

function goQuoteAscii(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x80) out += goQuote(ch).slice(1, -1);
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

function formatArg(arg: GoArg, verb: string, spec: Spec): string {
  let out: string | undefined;
  if (arg.kind === 'int') {
    if (arg.big && (verb === 's')) out = pad(arg.value.toString(), spec);
    else out = formatInteger(arg.value, verb, spec);
    if (out === undefined && ['e', 'E', 'f', 'F', 'g', 'G'].includes(verb) && arg.big) {
      out = formatFloatVerb(Number(arg.value), verb, spec);
    }
  } else if (arg.kind === 'float') {
    out = formatFloatVerb(arg.value, verb, spec);
  } else {
    out = formatStringVerb(arg.value, verb, spec);
  }
  if (out !== undefined) return out;
  return `%!${verb}(${typeLabel(arg)}=${plainValue(arg)})`;
}

/**
 * Go's fmt.Sprintf. `maxLength` bounds the output (wide paddings like %999999999d would
 * otherwise exhaust memory); exceeding it throws RangeError.
 */
export function goSprintf(format: string, args: readonly GoArg[], maxLength = 16 * 1024 * 1024): string {
  let out = '';
  let argIndex = 0;
  let reordered = false;
  const chars = [...format];
  let i = 0;
  const append = (text: string): void => {
    out += text;
    if (out.length > maxLength) throw new RangeError('formatted string too long');
  };
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c !== '%') {
      append(c);
      i++;
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, width: undefined, precision: undefined };
    flags: while (i < chars.length) {
      switch (chars[i]) {
        case '-': spec.minus = true; spec.zero = false; break;
        case '+': spec.plus = true; break;
        case '#': spec.sharp = true; break;
        case ' ': spec.space = true; break;
        case '0': spec.zero = !spec.minus; break;
        default: break flags;
      }
      i++;
    }
    const readIndex = (): void => {
      if (chars[i] !== '[') return;
      const close = chars.indexOf(']', i);
      const n = close < 0 ? Number.NaN : Number(chars.slice(i + 1, close).join(''));
      if (close >= 0 && Number.isInteger(n) && n >= 1 && n <= args.length) {
        argIndex = n - 1;
        reordered = true;
        i = close + 1;
      } else {
        append('%!(BADINDEX)');
        argIndex = args.length;
        i = close < 0 ? chars.length : close + 1;
      }
    };
    const readNumber = (): number | undefined => {
      let digits = '';
      while (i < chars.length && /[0-9]/.test(chars[i] as string)) digits += chars[i++];
      if (digits === '') return undefined;
      return Math.min(Number(digits), MAX_WIDTH + 1);
    };
    readIndex();
    if (chars[i] === '*') {
      i++;
      const arg = args[argIndex++];
      if (arg?.kind === 'int') {
        let w = Number(arg.value);
        if (w < 0) {
          spec.minus = true;
          spec.zero = false;
          w = -w;
        }
        spec.width = w;
      } else {
        append('%!(BADWIDTH)');
      }
    } else {
      spec.width = readNumber();
    }
    if (chars[i] === '.') {
      i++;
      readIndex();
      if (chars[i] === '*') {
        i++;
        const arg = args[argIndex++];
        if (arg?.kind === 'int' && arg.value >= 0n) spec.precision = Number(arg.value);
        else append('%!(BADPREC)');
      } else {
        spec.precision = readNumber() ?? 0;
      }
    }
    if ((spec.width ?? 0) > MAX_WIDTH || (spec.precision ?? 0) > MAX_WIDTH) throw new RangeError('format width too large');
    readIndex();
    if (i >= chars.length) {
      append('%!(NOVERB)');
      break;
    }
    const verb = chars[i++] as string;
    if (verb === '%') {
      append('%');
      continue;
    }
    const arg = args[argIndex];
    if (arg === undefined) {
      append(`%!${verb}(MISSING)`);
      continue;
    }
    argIndex++;
    append(formatArg(arg, verb, spec));
  }
  if (!reordered && argIndex < args.length) {
    const extra = args.slice(argIndex).map((arg) => `${typeLabel(arg)}=${plainValue(arg)}`);
    append(`%!(EXTRA ${extra.join(', ')})`);
  }
  return out;
}
