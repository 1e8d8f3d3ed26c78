export { ByteReader } from './byteReader.ts';
