/**
 * Invariant (issue 15, operator console): in Debian's Chromium (playwright-core, headless)
 * against a real KBS process: the admin signs in with the admin token; a release made by the
 * kbs-client shows up among the decisions and opens with its claims, policy and explanation; a
 * policy edit with a syntax error is refused and leaves the stored policy unchanged, the fixed one
 * is saved and the next guest is denied, then allowed again; no secret value reaches any page or
 * any response until the admin reveals it, and the reveal is audited; hostile policy text and
 * claims are shown as text (no element, no script); the console sends a strict CSP and refuses
 * cross-site API calls. Screenshots of every page (1280×800 light and dark, phone width) go to
 * tests/e2e/screenshots/ (git-ignored).
 *
 * Chromium: /usr/bin/chromium from Debian's package, installed here when missing (apt-get, as
 * root; CI runs as root on a clean machine). The console assets are built first (`pnpm
 * build:console`), as a clean clone has none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCli, runCli } from './harness/cli.ts';
import { certChainKbsConfig } from './harness/certChainKbs.ts';
import { sqliteStorage } from './harness/configs.ts';
import { startKbs, type KbsProcess } from './harness/kbsProcess.ts';
import { capabilities, REPO_ROOT } from './harness/paths.ts';
import { makeTempDir, removeTempDir } from './harness/tempDir.ts';
import { httpRequest } from './independent/http.ts';
import { IndependentGuest } from './independent/guest.ts';
import { IndependentOperator, POLICIES } from './independent/operator.ts';
import { generateTeeKey } from './independent/teeKey.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'tests/e2e/screenshots');
const SECRET = 'console-e2e-secret-4b1d9e';
const RESOURCE = 'default/console/key';
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

/** Debian's Chromium, installed when missing (a clean CI machine has none). */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const apt = (args: string[]): void => {
    execFileSync('apt-get', args, { stdio: 'inherit', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    apt(['install', '-y', '--no-install-recommends', 'chromium']);
  } catch {
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', 'chromium']);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get install chromium did not provide ${CHROMIUM}`);
}

function buildConsole(): void {
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/vite'), ['build', '--config', join(REPO_ROOT, 'services/kbs/console/vite.config.ts')], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 300_000 });
}

describe.skipIf(!capabilities.kbs || !capabilities.cli)('operator console in Chromium against a real KBS', () => {
  let dir: string;
  let profile: string;
  let kbs: KbsProcess;
  let context: BrowserContext;
  let page: Page;
  let operator: IndependentOperator;
  let adminToken: string;
  /** Every response body the browser received, for the no-secret check. */
  const bodies: string[] = [];
  let revealed = false;

  const screenshot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  const cli = (args: readonly string[]) => runCli(['--url', kbs.url, ...args], { cwd: dir, timeoutMs: 90_000 });

  /** One kbs-client guest flow: returns the CLI result of get-resource. */
  const guestFlow = () => cli(['get-resource', '--path', RESOURCE]);

  const goto = async (hash: string, ready: string): Promise<void> => {
    await page.evaluate((target) => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = target;
    }, hash);
    await page.locator(ready).first().waitFor({ timeout: 30_000 });
  };

  beforeAll(async () => {
    ensureChromium();
    buildConsole();
    mkdirSync(SCREENSHOTS, { recursive: true });
    dir = makeTempDir();
    const config = await certChainKbsConfig(dir, sqliteStorage(dir));
    kbs = await startKbs(`${config.toml}\n[audit]\nreplica_id = "console-e2e"\n`, { dir, startTimeoutMs: 90_000 });
    adminToken = config.adminToken;
    operator = new IndependentOperator(kbs.url, adminToken);
    expect((await operator.setResource(RESOURCE, Buffer.from(SECRET))).status).toBe(200);

    profile = mkdtempSync(join(tmpdir(), 'console-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('response', (response) => {
      if (!response.url().startsWith(kbs.url)) return;
      response
        .text()
        .then((text) => {
          if (!revealed) bodies.push(text);
        })
        .catch(() => undefined);
    });
    page.on('dialog', (dialog) => {
      void dialog.dismiss();
      throw new Error(`unexpected dialog: ${dialog.message()}`);
    });
  }, 900_000);

  afterAll(async () => {
    await context?.close();
    if (kbs !== undefined) expect(await kbs.stop()).toBe(0);
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    if (dir !== undefined) removeTempDir(dir);
  }, 60_000);

  it('serves /console/ with a strict CSP and refuses cross-site API calls', async () => {
    const index = await httpRequest(kbs.url, { method: 'GET', path: '/console/' });
    expect(index.status).toBe(200);
    const csp = String(index.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(index.headers['set-cookie']).toBeUndefined();
    expect(index.body.toString()).not.toMatch(/<script>(?!<)/);
    const authorization = `Bearer ${adminToken}`;
    const crossSite = await httpRequest(kbs.url, { method: 'GET', path: '/console/api/session', headers: { authorization, 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await httpRequest(kbs.url, { method: 'POST', path: '/console/api/resources/reveal', headers: { authorization, origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ path: RESOURCE }) });
    expect(otherOrigin.status).toBe(403);
    expect(otherOrigin.body.toString()).not.toContain(SECRET);
    const noToken = await httpRequest(kbs.url, { method: 'GET', path: '/console/api/session' });
    expect(noToken.status).toBe(401);
  });

  it('signs in with the admin token and shows the overview', async () => {
    await page.goto(`${kbs.url}/console/`);
    await page.locator('#token').fill(adminToken);
    await page.keyboard.press('Tab');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h2.page-title', { hasText: 'Overview' }).waitFor({ timeout: 30_000 });
    await screenshot('overview-empty');
  }, 60_000);

  it('a kbs-client release appears among the decisions and opens with claims, policy and explanation', async () => {
    expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
    const flow = await guestFlow();
    expect(flow.code, describeCli(flow)).toBe(0);
    expect(Buffer.from(flow.stdout.trim(), 'base64').toString()).toBe(SECRET);

    await goto('#/decisions', '#decision-search');
    await page.locator('#decision-search').fill('release console');
    const row = page.locator('#decision-results tbody tr', { hasText: 'release' }).first();
    await row.waitFor();
    expect(await row.textContent()).toContain(`resource/${RESOURCE}`);
    await screenshot('decisions');
    await row.locator('a').first().focus();
    await page.keyboard.press('Enter');
    await page.locator('h2', { hasText: 'Claims the decision was made on' }).waitFor({ timeout: 30_000 });
    await expect.poll(async () => page.locator('main').textContent()).toContain('The stored text below is the one that decided');
    await page.getByRole('button', { name: 'Explain this decision' }).click();
    await page.locator('#explanation pre').waitFor({ timeout: 30_000 });
    await screenshot('decision');
  }, 180_000);

  it('a policy with a syntax error is refused and leaves the stored one; the fixed one denies the next guest, then allows again', async () => {
    const before = await operator.getResourcePolicy();
    await goto('#/policies', '#policy-editor');
    await page.locator('#policy-editor').fill('package policy\n\ndefault allow := \n');
    await page.locator('#policy-save').click();
    await expect.poll(async () => page.locator('#policy-result').textContent()).toMatch(/^Refused: /);
    const stored = (await page.request.get(`${kbs.url}/console/api/policies`, { headers: { authorization: `Bearer ${adminToken}` } }).then((response) => response.json())) as { resource: { source: string } };
    expect(stored.resource.source).toBe(POLICIES.allowAll);
    expect((await operator.getResourcePolicy()).body.toString()).toBe(before.body.toString());
    await page.locator('#policy-diff').click();
    await page.locator('#policy-result .diff').waitFor();
    await screenshot('policy-refused-diff');

    await page.locator('#policy-editor').fill(POLICIES.denyAll);
    await page.locator('#policy-save').click();
    await expect.poll(async () => page.locator('.status').textContent()).toContain('Resource policy saved.');
    const denied = await guestFlow();
    expect(denied.code, describeCli(denied)).not.toBe(0);
    expect(denied.stdout + denied.stderr).toContain('PolicyDeny');
    expect(denied.stdout + denied.stderr).not.toContain(SECRET);

    await goto('#/policies', '#policy-editor');
    await page.locator('#policy-editor').fill(POLICIES.allowAll);
    await page.locator('#policy-save').click();
    await expect.poll(async () => page.locator('.status').textContent()).toContain('Resource policy saved.');
    const allowed = await guestFlow();
    expect(allowed.code, describeCli(allowed)).toBe(0);
    await goto('#/decisions', '#decision-search');
    await page.locator('#decision-search').fill('deny');
    await expect.poll(async () => page.locator('#decision-results tbody').textContent()).toContain('deny');
  }, 240_000);

  it('hostile policy text and claims are shown as text, never as markup', async () => {
    const hostilePolicy = `package policy\nimport rego.v1\n\n# ${HOSTILE}\ndefault allow := false\n\nallow if {\n  data.plugin == "resource"\n  not input.x == ${JSON.stringify(HOSTILE)}\n}\n`;
    expect((await operator.setResourcePolicy(hostilePolicy)).status).toBe(200);
    // A guest whose sample evidence carries markup in a claim.
    const guest = new IndependentGuest(kbs.url, generateTeeKey('P-256'));
    expect((await guest.auth()).status).toBe(200);
    const body = guest.buildAttestation();
    const evidence = body['tee-evidence'].primary_evidence as unknown as Record<string, unknown>;
    evidence['svn'] = HOSTILE; // copied into the token's claims as it is
    const attest = await guest.attest(body);
    expect(attest.status, attest.body.toString()).toBe(200);
    expect((await guest.getResource(RESOURCE)).status).toBe(200);

    await goto('#/policies', '#policy-editor');
    expect(await page.locator('#policy-editor').inputValue()).toContain(HOSTILE);
    await goto('#/decisions', '#decision-search');
    await page.locator('#decision-search').fill('attestation success');
    await page.locator('#decision-results tbody tr a').first().click();
    await page.locator('h2', { hasText: 'Token claims' }).waitFor({ timeout: 30_000 });
    const claimsText = await page.locator('main').textContent();
    expect(claimsText).toContain('<img src=x onerror=');
    await goto('#/decisions', '#decision-search');
    await page.locator('#decision-search').fill('release');
    await page.locator('#decision-results tbody tr a').first().click();
    await page.locator('h2', { hasText: 'Policy resource-policy' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('main').textContent()).toContain(HOSTILE);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    await screenshot('hostile-text');
    expect((await operator.setResourcePolicy(POLICIES.allowAll)).status).toBe(200);
  }, 180_000);

  it('screenshots every page at 1280×800 (light, dark) and phone width; no secret reached the browser', async () => {
    const pages = ['overview', 'decisions', 'resources', 'policies', 'reference-values', 'collateral', 'health'];
    for (const theme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: theme });
      for (const name of pages) {
        await goto(`#/${name}`, 'h2.page-title');
        await page.locator('p.loading').waitFor({ state: 'detached' });
        await screenshot(`${name}-1280-${theme}`);
      }
    }
    await page.setViewportSize({ width: 390, height: 844 });
    for (const name of pages) {
      await goto(`#/${name}`, 'h2.page-title');
      await page.locator('p.loading').waitFor({ state: 'detached' });
      const overflow = await page.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
      expect(overflow, `${name} scrolls sideways at phone width`).toBeLessThanOrEqual(1);
      await screenshot(`${name}-phone`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(bodies.length).toBeGreaterThan(20);
    for (const text of bodies) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(Buffer.from(SECRET).toString('base64'));
    }
    expect(await page.content()).not.toContain(SECRET);
  }, 240_000);

  it('the admin reveals a value explicitly, and the reveal is audited', async () => {
    await goto('#/resources', 'h2.page-title');
    await page.locator(`[data-reveal="${RESOURCE}"]`).click();
    revealed = true;
    await page.locator(`[data-confirm-reveal="${RESOURCE}"]`).click();
    await expect.poll(async () => page.locator(`[data-revealed="${RESOURCE}"]`).textContent()).toBe(SECRET);
    await screenshot('resources-revealed');
    await goto('#/decisions', '#decision-search');
    await page.locator('#decision-search').fill('reveal');
    await expect.poll(async () => page.locator('#decision-results tbody').textContent()).toContain(RESOURCE);
    // The trail (SQLite: kbs.audit.sqlite beside kbs.sqlite) is intact, reveal included.
    const verify = execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'services/kbs/src/main.ts'), 'audit', 'verify', '--config-file', kbs.configPath], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(verify).toMatch(/^audit trail intact: \d+ records/);
    const exported = execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'services/kbs/src/main.ts'), 'audit', 'export', '--since', '0', '--config-file', kbs.configPath], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(exported).toContain('"kind":"reveal"');
    expect(exported).not.toContain(SECRET);
  }, 120_000);
});
