export type { KeyValueStore, SetOptions } from './keyValueStore.ts';
export { MemoryStore } from './memoryStore.ts';
