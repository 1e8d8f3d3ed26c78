/**
 * Terminal text for the KBS's policy explanations (`kbs-client config explain`) and dry runs
 * (`set-resource-policy --dry-run`). The answers are read defensively: anything missing or of
 * the wrong shape is shown as absent, never trusted to be what the KBS documents.
 */
import type { Json } from '@trustee/protocol';

type Obj = { readonly [key: string]: Json };

function obj(value: Json | undefined): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

function arr(value: Json | undefined): readonly Json[] {
  return Array.isArray(value) ? value : [];
}

function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Values as compact JSON, one line, cut for the terminal. */
function show(value: Json | undefined, max = 160): string {
  const text = JSON.stringify(value) ?? 'undefined';
  const line = clean(text);
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** Strips terminal control characters from text the KBS sent. */
function clean(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    out += code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) ? ' ' : char;
  }
  return out;
}

function ruleLines(rule: Obj, indent: string, out: string[], depth: number): void {
  const name = clean(str(rule['rule']) ?? 'rule');
  const defined = rule['defined'] === true;
  const defaultValue = 'defaultValue' in rule ? ` (default ${show(rule['defaultValue'])})` : '';
  out.push(`${indent}${name} = ${defined ? show(rule['value']) : 'undefined'}${defaultValue}`);
  for (const bodyJson of arr(rule['bodies'])) {
    const body = obj(bodyJson);
    if (body === undefined) continue;
    const where = clean(str(body['location']) ?? '?');
    if (body['held'] === true) {
      out.push(`${indent}  body at ${where}: held`);
      continue;
    }
    out.push(`${indent}  body at ${where}: failed`);
    const failed = obj(body['failed']);
    if (failed === undefined) continue;
    out.push(`${indent}    failing expression: ${clean(str(failed['expression']) ?? '?')}   [${clean(str(failed['location']) ?? '?')}]`);
    for (const valueJson of arr(failed['values'])) {
      const value = obj(valueJson);
      if (value === undefined) continue;
      const shown = value['defined'] === true ? show(value['value']) : 'undefined';
      out.push(`${indent}      ${clean(str(value['expression']) ?? '?')} = ${shown}${value['truncated'] === true ? ' (cut)' : ''}`);
    }
    if (depth < 4) {
      for (const nested of arr(failed['because'])) {
        const inner = obj(nested);
        if (inner !== undefined) ruleLines(inner, `${indent}      `, out, depth + 1);
      }
    }
  }
  if (rule['truncated'] === true) out.push(`${indent}  (more bodies not shown: explanation limit)`);
}

/** The explain answer as indented text: verdict, then per policy its rule bodies. */
export function formatExplanation(report: Json): string {
  const root = obj(report);
  if (root === undefined) return `${show(report)}\n`;
  const out: string[] = [];
  const decision = str(root['decision_id']);
  out.push(`${clean(str(root['resource']) ?? '?')}: ${root['allowed'] === true ? 'ALLOWED' : 'DENIED'}${decision === undefined ? '' : ` (decision ${clean(decision)})`}`);
  for (const policyJson of arr(root['policies'])) {
    const policy = obj(policyJson);
    if (policy === undefined) continue;
    out.push(`  policy ${clean(str(policy['policy']) ?? '?')}: ${policy['allowed'] === true ? 'allow' : 'deny'}`);
    const error = str(policy['error']);
    if (error !== undefined) out.push(`    error: ${clean(error)}`);
    const explanation = obj(policy['explanation']);
    if (explanation !== undefined) ruleLines(explanation, '    ', out, 0);
  }
  return `${out.join('\n')}\n`;
}

/** A dry run's answer: counts, then each recorded decision the candidate would change. */
export function formatDryRun(report: Json): string {
  const root = obj(report);
  if (root === undefined) return `${show(report)}\n`;
  const changed = arr(root['changed']);
  const out = [`dry run: ${show(root['replayed'])} recorded decisions replayed (${show(root['read'])} read, ${show(root['skipped'])} without claims); ${changed.length} would change`];
  if (root['complete'] === false) out.push('  (stopped at the KBS time budget: older decisions were not replayed)');
  for (const entryJson of changed) {
    const entry = obj(entryJson);
    if (entry === undefined) continue;
    const verdict = (value: Json | undefined): string => (value === true ? 'allow' : 'deny');
    out.push(`  ${clean(str(entry['time']) ?? '?')}  ${clean(str(entry['decision_id']) ?? '?')}  ${clean(str(entry['resource']) ?? '?')}: ${verdict(entry['recorded'])} -> ${verdict(entry['candidate'])}`);
  }
  return `${out.join('\n')}\n`;
}
