/**
 * Per-item progress of a bulk collateral operation (export, import), so a CLI can show
 * "done/total" on a terminal and name every failed item. Implementations must not throw.
 */
export interface CollateralProgress {
  /** Adds `count` items to the total (called as each group of items is listed). */
  total(count: number): void;
  /** One item handled; `failure` says why it was not (the item is named either way). */
  item(name: string, failure?: string): void;
}
