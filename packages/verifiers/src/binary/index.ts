export { ByteReader } from './byteReader.ts';
export { toHex, fromHex, fromBase64Lenient, toBase64, regularize, bytesEqual } from './encoding.ts';
export { parseDer, readDer, derChildren, decodeOid, decodeSmallUnsigned, type DerNode } from './der.ts';
export { bytesFromJsonArray, uintFromJson, u64FromJson, objectFromJson, stringFromJson, jsonKind } from './jsonBytes.ts';
