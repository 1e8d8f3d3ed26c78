/**
 * UEFI device-path nodes rendered the way Trustee's eventlog crate renders them (its strings are
 * what policies see in `details.device_paths`). Unknown or malformed nodes become
 * `Path(type,subtype,hex)`, as upstream does.
 */
import { errorClassWithCode } from '@trustee/errors';

class PathError extends errorClassWithCode('invalid_device_path') {}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function u16(b: Uint8Array, at: number): number {
  if (at + 2 > b.length) throw new PathError('short');
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}

function u32(b: Uint8Array, at: number): number {
  if (at + 4 > b.length) throw new PathError('short');
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0;
}

function u64(b: Uint8Array, at: number): bigint {
  if (at + 8 > b.length) throw new PathError('short');
  return Buffer.from(b.subarray(at, at + 8)).readBigUInt64LE(0);
}

/** UEFI mixed-endian GUID text, uppercase (`format_uefi_guid`). */
export function formatUefiGuid(b: Uint8Array): string {
  if (b.length < 16) throw new PathError('short guid');
  const h = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');
  const d4 = Array.from(b.subarray(8, 16), (x) => h(x, 2));
  return `${h(u32(b, 0), 8)}-${h(u16(b, 4), 4)}-${h(u16(b, 6), 4)}-${d4[0]}${d4[1]}-${d4.slice(2).join('')}`;
}

export function utf16Lossy(b: Uint8Array): string {
  const even = b.subarray(0, b.length - (b.length % 2));
  return new TextDecoder('utf-16le').decode(even);
}

function ipv4(bits: number): string {
  return [bits >>> 24, (bits >>> 16) & 0xff, (bits >>> 8) & 0xff, bits & 0xff].join('.');
}

function strictUtf8(b: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new PathError('utf8');
  }
}

function parseNode(type: number, sub: number, data: Uint8Array): string {
  switch (type) {
    case 0x01:
      if (sub === 0x01) {
        if (data.length < 2) throw new PathError('pci');
        return `Pci(${data[0]},${data[1]})`;
      }
      break;
    case 0x02:
      if (sub === 0x01) {
        if (data.length < 8) throw new PathError('acpi');
        const hid = u32(data, 0);
        const uid = u32(data, 4);
        const vendor = hid & 0xffff;
        const c = (n: number): string => String.fromCharCode((n & 0x1f) + 0x40);
        return `ACPI(${c(vendor >> 10)}${c(vendor >> 5)}${c(vendor)}${(hid >>> 16).toString(16).toUpperCase().padStart(4, '0')},${uid})`;
      }
      break;
    case 0x03:
      if (sub === 0x15) {
        if (data.length < 16) throw new PathError('fibre');
        return `FibreEx(0x${hex(data.subarray(0, 8))},0x${hex(data.subarray(8, 16))})`;
      }
      if (sub === 0x05) {
        if (data.length < 2) throw new PathError('usb');
        return `USB(${data[0]},${data[1]})`;
      }
      if (sub === 0x0b) {
        if (data.length !== 33) throw new PathError('mac');
        const mac = hex(data.subarray(0, 31)).replace(/0+$/, '').toUpperCase();
        return `Mac(${mac},0x${(data[32] as number).toString(16).padStart(2, '0')})`;
      }
      if (sub === 0x0c) {
        // upstream reads each address as a little-endian u32 and prints it as an IPv4 number
        const local = ipv4(u32(data, 0));
        const remote = ipv4(u32(data, 4));
        u16(data, 8);
        u16(data, 10);
        const protocol = u16(data, 12);
        if (data.length < 15) throw new PathError('ipv4');
        const kind = data[14] as number;
        const gateway = u32(data, 15);
        const subnet = u32(data, 19);
        const proto = protocol === 6 ? 'TCP' : protocol === 17 ? 'UDP' : '';
        const type = kind === 0 ? 'DHCP' : kind === 1 ? 'Static' : '';
        const gw = gateway !== 0 || subnet !== 0 ? `,${gateway},${subnet}` : '';
        return `IPv4(${remote},${proto},${type},${local}${gw})`;
      }
      break;
    case 0x04:
      if (sub === 0x01) {
        // upstream checks for 37 bytes but reads the 38th; shorter nodes fall back to Path(...)
        if (data.length < 38) throw new PathError('hd');
        const number = u32(data, 0);
        const start = u64(data, 4);
        const size = u64(data, 12);
        const signature = data.subarray(20, 36);
        const format = data[36] as number;
        let prefix: string;
        let sig: string;
        if (format === 0x01) {
          prefix = 'MBR';
          sig = `0x${u32(signature, 0).toString(16).padStart(8, '0')}`;
        } else if (format === 0x02) {
          prefix = 'GPT';
          sig = formatUefiGuid(signature);
        } else {
          throw new PathError('partition format');
        }
        const details = number !== 0 ? `,0x${start.toString(16)},0x${size.toString(16)}` : '';
        return `HD(${number},${prefix},${sig}${details})`;
      }
      if (sub === 0x03) {
        if (data.length < 16) throw new PathError('venmedia');
        return `VenMedia(${formatUefiGuid(data.subarray(0, 16))},${hex(data.subarray(16))})`;
      }
      if (sub === 0x04) {
        if (data.length === 0 || data.length % 2 !== 0) throw new PathError('file');
        return `File(${utf16Lossy(data.subarray(0, data.length - 2))})`;
      }
      break;
    case 0x05:
      if (sub === 0x01) {
        const deviceType = u16(data, 0);
        const status = u16(data, 2);
        const names: Record<number, string> = { 0x01: 'FLOPPY', 0x02: 'HARD_DRIVE', 0x03: 'CDROM', 0x04: 'PCMCIA', 0x05: 'USB', 0x06: 'EMBEDDED_NETWORK', 0x80: 'DEV', 0xff: 'UNKNOWN' };
        const rest = data.subarray(4);
        const nul = rest.indexOf(0);
        const description = strictUtf8(nul === -1 ? rest : rest.subarray(0, nul));
        return `BBS(${names[deviceType] ?? String(deviceType)},${description},${status})`;
      }
      break;
    default:
      break;
  }
  throw new PathError('unknown');
}

function renderNode(type: number, sub: number, data: Uint8Array): string {
  try {
    return parseNode(type, sub, data);
  } catch (error) {
    if (error instanceof PathError) return `Path(${type},${sub},${hex(data)})`;
    throw error;
  }
}

/** Renders a device-path byte string (without its end node); `undefined` when malformed. */
export function renderDevicePaths(bytes: Uint8Array): string[] | undefined {
  const out: string[] = [];
  let rest = bytes;
  while (true) {
    if (rest.length < 4) return undefined;
    const length = (rest[2] as number) | ((rest[3] as number) << 8);
    if (length < 4 || rest.length < length) return undefined;
    out.push(renderNode(rest[0] as number, rest[1] as number, rest.subarray(4, length)));
    rest = rest.subarray(length);
    if (rest.length === 0) return out;
  }
}
