/**
 * The operator console: a hash-routed single page (#/overview, #/decisions, #/decisions/<seq>,
 * #/resources, #/policies, #/reference-values, #/collateral, #/health). Every page reads the
 * console API or the admin API with the admin token; edits go through the admin API.
 */
import './style.css';
import { b64url, isApiError, request, setToken, token } from './api.ts';
import { diffLines } from './diff.ts';
import { append, bytes, h, json, replace, table, time, type Child } from './dom.ts';

interface AuditRecord {
  readonly seq: number;
  readonly time: string;
  readonly replica: string;
  readonly kind: string;
  readonly decision: string;
  readonly outcome: string;
  readonly tee?: string;
  readonly evidence?: string;
  readonly policies?: ReadonlyArray<{ id: string; hash?: string }>;
  readonly resource?: string;
  readonly method?: string;
  readonly status?: number;
  readonly reason?: string;
  readonly admin?: { role?: string; subject?: string; issuer?: string };
  readonly hash: string;
  readonly prev: string;
}

interface PolicyDoc {
  readonly source: string;
  readonly hash: string;
}

interface Policies {
  readonly resource: PolicyDoc | null;
  readonly scoped: ReadonlyArray<PolicyDoc & { scope: string }>;
  readonly attestation: ReadonlyArray<PolicyDoc & { id: string }>;
}

const PAGES: ReadonlyArray<{ readonly id: string; readonly title: string }> = [
  { id: 'overview', title: 'Overview' },
  { id: 'decisions', title: 'Decisions' },
  { id: 'resources', title: 'Resources' },
  { id: 'policies', title: 'Policies' },
  { id: 'reference-values', title: 'Reference values' },
  { id: 'collateral', title: 'Collateral' },
  { id: 'health', title: 'Replicas & storage' },
];

const app = document.getElementById('app') as HTMLElement;
const main = h('main', { id: 'main', tabindex: -1 });
const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });

// Theme: the operator's choice for this browser, else the system's (followed while it changes).
// Always written to data-theme, so style.css holds the dark palette once.
const systemDark = matchMedia('(prefers-color-scheme: dark)');
function applyTheme(): void {
  const chosen = localStorage.getItem('trustee-console-theme');
  const theme = chosen === 'dark' || chosen === 'light' ? chosen : systemDark.matches ? 'dark' : 'light';
  document.documentElement.dataset['theme'] = theme;
}
applyTheme();
systemDark.addEventListener('change', applyTheme);

function toggleTheme(): void {
  localStorage.setItem('trustee-console-theme', document.documentElement.dataset['theme'] === 'dark' ? 'light' : 'dark');
  applyTheme();
}

function say(message: string, kind: 'info' | 'error' = 'info'): void {
  status.textContent = message;
  status.className = `status ${kind}`;
}

function button(label: string, onClick: () => unknown, attrs: Record<string, string> = {}): HTMLButtonElement {
  return h('button', {
    type: 'button',
    ...attrs,
    onclick: () => {
      Promise.resolve(onClick()).catch(showError);
    },
  }, label);
}

function showError(error: unknown): void {
  if (isApiError(error) && error.status === 401) {
    setToken(undefined);
    say(`Signed out: ${error.message}`, 'error');
    renderLogin();
    return;
  }
  say(error instanceof Error ? error.message : String(error), 'error');
}

function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), ...children);
}

// ---------- layout ----------

function renderShell(): void {
  const nav = h(
    'nav',
    { 'aria-label': 'Console pages' },
    h('ul', {}, ...PAGES.map((page) => h('li', {}, h('a', { href: `#/${page.id}`, 'data-page': page.id }, page.title)))),
  );
  replace(
    app,
    h(
      'header',
      {},
      h('h1', {}, 'Trustee KBS'),
      nav,
      h('div', { class: 'actions' }, button('Theme', toggleTheme, { 'aria-label': 'Switch between dark and light theme' }), button('Sign out', () => {
        setToken(undefined);
        renderLogin();
      })),
    ),
    status,
    main,
  );
}

function renderLogin(): void {
  const input = h('textarea', { id: 'token', name: 'token', rows: 4, autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help' });
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (value === '') return;
        setToken(value);
        request('GET', '/console/api/session')
          .then(() => {
            say('');
            renderShell();
            if (location.hash === '' || location.hash === '#/login') location.hash = '#/overview';
            else void route();
          })
          .catch((error: unknown) => {
            setToken(undefined);
            say(`Not signed in: ${error instanceof Error ? error.message : String(error)}`, 'error');
          });
      },
    },
    h('h1', {}, 'Trustee KBS console'),
    h('label', { for: 'token' }, 'Admin token'),
    input,
    h('p', { id: 'token-help', class: 'help' }, 'The admin bearer token (for the dev KBS: the contents of data/keys/admin-token) or a token from the configured identity provider. It stays in this tab only.'),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  replace(app, h('main', { id: 'main', tabindex: -1 }, status, form));
  input.focus();
}

// ---------- pages ----------

async function overview(): Promise<Child[]> {
  const data = await request<{
    minutes: Array<{ minute: string; attestations: number; failures: number; releases: number; denials: number }>;
    failures: Array<{ reason: string; count: number }>;
    metrics: { attestations: Array<{ labels: Record<string, string | number>; value: number }>; policy: Array<{ labels: Record<string, string | number>; value: number }> };
  }>('GET', '/console/api/overview');
  const peak = Math.max(1, ...data.minutes.map((m) => m.attestations + m.failures + m.releases + m.denials));
  const bar = (value: number, kind: string): HTMLElement => {
    const element = h('span', { class: `bar ${kind}`, title: `${value}` });
    element.style.width = `${(value / peak) * 100}%`;
    return element;
  };
  const recent = data.minutes.filter((m) => m.attestations + m.failures + m.releases + m.denials > 0);
  return [
    section(
      'Per minute (last 30 minutes, from the audit trail)',
      recent.length === 0
        ? h('p', {}, 'No attestations or releases in the last 30 minutes.')
        : table(
            ['minute', 'attestations', 'failed', 'releases', 'denied', ''],
            recent.map((m) => [time(m.minute), m.attestations, m.failures, m.releases, m.denials, h('span', { class: 'bars', 'aria-hidden': 'true' }, bar(m.attestations, 'ok'), bar(m.failures, 'bad'), bar(m.releases, 'rel'), bar(m.denials, 'deny'))]),
            'Attestations and releases per minute',
          ),
    ),
    section('Failures by reason (last 30 minutes)', data.failures.length === 0 ? h('p', {}, 'None.') : table(['reason', 'count'], data.failures.map((f) => [f.reason, f.count]))),
    section(
      'Counters since this replica started (metrics)',
      table(['attestations: TEE', 'outcome', 'count'], data.metrics.attestations.map((v) => [String(v.labels['tee'] ?? ''), String(v.labels['outcome'] ?? ''), v.value])),
      table(['resource policy result', 'count'], data.metrics.policy.map((v) => [String(v.labels['result'] ?? ''), v.value])),
    ),
  ];
}

async function auditRecords(): Promise<AuditRecord[]> {
  return (await request<{ records: AuditRecord[] }>('GET', '/console/api/audit?limit=2000')).records;
}

async function decisions(): Promise<Child[]> {
  const records = await auditRecords();
  const search = h('input', { type: 'search', id: 'decision-search', placeholder: 'kind, outcome, path, TEE, decision id, replica…', 'aria-label': 'Search decisions' });
  const results = h('div', { id: 'decision-results' });
  const render = (): void => {
    const terms = search.value.toLowerCase().split(/\s+/).filter((term) => term !== '');
    const matching = records.filter((record) => {
      const text = [record.kind, record.outcome, record.resource, record.tee, record.decision, record.replica, record.reason, record.admin?.subject, record.admin?.role].join(' ').toLowerCase();
      return terms.every((term) => text.includes(term));
    });
    replace(
      results,
      h('p', {}, `${matching.length} of ${records.length} records`),
      table(
        ['#', 'time', 'kind', 'outcome', 'resource', 'TEE', 'replica'],
        matching.slice(0, 300).map((record) => [h('a', { href: `#/decisions/${record.seq}`, 'data-seq': record.seq }, String(record.seq)), time(record.time), record.kind, record.outcome, record.resource ?? '—', record.tee ?? '—', record.replica]),
        'Audit records, newest first',
      ),
    );
  };
  search.addEventListener('input', render);
  render();
  return [section('Decisions and audit records', h('label', { for: 'decision-search' }, 'Search'), search, results)];
}

async function decision(seq: number): Promise<Child[]> {
  const record = (await auditRecords()).find((candidate) => candidate.seq === seq);
  if (record === undefined) return [section(`Record ${seq}`, h('p', {}, 'Not among the newest 2000 records (pruned, or not yet written).'))];
  const out: Child[] = [
    h('p', {}, h('a', { href: '#/decisions' }, '← all decisions')),
    section(
      `Record ${record.seq}: ${record.kind} — ${record.outcome}`,
      table(
        ['field', 'value'],
        [
          ['time', time(record.time)],
          ['replica', record.replica],
          ['decision id', record.decision],
          ['resource', record.resource ?? '—'],
          ['TEE', record.tee ?? '—'],
          ['evidence SHA-256', record.evidence ?? '—'],
          ['reason', record.reason ?? '—'],
          ['admin', record.admin === undefined ? '—' : [record.admin.role, record.admin.subject, record.admin.issuer].filter((part) => part !== undefined).join(' / ')],
          ['policies', (record.policies ?? []).map((policy) => `${policy.id}${policy.hash === undefined ? '' : ` (${policy.hash.slice(0, 16)}…)`}`).join(', ') || '—'],
          ['record hash', record.hash],
          ['previous hash', record.prev],
        ],
      ),
    ),
  ];
  const policies = await request<Policies>('GET', '/console/api/policies');
  if (record.decision.startsWith('d-')) {
    // A release/deny: the policy decision log keeps the claims; explain says why (policies API).
    try {
      const logged = await request<{ claims?: unknown; verdicts?: unknown; claimsDropped?: boolean }>('GET', `/kbs/v0/resource-policy/decisions/${encodeURIComponent(record.decision)}`);
      out.push(section('Verdicts', json(logged.verdicts ?? [])), section('Claims the decision was made on', logged.claims === undefined ? h('p', {}, 'Not kept (over the size bound).') : json(logged.claims)));
    } catch (error) {
      out.push(section('Claims', h('p', {}, `Not available: ${error instanceof Error ? error.message : String(error)}`)));
    }
    const path = (record.resource ?? '').split('/').slice(1);
    if (path.length === 3) {
      const explanation = h('div', { id: 'explanation' });
      out.push(
        section(
          'Explanation',
          button('Explain this decision', async () => {
            const report = await request<unknown>('POST', `/kbs/v0/resource-policy/explain/${path.map(encodeURIComponent).join('/')}`, { decision_id: record.decision });
            replace(explanation, json(report));
          }),
          explanation,
        ),
      );
    }
  } else if (record.kind === 'attestation') {
    try {
      const stored = await request<{ claims?: unknown }>('GET', `/console/api/attestation-claims/${encodeURIComponent(record.decision)}`);
      out.push(section('Token claims', json(stored.claims ?? '(not kept: over the size bound)')));
    } catch (error) {
      out.push(section('Token claims', h('p', {}, error instanceof Error ? error.message : String(error))));
    }
  }
  for (const used of record.policies ?? []) {
    const current = used.id === 'resource-policy' ? policies.resource : (policies.attestation.find((p) => p.id === used.id) ?? policies.scoped.find((p) => `scope:${p.scope}` === used.id));
    if (current === undefined || current === null) continue;
    const same = used.hash === undefined ? undefined : used.hash === current.hash;
    out.push(
      section(
        `Policy ${used.id}`,
        h('p', { class: same === false ? 'warn' : '' }, same === undefined ? 'The text below is the stored one (this record names no hash).' : same ? 'The stored text below is the one that decided (same SHA-256).' : `The policy changed since: the text that decided had SHA-256 ${used.hash ?? ''}; the stored text is shown.`),
        h('pre', { class: 'code' }, current.source),
      ),
    );
  }
  return out;
}

async function resources(): Promise<Child[]> {
  const data = await request<{ available: boolean; resources: Array<{ path: string; size: number; written?: string; by?: string }> }>('GET', '/console/api/resources');
  if (!data.available) return [section('Resources', h('p', {}, 'The resource plugin keeps no values in the KBS store (a mounted tree or Azure Key Vault); nothing to list.'))];
  const rows = data.resources.map((resource) => {
    const cell = h('div', { class: 'reveal' });
    const confirm = (): void => {
      replace(
        cell,
        h('span', {}, 'Reveal the value? This is written to the audit trail. '),
        button('Reveal (audited)', async () => {
          const value = await request<{ text?: string; base64: string; size: number }>('POST', '/console/api/resources/reveal', { path: resource.path });
          replace(cell, h('pre', { class: 'secret', 'data-revealed': resource.path }, value.text ?? `base64: ${value.base64}`), button('Hide', () => replace(cell, button('Reveal…', confirm, { 'data-reveal': resource.path }))));
          say(`Revealed ${resource.path} (recorded in the audit trail).`);
        }, { 'data-confirm-reveal': resource.path }),
        button('Cancel', () => replace(cell, button('Reveal…', confirm, { 'data-reveal': resource.path }))),
      );
    };
    append(cell, button('Reveal…', confirm, { 'data-reveal': resource.path }));
    return [resource.path, bytes(resource.size), time(resource.written), resource.by ?? '—', cell];
  });
  return [section('Resources', h('p', {}, 'Values stay hidden unless you reveal one; each reveal is audited.'), table(['path', 'size', 'last written', 'by', 'value'], rows, 'Resources'))];
}

async function policiesPage(): Promise<Child[]> {
  const policies = await request<Policies>('GET', '/console/api/policies');
  const stored = policies.resource?.source ?? '';
  const editor = h('textarea', { id: 'policy-editor', class: 'code', rows: 18, spellcheck: 'false', 'aria-label': 'Resource policy (Rego)' });
  editor.value = stored;
  const result = h('div', { id: 'policy-result', role: 'status', 'aria-live': 'polite' });
  const check = async (): Promise<boolean> => {
    const answer = await request<{ ok: boolean; error?: string }>('POST', '/console/api/policies/check', { source: editor.value });
    replace(result, h('p', { class: answer.ok ? 'ok' : 'error' }, answer.ok ? 'Syntax check passed.' : `Refused: ${answer.error ?? ''}`));
    return answer.ok;
  };
  const diff = (): void => {
    const lines = diffLines(stored, editor.value);
    const changed = lines.some((line) => line.op !== ' ');
    replace(result, changed ? h('pre', { class: 'diff', 'aria-label': 'Difference from the stored policy' }, ...lines.map((line) => h('span', { class: line.op === '+' ? 'add' : line.op === '-' ? 'del' : 'same' }, `${line.op} ${line.text}\n`))) : h('p', {}, 'No difference from the stored policy.'));
  };
  const save = async (): Promise<void> => {
    if (!(await check())) return;
    // Through the admin API itself, as kbs-client does.
    await request('POST', '/kbs/v0/resource-policy', { policy: b64url(editor.value) });
    say('Resource policy saved.');
    await route();
  };
  return [
    section(
      'Resource policy',
      h('p', {}, `Stored text SHA-256: ${policies.resource?.hash ?? '— (none stored)'}`),
      editor,
      h('div', { class: 'actions' }, button('Check syntax', check, { id: 'policy-check' }), button('Diff against stored', diff, { id: 'policy-diff' }), button('Save', save, { id: 'policy-save' })),
      result,
    ),
    section('Scoped resource policies', policies.scoped.length === 0 ? h('p', {}, 'None.') : h('div', {}, ...policies.scoped.map((p) => h('details', {}, h('summary', {}, `${p.scope} (${p.hash.slice(0, 16)}…)`), h('pre', { class: 'code' }, p.source))))),
    section('Attestation policies', ...policies.attestation.map((p) => h('details', {}, h('summary', {}, `${p.id} (${p.hash.slice(0, 16)}…)`), h('pre', { class: 'code' }, p.source)))),
  ];
}

async function referenceValues(): Promise<Child[]> {
  const data = await request<{ values: Array<{ id: string; value: unknown }> }>('GET', '/console/api/reference-values');
  return [section('Reference values (builtin RVPS)', data.values.length === 0 ? h('p', {}, 'None stored in this KBS (a remote RVPS keeps its own).') : table(['id', 'value'], data.values.map((v) => [v.id, h('pre', { class: 'code' }, JSON.stringify(v.value))])))];
}

async function collateral(): Promise<Child[]> {
  const data = await request<{ entries: Array<{ cache: string; key: string; size: number; fetched?: string; nextRefresh?: string; note?: string }> }>('GET', '/console/api/collateral');
  return [
    section(
      'Collateral caches (AMD VCEK/chains, Intel TCB/QE identity/CRLs)',
      data.entries.length === 0 ? h('p', {}, 'Nothing cached yet.') : table(['cache', 'key', 'size', 'fetched', 'next refresh', 'note'], data.entries.map((e) => [e.cache, e.key, bytes(e.size), time(e.fetched), time(e.nextRefresh), e.note ?? ''])),
    ),
  ];
}

async function health(): Promise<Child[]> {
  const data = await request<{
    readiness: { ready: boolean; dependencies: Array<{ name: string; ok?: boolean; ready?: boolean; error?: string }> };
    storage: { ok: boolean; ms: number; error?: string };
    replica?: string;
    audit?: { appended: number; dropped: number; pending: number };
    replicas: Array<{ replica: string; last: string; records: number }>;
  }>('GET', '/console/api/health');
  const verification = h('div', { id: 'verify-result' });
  return [
    section('This replica', table(['field', 'value'], [['replica id', data.replica ?? '—'], ['ready', data.readiness.ready ? 'yes' : 'no'], ['storage round trip', data.storage.ok ? `${data.storage.ms} ms` : `failing: ${data.storage.error ?? ''}`], ['audit records appended / dropped / waiting', data.audit === undefined ? 'audit off' : `${data.audit.appended} / ${data.audit.dropped} / ${data.audit.pending}`]])),
    section('Dependencies (/readyz)', json(data.readiness.dependencies)),
    section('Replicas seen in the audit trail (newest 2000 records)', table(['replica', 'last record', 'records'], data.replicas.map((r) => [r.replica, time(r.last), r.records]))),
    section(
      'Audit trail',
      button('Verify the whole chain', async () => {
        const report = await request<{ ok: boolean; records: number; problem?: { seq: number; problem: string } }>('GET', '/console/api/audit/verify');
        replace(verification, h('p', { class: report.ok ? 'ok' : 'error' }, report.ok ? `Intact: ${report.records} records.` : `Broken at record ${report.problem?.seq ?? '?'}: ${report.problem?.problem ?? ''}`));
      }, { id: 'verify-audit' }),
      verification,
    ),
  ];
}

// ---------- routing ----------

async function route(): Promise<void> {
  if (token() === undefined) {
    renderLogin();
    return;
  }
  if (document.querySelector('header') === null) renderShell();
  const [page = 'overview', arg] = location.hash.replace(/^#\/?/, '').split('/');
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (link.dataset['page'] === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const title = PAGES.find((candidate) => candidate.id === page)?.title ?? 'Overview';
  document.title = `${title} — Trustee KBS console`;
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    const content =
      page === 'decisions' && arg !== undefined && /^\d+$/.test(arg)
        ? await decision(Number(arg))
        : page === 'decisions'
          ? await decisions()
          : page === 'resources'
            ? await resources()
            : page === 'policies'
              ? await policiesPage()
              : page === 'reference-values'
                ? await referenceValues()
                : page === 'collateral'
                  ? await collateral()
                  : page === 'health'
                    ? await health()
                    : await overview();
    replace(main, h('h2', { class: 'page-title' }, title), ...content);
    main.focus({ preventScroll: true });
  } catch (error) {
    replace(main, h('h2', { class: 'page-title' }, title));
    showError(error);
  }
}

window.addEventListener('hashchange', () => {
  say('');
  void route();
});
void route();
