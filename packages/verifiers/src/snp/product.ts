import type { AmdProduct } from './amdRoots.ts';
import type { SnpReport } from './snpReport.ts';

/**
 * The product line from the report's CPUID (report version 3 on), as upstream's
 * `get_processor_generation`: family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAE Genoa;
 * family 0x1A models 0x00-0x11 Turin. `undefined` when the report does not say (v2) or the
 * family/model is unknown.
 */
export function productFromReport(report: Pick<SnpReport, 'cpuidFamId' | 'cpuidModId'>): AmdProduct | undefined {
  const family = report.cpuidFamId;
  const model = report.cpuidModId;
  if (family === undefined || model === undefined) return undefined;
  if (family === 0x19) {
    if (model <= 0x0f) return 'Milan';
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xae)) return 'Genoa';
    return undefined;
  }
  if (family === 0x1a && model <= 0x11) return 'Turin';
  return undefined;
}

/** The product line named by a VCEK/VLEK `productName` extension (`Milan-B0`, `Genoa`, `Turin`). */
export function productFromName(productName: string | undefined): AmdProduct | undefined {
  const line = productName?.split('-')[0];
  return line === 'Milan' || line === 'Genoa' || line === 'Turin' ? line : undefined;
}
